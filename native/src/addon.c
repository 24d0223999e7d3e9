/* N-API surface of the native inner loops. Argument shapes are validated on
 * the TypeScript side (src/chunking/native.ts); here we only refuse what
 * would make the C code read or write out of bounds. */
#define _GNU_SOURCE /* O_CLOEXEC and flock under -std=c11 */
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "crc.h"
#include "gear_cdc.h"
#include "md5.h"
#include "md5_fingerprints.h"
#include "sha256.h"
#include "xxh64.h"

#define CHECK(env, call)                                  \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      napi_throw_error((env), NULL, "cairn_native: " #call); \
      return NULL;                                        \
    }                                                     \
  } while (0)

static bool typed_array(napi_env env, napi_value value, napi_typedarray_type want,
                        void **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok)
    return false;
  return type == want;
}

/* Whether two byte ranges share a byte: an output laid over an input the loop
 * reads while it writes (chunk ends) would turn its offsets to garbage. */
static bool overlap(const void *a, size_t a_len, const void *b, size_t b_len) {
  const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return a_len > 0 && b_len > 0 && x < y + b_len && y < x + a_len;
}

struct range {
  const void *p;
  size_t len;
};

/* Whether no written range shares a byte with another, or with a range read while they are written. */
static bool apart(const struct range *written, size_t w, const struct range *read, size_t r) {
  for (size_t i = 0; i < w; i++) {
    for (size_t j = 0; j < r; j++)
      if (overlap(written[i].p, written[i].len, read[j].p, read[j].len)) return false;
    for (size_t j = 0; j < i; j++)
      if (overlap(written[i].p, written[i].len, written[j].p, written[j].len)) return false;
  }
  return true;
}

/* findCuts(data: Uint8Array, final: boolean, gear: Uint32Array(256),
 *          params: Uint32Array [min, normal, max, maskSmall, maskLarge],
 *          cuts: Uint32Array, vector = true) -> number of cuts written.
 * vector false keeps to the one-byte-at-a-time search (for tests). */
static napi_value find_cuts(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5 && argc != 6) {
    napi_throw_type_error(env, NULL, "findCuts takes 5 or 6 arguments");
    return NULL;
  }
  bool vector = true;
  if (argc == 6 && napi_get_value_bool(env, argv[5], &vector) != napi_ok) {
    napi_throw_type_error(env, NULL, "findCuts: vector must be a boolean");
    return NULL;
  }
  void *data, *gear, *params, *cuts;
  size_t data_len, gear_len, params_len, cuts_len;
  bool final = false;
  if (!typed_array(env, argv[0], napi_uint8_array, &data, &data_len) ||
      napi_get_value_bool(env, argv[1], &final) != napi_ok ||
      !typed_array(env, argv[2], napi_uint32_array, &gear, &gear_len) || gear_len != 256 ||
      !typed_array(env, argv[3], napi_uint32_array, &params, &params_len) || params_len != 5 ||
      !typed_array(env, argv[4], napi_uint32_array, &cuts, &cuts_len)) {
    napi_throw_type_error(env, NULL, "findCuts: bad argument types");
    return NULL;
  }
  const uint32_t *p = (const uint32_t *)params;
  if (p[0] == 0 || p[0] > p[1] || p[1] > p[2]) {
    napi_throw_range_error(env, NULL, "findCuts: need 0 < min <= normal <= max");
    return NULL;
  }
  gear_params g = {
      .gear = (const uint32_t *)gear,
      .min_size = p[0],
      .normal_size = p[1],
      .max_size = p[2],
      .mask_small = p[3],
      .mask_large = p[4],
  };
  size_t n = (vector ? gear_find_cuts : gear_find_cuts_scalar)((const uint8_t *)data, data_len, final ? 1 : 0, &g,
                                                              (uint32_t *)cuts, cuts_len);
  napi_value result;
  CHECK(env, napi_create_uint32(env, (uint32_t)n, &result));
  return result;
}

/* findCutsVectorized() -> whether findCuts searches sixteen positions at a time here */
static napi_value find_cuts_vectorized(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(env, napi_get_boolean(env, gear_avx512_supported() != 0, &result));
  return result;
}

