#ifndef CAIRN_CRC_H
#define CAIRN_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The reflected CRCs S3 checksums use, all with init and xorout of all ones:
 * CRC-32 (IEEE), CRC-32C (Castagnoli) and CRC-64/NVME. `prev` is the CRC of
 * the bytes before (0 to start), so a stream can be fed piece by piece. */
typedef enum { CAIRN_CRC32 = 0, CAIRN_CRC32C = 1, CAIRN_CRC64NVME = 2 } cairn_crc_kind;

void cairn_crc_init(void);
uint64_t cairn_crc(cairn_crc_kind kind, uint64_t prev, const uint8_t *data, size_t length);
/* The CRC of A||B from the CRCs of A and B and the length of B. */
uint64_t cairn_crc_combine(cairn_crc_kind kind, uint64_t crc_a, uint64_t crc_b, uint64_t length_b);

#endif
