/*
 * Ingests into a unit until killed, printing one line per acknowledged
 * operation: "PUT <key> <sha256>" after put() (or, for every third object,
 * a three-part multipart upload's completion) resolves, "DEL <key>" after
 * delete() resolves, and "DELETING <key>" before a delete starts (a delete
 * killed before its acknowledgement may or may not have happened). In mode
 * "gc" a garbage collection follows every delete ("COLLECTING" before it,
 * "GC <containers compacted>" when it finishes). The parent SIGKILLs it at a
 * moment it picks.
 */
import { writeSync } from 'node:fs';
import { ChunkStore } from '../../src/store/store.js';
import { crashObject } from './crash-data.js';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { TEST_SEED } from './store.js';
import { sha256, streamOf, piecesOf } from './data.js';

const [dir, round, mode] = [process.argv[2]!, Number(process.argv[3]), process.argv[4] ?? 'ingest'];
const store = await ChunkStore.open(dir, {
  create: { chunking: defaultChunkingParameters(4096, TEST_SEED), containerSize: 256 * 1024 },
});
writeSync(1, 'READY\n');
for (let i = 0; ; i++) {
  const key = `r${round}/o${i}`;
  const data = crashObject(round, i);
  if (i % 3 === 1) {
    // A multipart upload of three parts: completion re-cuts and stores the seams, so the kill lands there too.
    const upload = store.createUpload(key);
    const third = Math.ceil(data.length / 3);
    for (let n = 0; n < 3; n++) await store.putPart(upload.uploadId, n + 1, streamOf([data.subarray(n * third, (n + 1) * third)]));
    await store.completeUpload(upload.uploadId, [1, 2, 3].map((partNumber) => ({ partNumber })));
  } else {
    await store.put(key, streamOf(piecesOf(data, 40_000 + (i % 7) * 13_000)));
  }
  writeSync(1, `PUT ${key} ${sha256(data)}\n`);
  if (i % 5 === 4) {
    const victim = `r${round}/o${i - 2}`;
    writeSync(1, `DELETING ${victim}\n`);
    await store.delete(victim);
    writeSync(1, `DEL ${victim}\n`);
    if (mode === 'gc') {
      // Every container with anything dead is compacted: the kill lands in copies and repointing too.
      writeSync(1, 'COLLECTING\n');
      const r = await store.collectGarbage({ compactBelow: 1 });
      writeSync(1, `GC ${r.containersRewritten}\n`);
    }
  }
}