/* xxh64(data: Uint8Array, seed?: bigint) -> bigint */
static napi_value xxh64(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  size_t len;
  if (argc < 1 || !typed_array(env, argv[0], napi_uint8_array, &data, &len)) {
    napi_throw_type_error(env, NULL, "xxh64: expects a Uint8Array");
    return NULL;
  }
  uint64_t seed = 0;
  if (argc >= 2) {
    bool lossless;
    if (napi_get_value_bigint_uint64(env, argv[1], &seed, &lossless) != napi_ok) {
      napi_throw_type_error(env, NULL, "xxh64: seed must be a bigint");
      return NULL;
    }
  }
  napi_value result;
  CHECK(env, napi_create_bigint_uint64(env, cairn_xxh64((const uint8_t *)data, len, seed), &result));
  return result;
}

/* copy(dst: Uint8Array, offset: number, src: Uint8Array) -> undefined
 * A plain memcpy. V8 copies into SharedArrayBuffer-backed arrays with relaxed
 * atomics, byte by byte or word by word; the store fills its shared batch
 * buffers before any other thread reads them, so a plain copy is safe. */
static napi_value copy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *dst, *src;
  size_t dst_len, src_len;
  int64_t offset = -1;
  if (argc != 3 || !typed_array(env, argv[0], napi_uint8_array, &dst, &dst_len) ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      !typed_array(env, argv[2], napi_uint8_array, &src, &src_len)) {
    napi_throw_type_error(env, NULL, "copy: expects (Uint8Array, offset, Uint8Array)");
    return NULL;
  }
  if (offset < 0 || (uint64_t)offset > dst_len || src_len > dst_len - (size_t)offset) {
    napi_throw_range_error(env, NULL, "copy: source does not fit at offset");
    return NULL;
  }
  memcpy((uint8_t *)dst + offset, src, src_len);
  return NULL;
}

/* lockFile(path: string) -> fd, or -1 if another open file holds the lock.
 * An exclusive flock on the unit's LOCK file: the kernel drops it when the
 * holder exits however it exits, so a crashed server never leaves a stale lock,
 * and two processes can never both take over one. */
static napi_value lock_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len = 0;
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok || len == 0 ||
      len >= sizeof(path) - 1) {
    napi_throw_type_error(env, NULL, "lockFile: expects a path");
    return NULL;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) fd = -1;
    else {
      napi_throw_error(env, NULL, strerror(e));
      return NULL;
    }
  }
  napi_value result;
  CHECK(env, napi_create_int32(env, fd, &result));
  return result;
}

/* crc(kind: 0 crc32 | 1 crc32c | 2 crc64nvme, data: Uint8Array, prev: bigint) -> bigint */
static napi_value crc(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t kind = 0;
  void *data;
  size_t len;
  uint64_t prev = 0;
  bool lossless;
  if (argc != 3 || napi_get_value_uint32(env, argv[0], &kind) != napi_ok || kind > 2 ||
      !typed_array(env, argv[1], napi_uint8_array, &data, &len) ||
      napi_get_value_bigint_uint64(env, argv[2], &prev, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc: expects (kind 0..2, Uint8Array, bigint)");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_create_bigint_uint64(env, cairn_crc((cairn_crc_kind)kind, prev, (const uint8_t *)data, len), &result));
  return result;
}

/* crcCombine(kind, crcA: bigint, crcB: bigint, lengthB: bigint) -> bigint */
static napi_value crc_combine(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t kind = 0;
  uint64_t a = 0, b = 0, len = 0;
  bool lossless;
  if (argc != 4 || napi_get_value_uint32(env, argv[0], &kind) != napi_ok || kind > 2 ||
      napi_get_value_bigint_uint64(env, argv[1], &a, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[2], &b, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[3], &len, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "crcCombine: expects (kind 0..2, bigint, bigint, bigint)");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_create_bigint_uint64(env, cairn_crc_combine((cairn_crc_kind)kind, a, b, len), &result));
  return result;
}

#define MD5_MAX_LANES 64

/* md5Lanes(states: Uint32Array(4n), data: Uint8Array[n] (whole 64-byte
 *          blocks each), sideBySide: boolean) -> undefined; states advanced in place */
static napi_value md5_lanes_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *states;
  size_t states_len;
  bool is_array = false, side_by_side = false;
  uint32_t n = 0;
  if (argc != 3 || !typed_array(env, argv[0], napi_uint32_array, &states, &states_len) ||
      napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[1], &n) != napi_ok ||
      napi_get_value_bool(env, argv[2], &side_by_side) != napi_ok) {
    napi_throw_type_error(env, NULL, "md5Lanes: expects (Uint32Array, Uint8Array[], boolean)");
    return NULL;
  }
  if (n > MD5_MAX_LANES || states_len != 4 * (size_t)n) {
    napi_throw_range_error(env, NULL, "md5Lanes: at most 64 lanes, and 4 state words for each");
    return NULL;
  }
  const uint8_t *ptrs[MD5_MAX_LANES];
  size_t blocks[MD5_MAX_LANES];
  for (uint32_t l = 0; l < n; l++) {
    napi_value item;
    void *data;
    size_t len;
    if (napi_get_element(env, argv[1], l, &item) != napi_ok ||
        !typed_array(env, item, napi_uint8_array, &data, &len) || len % 64 != 0) {
      napi_throw_type_error(env, NULL, "md5Lanes: each lane is a Uint8Array of whole 64-byte blocks");
      return NULL;
    }
    ptrs[l] = (const uint8_t *)data;
    blocks[l] = len / 64;
  }
  md5_lanes((uint32_t *)states, ptrs, blocks, n, side_by_side ? 1 : 0);
  return NULL;
}

