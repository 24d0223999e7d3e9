{
  "targets": [
    {
      "target_name": "cairn_native",
      "sources": ["src/addon.c", "src/gear_cdc.c", "src/gear_cdc_avx512.c", "src/xxh64.c", "src/crc.c", "src/md5.c", "src/sha256.c", "src/md5_fingerprints.c"],
      "cflags": ["-O3", "-std=c11", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
