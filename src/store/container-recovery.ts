import { open, stat } from 'node:fs/promises';
import {
  CONTAINER_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  TRAILER_BYTES,
  decodeContainerHeader,
  decodeTrailer,
  encodeFooter,
  readRecordHeader,
  xxh64,
  type RecordEntry,
} from './container-format.js';

export interface RecoveredContainer {
  /** The process stopped before the header reached the file: nothing in it was ever committed, and it goes. */
  discard: boolean;
  /** Final size of the sealed file. */
  bytes: number;
  records: number;
  /** Bytes cut from a torn tail. */
  truncatedBytes: number;
  /** Offsets of committed records that failed their checks (for the log; verify reports them). */
  damagedAt: number[];
}

/**
 * Brings a container that was open when the process stopped to a sealed state:
 * scans its records, cuts a torn tail back to the last whole record, and writes
 * the footer. It never cuts below `committedEnd` (the end of the last record the
 * index points into): a bad record there is damage for verify to report, not a tail.
 * `committedRecords` lists the index's records, used to carry on past such damage.
 */
export async function recoverContainer(
  path: string,
  committedEnd: number,
  committedRecords: () => RecordEntry[],
): Promise<RecoveredContainer> {
  const size = (await stat(path)).size;
  const handle = await open(path, 'r+');
  try {
    const sealed = await readSealedTrailer(handle, size);
    if (sealed) return { discard: false, bytes: size, records: sealed.count, truncatedBytes: 0, damagedAt: [] };

    const entries: RecordEntry[] = [];
    let offset = CONTAINER_HEADER_BYTES;
    const headerBuf = Buffer.alloc(CONTAINER_HEADER_BYTES);
    await handle.read(headerBuf, 0, CONTAINER_HEADER_BYTES, 0);
    let damageAt: number | null = null;
    try {
      decodeContainerHeader(headerBuf);
    } catch {
      if (committedEnd === 0) return { discard: true, bytes: 0, records: 0, truncatedBytes: size, damagedAt: [] };
      damageAt = 0;
    }
    while (damageAt === null && offset + RECORD_HEADER_BYTES <= size) {
      const rh = Buffer.alloc(RECORD_HEADER_BYTES);
      await handle.read(rh, 0, RECORD_HEADER_BYTES, offset);
      let next: number;
      try {
        const h = readRecordHeader(rh, 0);
        next = offset + RECORD_HEADER_BYTES + h.storedLength;
        if (next > size) break;
        const payload = Buffer.alloc(h.storedLength);
        await handle.read(payload, 0, h.storedLength, offset + RECORD_HEADER_BYTES);
        if (xxh64(payload) !== h.payloadChecksum) throw new Error('payload checksum');
        entries.push({
          fingerprint: h.fingerprint,
          offset,
          rawLength: h.rawLength,
          storedLength: h.storedLength,
          kind: h.kind,
          codec: h.codec,
        });
      } catch {
        if (offset < committedEnd) damageAt = offset;
        break;
      }
      offset = next;
    }

    // A file that ends before its last committed record lost committed bytes: damage, not a torn tail.
    if (damageAt === null && offset < committedEnd) damageAt = offset;
    let end = offset;
    const damagedAt: number[] = [];
    if (damageAt !== null) {
      // Records past the damage are known only to the index; keep those and cut the rest.
      const known = committedRecords().filter((e) => e.offset >= Math.max(damageAt!, CONTAINER_HEADER_BYTES));
      damagedAt.push(damageAt);
      entries.push(...known.filter((e) => !entries.some((x) => x.offset === e.offset)));
      end = Math.max(damageAt, committedEnd);
    }
    const footer = encodeFooter(entries, end);
    await handle.truncate(end);
    await handle.write(footer, 0, footer.length, end);
    await handle.sync();
    return { discard: false, bytes: end + footer.length, records: entries.length, truncatedBytes: size - end, damagedAt };
  } finally {
    await handle.close();
  }
}

async function readSealedTrailer(
  handle: Awaited<ReturnType<typeof open>>,
  size: number,
): Promise<{ count: number } | null> {
  if (size < CONTAINER_HEADER_BYTES + TRAILER_BYTES) return null;
  const trailer = Buffer.alloc(TRAILER_BYTES);
  await handle.read(trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES);
  try {
    const t = decodeTrailer(trailer, size);
    // A record payload could end in bytes that look like a trailer; the footer checksum settles it.
    const footer = Buffer.alloc(size - t.footerOffset);
    await handle.read(footer, 0, footer.length, t.footerOffset);
    if (footer.readBigUInt64LE(footer.length - 8) !== xxh64(footer.subarray(0, footer.length - 8))) return null;
    return { count: t.count };
  } catch {
    return null;
  }
}