static napi_value md5_vectorized_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(env, napi_get_boolean(env, md5_lanes_vectorized() != 0, &result));
  return result;
}

/* md5Fingerprints(md5: Uint32Array(4), md5Blocks: Uint8Array (whole blocks), data: Uint8Array,
 *                 ends: Uint32Array, cursor: Uint32Array(10), limit: number, out: Uint8Array(32 * ends.length),
 *                 [a second set: [data, ends, cursor, limit, out]],
 *                 [the same for a second stream])
 *   -> false (nothing touched) when the CPU lacks SHA-NI; see md5_fingerprints.h */
#define RIDER_ARGS 7
#define SET_ARGS 5

/* A chunk set from v[0..5): data, ends, cursor, limit, out; false when malformed. */
static bool chunk_set_from(napi_env env, napi_value *v, struct chunk_set *set) {
  void *data, *ends, *cursor, *out;
  size_t data_len, n, cursor_len, out_len;
  int64_t limit = -1;
  if (!typed_array(env, v[0], napi_uint8_array, &data, &data_len) || !typed_array(env, v[1], napi_uint32_array, &ends, &n) ||
      !typed_array(env, v[2], napi_uint32_array, &cursor, &cursor_len) || napi_get_value_int64(env, v[3], &limit) != napi_ok ||
      !typed_array(env, v[4], napi_uint8_array, &out, &out_len)) {
    napi_throw_type_error(env, NULL,
                          "md5Fingerprints: expects (Uint32Array, Uint8Array, Uint8Array, Uint32Array, Uint32Array, number, Uint8Array"
                          "[, [Uint8Array, Uint32Array, Uint32Array, number, Uint8Array]])");
    return false;
  }
  const uint32_t *e = (const uint32_t *)ends;
  const uint32_t *c = (const uint32_t *)cursor;
  bool ok = cursor_len == 10 && out_len >= 32 * n && limit >= 0 && (uint64_t)limit <= data_len && c[0] <= n && c[1] % 64 == 0;
  for (size_t i = 0; ok && i < n; i++) ok = e[i] <= data_len && (i == 0 || e[i] >= e[i - 1]);
  if (ok && c[0] < n) ok = (c[0] == 0 ? 0 : e[c[0] - 1]) + (uint64_t)c[1] <= e[c[0]];
  *set = (struct chunk_set){(const uint8_t *)data, e, n, (uint32_t *)cursor, (size_t)limit, (uint8_t *)out, 0};
  if (!ok) {
    napi_throw_range_error(env, NULL,
                           "md5Fingerprints: 4 MD5 words, whole blocks, ends rising within data, a cursor of 10 words "
                           "within them, a limit within data, and 32 bytes of out for each chunk");
    return false;
  }
  return true;
}

static napi_value md5_fingerprints_js(napi_env env, napi_callback_info info) {
  size_t argc = 2 * (RIDER_ARGS + 1);
  napi_value argv[2 * (RIDER_ARGS + 1)];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct md5_rider riders[2];
  size_t count = 0, pos = 0;
  while (pos < argc && count < 2) {
    if (argc - pos < RIDER_ARGS) break;
    napi_value *v = argv + pos;
    void *md5, *blocks;
    size_t md5_len = 0, blocks_len = 0;
    if (!typed_array(env, v[0], napi_uint32_array, &md5, &md5_len) || !typed_array(env, v[1], napi_uint8_array, &blocks, &blocks_len)) {
      napi_throw_type_error(env, NULL,
                            "md5Fingerprints: expects (Uint32Array, Uint8Array, Uint8Array, Uint32Array, Uint32Array, number, Uint8Array)");
      return NULL;
    }
    if (md5_len != 4 || blocks_len % 64 != 0) {
      napi_throw_range_error(env, NULL,
                             "md5Fingerprints: 4 MD5 words, whole blocks, ends rising within data, a cursor of 10 words "
                             "within them, a limit within data, and 32 bytes of out for each chunk");
      return NULL;
    }
    struct md5_rider *r = &riders[count];
    *r = (struct md5_rider){(uint32_t *)md5, (const uint8_t *)blocks, blocks_len / 64, {{0}}, 1};
    if (!chunk_set_from(env, v + 2, &r->sets[0])) return NULL;
    pos += RIDER_ARGS;
    bool is_array = false;
    if (pos < argc && napi_is_array(env, argv[pos], &is_array) == napi_ok && is_array) {
      napi_value items[SET_ARGS];
      uint32_t len = 0;
      bool open = false;
      if (napi_get_array_length(env, argv[pos], &len) != napi_ok || (len != SET_ARGS && len != SET_ARGS + 1)) {
        napi_throw_type_error(env, NULL, "md5Fingerprints: a second set is [data, ends, cursor, limit, out, open?]");
        return NULL;
      }
      for (uint32_t i = 0; i < SET_ARGS; i++) CHECK(env, napi_get_element(env, argv[pos], i, &items[i]));
      if (!chunk_set_from(env, items, &r->sets[1])) return NULL;
      if (len > SET_ARGS) {
        napi_value flag;
        CHECK(env, napi_get_element(env, argv[pos], SET_ARGS, &flag));
        if (napi_get_value_bool(env, flag, &open) != napi_ok) {
          napi_throw_type_error(env, NULL, "md5Fingerprints: a second set's open flag is a boolean");
          return NULL;
        }
      }
      /* An open set is one chunk of whole blocks, and its cursor's state is where it goes on from. */
      if (open && (r->sets[1].n != 1 || r->sets[1].ends[0] % 64 != 0)) {
        napi_throw_range_error(env, NULL, "md5Fingerprints: an open set is one chunk of whole blocks");
        return NULL;
      }
      r->sets[1].open = open;
      r->nsets = 2;
      pos++;
    }
    count++;
  }
  if (count == 0 || pos != argc) {
    napi_throw_type_error(env, NULL, "md5Fingerprints: expects seven arguments (and a second set) for each of one or two streams");
    return NULL;
  }
  /* What the loops write (states, cursors, digests) lies over nothing else they write, nor over the chunk ends they read. */
  struct range written[10], read[4];
  size_t nw = 0, nr = 0;
  for (size_t r = 0; r < count; r++) {
    written[nw++] = (struct range){riders[r].md5, 16};
    for (size_t i = 0; i < riders[r].nsets; i++) {
      const struct chunk_set *set = &riders[r].sets[i];
      written[nw++] = (struct range){set->cursor, 40};
      written[nw++] = (struct range){set->out, 32 * set->n};
      read[nr++] = (struct range){set->ends, 4 * set->n};
    }
  }
  if (!apart(written, nw, read, nr)) {
    napi_throw_range_error(env, NULL, "md5Fingerprints: an output lies over another output or over chunk ends");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_get_boolean(env, md5_fingerprints(riders, count) != 0, &result));
  return result;
}

/* Four chains side by side: near the SHA unit's issue limit on the CPUs we measured. */
#define SHA256_LANES 4

/* sha256Chunks(data: Uint8Array, ends: Uint32Array, out: Uint8Array(32 * ends.length)[, lanes 1..4])
 *   -> false (out untouched) when the CPU lacks SHA-NI */
static napi_value sha256_chunks_js(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data, *ends, *out;
  size_t data_len, n, out_len;
  uint32_t lanes = SHA256_LANES;
  if (argc < 3 || !typed_array(env, argv[0], napi_uint8_array, &data, &data_len) ||
      !typed_array(env, argv[1], napi_uint32_array, &ends, &n) ||
      !typed_array(env, argv[2], napi_uint8_array, &out, &out_len) ||
      (argc > 3 && napi_get_value_uint32(env, argv[3], &lanes) != napi_ok)) {
    napi_throw_type_error(env, NULL, "sha256Chunks: expects (Uint8Array, Uint32Array, Uint8Array[, lanes])");
    return NULL;
  }
  if (lanes < 1 || lanes > 4) {
    napi_throw_range_error(env, NULL, "sha256Chunks: lanes is 1 to 4");
    return NULL;
  }
  const uint32_t *e = (const uint32_t *)ends;
  bool ok = out_len >= 32 * n;
  for (size_t i = 0; ok && i < n; i++) ok = e[i] <= data_len && (i == 0 || e[i] >= e[i - 1]);
  if (ok) ok = !overlap(out, out_len, ends, 4 * n);
  if (!ok) {
    napi_throw_range_error(env, NULL, "sha256Chunks: ends must rise within data, and out hold 32 bytes for each, not over ends");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_get_boolean(env, sha256_chunks((const uint8_t *)data, e, n, (uint8_t *)out, (int)lanes) != 0, &result));
  return result;
}

/* sha256Resume(state: Uint32Array(8), blocks: Uint8Array (whole blocks)[, tail: Uint8Array (under a block),
 *              total: number, digest: Uint8Array(32)]) -> false (nothing touched) when the CPU lacks SHA-NI.
 * Without the last three the state is advanced; with them the message is finished into digest. */
static napi_value sha256_resume_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *state, *blocks, *tail = NULL, *digest = NULL;
  size_t state_len, blocks_len, tail_len = 0, digest_len = 0;
  int64_t total = 0;
  if ((argc != 2 && argc != 5) || !typed_array(env, argv[0], napi_uint32_array, &state, &state_len) ||
      !typed_array(env, argv[1], napi_uint8_array, &blocks, &blocks_len) ||
      (argc == 5 && (!typed_array(env, argv[2], napi_uint8_array, &tail, &tail_len) || napi_get_value_int64(env, argv[3], &total) != napi_ok ||
                     !typed_array(env, argv[4], napi_uint8_array, &digest, &digest_len)))) {
    napi_throw_type_error(env, NULL, "sha256Resume: expects (Uint32Array, Uint8Array[, Uint8Array, number, Uint8Array])");
    return NULL;
  }
  if (state_len != 8 || blocks_len % 64 != 0 || tail_len >= 64 || total < 0 || (argc == 5 && digest_len != 32) ||
      overlap(state, 32, blocks, blocks_len) || (digest && overlap(digest, 32, state, 32))) {
    napi_throw_range_error(env, NULL, "sha256Resume: 8 state words, whole blocks, a tail under a block, a 32-byte digest apart");
    return NULL;
  }
  napi_value result;
  CHECK(env, napi_get_boolean(env,
                              sha256_resume((uint32_t *)state, (const uint8_t *)blocks, blocks_len / 64, (const uint8_t *)tail, tail_len,
                                            (uint64_t)total, (uint8_t *)digest) != 0,
                              &result));
  return result;
}

NAPI_MODULE_INIT() {
  cairn_crc_init();
  napi_property_descriptor props[] = {
      {"findCuts", NULL, find_cuts, NULL, NULL, NULL, napi_default, NULL},
      {"findCutsVectorized", NULL, find_cuts_vectorized, NULL, NULL, NULL, napi_default, NULL},
      {"xxh64", NULL, xxh64, NULL, NULL, NULL, napi_default, NULL},
      {"copy", NULL, copy, NULL, NULL, NULL, napi_default, NULL},
      {"lockFile", NULL, lock_file, NULL, NULL, NULL, napi_default, NULL},
      {"crc", NULL, crc, NULL, NULL, NULL, napi_default, NULL},
      {"crcCombine", NULL, crc_combine, NULL, NULL, NULL, napi_default, NULL},
      {"md5Lanes", NULL, md5_lanes_js, NULL, NULL, NULL, napi_default, NULL},
      {"md5Vectorized", NULL, md5_vectorized_js, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Chunks", NULL, sha256_chunks_js, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Resume", NULL, sha256_resume_js, NULL, NULL, NULL, napi_default, NULL},
      {"md5Fingerprints", NULL, md5_fingerprints_js, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok)
    return NULL;
  return exports;
}
