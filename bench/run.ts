/*
 * npm run bench: Cairn's figures, each beside its baseline from the same run.
 * Figures, never assertions: this machine is shared and noisy.
 *
 * Knobs (environment): CAIRN_BENCH_GEN_MB (generation 1 size, default 1024),
 * CAIRN_BENCH_BIG_GB (the large-object run, default 4; 0 skips it),
 * CAIRN_BENCH_SWEEP_MB (generation size of the chunk-size sweep, default 256; 0 skips it),
 * CAIRN_BENCH_GC_MB (data for the garbage-collection mark, in 1 KiB chunks: default 1200, about
 * a million chunks; 0 skips it), CAIRN_BENCH_SMALL_OBJECTS (16 KiB puts per lane count, default
 * 3000; 0 skips it), CAIRN_BENCH_DIR (scratch, default bench/out).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, getPriority, setPriority } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../src/chunking/native.js';
import { DEFAULT_AVG_SIZE } from '../src/chunking/parameters.js';
import { DEFAULT_COMPRESSION_LEVEL } from '../src/store/store.js';
import type { Ceilings } from './ceilings.js';
import { materialize, planGenerations } from './generations.js';
import { generated } from './generated.js';
import { measure, table } from './measure.js';
import { createBucket, curlGet, hashSignedPut, listAll, rawGet, rawMultipart, rawPut, sdkClient, sdkMultipart, signedStreamingPut, type S3Target } from './s3-client.js';
import type { GenerationFile, GenerationRow } from './phases.js';
import { MULTIPART_IN_FLIGHT, MULTIPART_PART } from './multipart-shape.js';
import type { SmallObjectsRow } from './small-objects.js';
import { loadSource, streamOf } from './source.js';
import { MoverConnection } from '../src/client/connection.js';
import { push } from '../src/client/push.js';

const env = process.env;
const GEN_MB = Number(env.CAIRN_BENCH_GEN_MB ?? 1024);
const BIG_GB = Number(env.CAIRN_BENCH_BIG_GB ?? 4);
const SWEEP_MB = Number(env.CAIRN_BENCH_SWEEP_MB ?? 256);
const S3 = (env.CAIRN_BENCH_S3 ?? '1') !== '0';
const LIST_OBJECTS = Number(env.CAIRN_BENCH_LIST_OBJECTS ?? 100_000);
const DIR = resolve(env.CAIRN_BENCH_DIR ?? 'bench/out');
const GC_MB = Number(env.CAIRN_BENCH_GC_MB ?? 1200);
const SMALL_OBJECTS = Number(env.CAIRN_BENCH_SMALL_OBJECTS ?? 3000);
/**
 * The nice value the S3 phase's clients run at. The direct baseline has no
 * client; a client on another machine (as Velero's and Kopia's are) takes none
 * of the server's CPU. At 19 the clients here get the CPU the server leaves, so
 * the S3 figures are the server's; at 0 they contend with it for the same two cores.
 */
const CLIENT_NICE = Number(env.CAIRN_BENCH_CLIENT_NICE ?? 19);
if (!Number.isInteger(CLIENT_NICE) || CLIENT_NICE < -20 || CLIENT_NICE > 19) throw new Error(`CAIRN_BENCH_CLIENT_NICE must be an integer from -20 to 19, not ${env.CAIRN_BENCH_CLIENT_NICE}`);
const GENERATIONS = 5;

const results: Record<string, unknown> = {};
const say = (s = ''): void => console.log(s);

/** Runs a phase in a child process of its own and returns its JSON answer. */
function phase<T>(script: string, args: string[]): { value: T; maxRssMiB: number } {
  const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(new URL(script, import.meta.url)), ...args], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`${script} ${args[0] ?? ''} failed with status ${child.status}`);
  return JSON.parse(child.stdout) as { value: T; maxRssMiB: number };
}

async function generations(mb: number): Promise<GenerationFile[]> {
  const plan = planGenerations(mb * 1e6, GENERATIONS);
  const out: GenerationFile[] = [];
  for (let g = 0; g < GENERATIONS; g++) out.push(await materialize(plan, g, join(DIR, 'generations')));
  return out;
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  say(`Cairn bench  ${new Date().toISOString()}  node ${process.version}  ${availableParallelism()} cores  ${cpus()[0]?.model ?? ''}`);
  say(`command: npm run bench  (CAIRN_BENCH_GEN_MB=${GEN_MB} CAIRN_BENCH_BIG_GB=${BIG_GB} CAIRN_BENCH_SWEEP_MB=${SWEEP_MB} CAIRN_BENCH_CLIENT_NICE=${CLIENT_NICE})`);
  say(`defaults: average chunk ${DEFAULT_AVG_SIZE / 1024} KiB, zstd level ${DEFAULT_COMPRESSION_LEVEL}, containers 4 MiB`);
  say();

  const gen = await measure(() => generations(GEN_MB));
  const gens = gen.value;
  say(`generations: ${gens.map((p) => (p.bytes / 1e6).toFixed(0)).join(', ')} MB (ready in ${gen.seconds.toFixed(1)} s; cached between runs)`);

  const levels = [...new Set([1, 3, DEFAULT_COMPRESSION_LEVEL])].sort();
  const c = phase<(Ceilings & { level: number })[]>('./phases.js', ['ceilings', JSON.stringify({ sample: gens[0]!.path, avgSize: DEFAULT_AVG_SIZE, levels })]).value;
  results.ceilings = c;
  say();
  say('ceilings: one core alone on the first 256 MiB of generation 1 (MB/s); chunking also on random data');
  say('  sha256: OpenSSL one 16 KiB chunk at a time; "ours": the store\'s fingerprints, a batch of chunks side by side; md5: one stream, OpenSSL and ours, and ours for 2 and 4 streams side by side (all their bytes)');
  say('  md5+fp: ours with the chunks\' fingerprints riding along in the same pass, as the store runs it, one stream and two (all their bytes)');
  say(`  chunking C: the cut search as the store runs it (${native.findCutsVectorized() ? 'sixteen positions at a time, AVX-512 VBMI' : 'no AVX-512 VBMI here: one byte at a time'}); C scalar: one byte at a time`);
  say(
    table(
      ['sha256', 'sha256 ours', 'md5', 'md5 ours', 'md5 x2', 'md5 x4', 'md5+fp', 'md5+fp x2', 'xxh64', ...c.map((x) => `zstd-${x.level}`), ...c.map((x) => `ratio-${x.level}`), 'chunking C', 'C scalar', 'C random', 'TS random'],
      [[c[0]!.sha256, c[0]!.sha256Batch, c[0]!.md5, c[0]!.md5Native, c[0]!.md5Native2, c[0]!.md5Native4, c[0]!.md5Riding, c[0]!.md5Riding2, c[0]!.xxh64, ...c.map((x) => x.zstd), ...c.map((x) => x.zstdRatio), c[0]!.chunkingNative, c[0]!.chunkingScalar, c[0]!.chunkingNativeRandom, c[0]!.chunkingReference]],
    ),
  );
  say(
    `  a worker's rounds of n riders, md5+fp in pairs (an odd one alone) / MD5s side by side and fingerprints after, the store's pick: ` +
      c[0]!.rounds.map((r) => `${r.riders}: ${r.pairs.toFixed(0)}/${r.side.toFixed(0)} ${r.picked}`).join(', '),
  );

  const sp = phase<{ rows: GenerationRow[]; restore: { bytes: number; mbps: number; peakRssMiB: number }; stats: Record<string, number> }>(
    './phases.js',
    ['storePath', JSON.stringify({ unit: join(DIR, 'units', 'store-path'), gens, avgSize: DEFAULT_AVG_SIZE, level: DEFAULT_COMPRESSION_LEVEL })],
  ).value;
  results.storePath = sp;
  say();
  say('store path (direct, no HTTP): one stream per generation into one unit, fed from memory (peak RSS less the source held in memory)');
  say(
    table(
      ['gen', 'logical MB', 'MB/s', 'cpu s', 'dedup so far', 'stored MB', 'peak RSS MiB', 'filter: new', 'locality hits', 'index reads'],
      sp.rows.map((r) => [r.generation, r.logicalMB, r.mbps, r.cpuSeconds, r.dedupSoFar, r.storedMB, r.peakRssMiB, r.filterNegatives, r.localityHits, r.indexReads]),
    ),
  );
  const s = sp.stats;
  say(`restore gen ${GENERATIONS}: ${sp.restore.mbps.toFixed(0)} MB/s (${(sp.restore.bytes / 1e6).toFixed(0)} MB, peak RSS ${sp.restore.peakRssMiB.toFixed(0)} MiB)`);
  say(
    `unit after ${GENERATIONS} generations: logical ${(s.logicalBytes! / 1e6).toFixed(0)} MB, unique ${(s.uniqueBytes! / 1e6).toFixed(0)} MB, ` +
      `on disk ${(s.containerBytes! / 1e6).toFixed(0)} MB; dedup ${s.dedupFactor!.toFixed(2)}x, compression ${s.compressionFactor!.toFixed(2)}x, ` +
      `total ${s.reductionFactor!.toFixed(2)}x; recipe nodes ${(s.storedRecipeBytes! / 1e6).toFixed(2)} MB`,
  );
  say(`ratios to one-core ceilings (ours): gen 1 ${(sp.rows[0]!.mbps / c[0]!.sha256Batch).toFixed(2)}x sha256, ${(sp.rows[0]!.mbps / c[0]!.md5Native).toFixed(2)}x md5; ` +
    `gens 2-5 ${(avg(sp.rows.slice(1).map((r) => r.mbps)) / c[0]!.md5Native).toFixed(2)}x md5 (MD5 is one stream's serial floor)`);

  if (S3) await s3Path(gens, sp);

  if (BIG_GB > 0) {
    type Big = {
      bytes: number;
      seconds: number;
      storePeakRssMiB: number;
      readBytes: number;
      readSeconds: number;
      readPeakRssMiB: number;
      maxRssMiB: number;
      chunks: number;
      recipeHeight: number;
    };
    const big = phase<never>('./big-object.js', [join(DIR, 'units', 'big'), String(BIG_GB)]) as unknown as Big;
    results.bigObject = big;
    say();
    say(
      `${BIG_GB} GiB object of new data, in a process of its own: store ${(big.bytes / 1e6 / big.seconds).toFixed(0)} MB/s (generator included), ` +
        `peak RSS ${big.storePeakRssMiB.toFixed(0)} MiB while storing; read back ${(big.readBytes / 1e6 / big.readSeconds).toFixed(0)} MB/s, ` +
        `peak RSS ${big.readPeakRssMiB.toFixed(0)} MiB while reading; ${big.chunks} chunks, recipe height ${big.recipeHeight}`,
    );
  }

  if (SWEEP_MB > 0) {
    const sweepGens = await generations(SWEEP_MB);
    const sweep = [4, 8, 16, 32, 64].map(
      (kib) =>
        phase<Record<string, number>>('./phases.js', [
          'sweep',
          JSON.stringify({ unit: join(DIR, 'units', `sweep-${kib}`), gens: sweepGens, avgSize: kib * 1024, level: DEFAULT_COMPRESSION_LEVEL }),
        ]).value,
    );
    results.sweep = sweep;
    say();
    say(`average chunk size sweep: ${GENERATIONS} generations of ${SWEEP_MB} MB, a fresh unit per size`);
    say(
      table(
        ['avg KiB', 'mean KiB', 'dedup', 'total', 'gen1 MB/s', 'gen2-5 MB/s', 'chunks', 'index MB', 'on disk MB'],
        sweep.map((r) => [r.avgKiB!, r.meanChunkKiB!, r.dedup!, r.total!, r.newMbps!, r.dupMbps!, r.uniqueChunks!, r.indexMB!, r.onDiskMB!]),
      ),
    );
  }

  if (GC_MB > 0) {
    const gc = phase<Record<string, number>>('./phases.js', ['gcMark', JSON.stringify({ unit: join(DIR, 'units', 'gc-mark'), bytes: GC_MB * 1e6, objects: 64 })]);
    results.gcMark = { ...gc.value, processMaxRssMiB: gc.maxRssMiB };
    const g = gc.value;
    say();
    say(`garbage collection: a unit of ${g.chunks} chunks (${GC_MB} MB in 1 KiB chunks, 64 objects, filled at ${g.fillMbps!.toFixed(0)} MB/s), half the objects deleted`);
    say(
      `  reclaim estimate (full mark + per-container join): ${g.markSeconds!.toFixed(1)} s (${g.markCpuSeconds!.toFixed(1)} cpu s), ` +
        `RSS ${g.rssBeforeMiB!.toFixed(0)} MiB before, peak ${g.markPeakRssMiB!.toFixed(0)} MiB during; ` +
        `${g.liveChunks} live, ${g.deadChunks} dead chunks, ${g.deadMB!.toFixed(0)} MB dead of ${g.onDiskMB!.toFixed(0)} MB on disk, ${g.reclaimableMB!.toFixed(0)} MB reclaimable`,
    );
    say(
      `  collection (mark, delete containers holding nothing live, compact those under ${Math.round(100 * g.compactBelow!)}% live): ${g.gcSeconds!.toFixed(1)} s (${g.gcCpuSeconds!.toFixed(1)} cpu s), ` +
        `peak RSS ${g.gcPeakRssMiB!.toFixed(0)} MiB; on disk ${g.onDiskMB!.toFixed(0)} -> ${g.onDiskAfterMB!.toFixed(0)} MB: freed ${g.freedMB!.toFixed(0)} MB = ${(100 * g.freedShare!).toFixed(1)}% of the dead bytes (target 95%) ` +
        `(${g.containersRemoved} of ${g.containersExamined} containers removed, ${g.compactedContainers} compacted, ${g.copiedMB!.toFixed(0)} MB copied forward)`,
    );
    say(
      `  ingest beside a collection (another quarter of the objects deleted; 8 MB objects of new data): ${g.ingestDuringGcMbps!.toFixed(0)} MB/s while it ran vs ${g.ingestAloneMbps!.toFixed(0)} MB/s alone = ` +
        `${(g.ingestDuringGcMbps! / g.ingestAloneMbps!).toFixed(2)}x; the collection took ${g.secondGcSeconds!.toFixed(1)} s, freed ${g.secondGcFreedMB!.toFixed(0)} MB, compacted ${g.secondGcCompacted} containers`,
    );
    say(
      `  opening that unit again (${g.openChunks} chunks): ${g.loadedOpenMs!.toFixed(0)} ms with the filter its close saved (filter ${g.loadedFilterMs!.toFixed(0)} ms, saved in ${g.filterSaveMs!.toFixed(0)} ms) ` +
        `vs ${g.rebuiltOpenMs!.toFixed(0)} ms as after a crash, every fingerprint read from the index (filter ${g.rebuiltFilterMs!.toFixed(0)} ms) = ${(g.rebuiltOpenMs! / g.loadedOpenMs!).toFixed(1)}x`,
    );
  }

  if (SMALL_OBJECTS > 0) {
    const bytes = 16 * 1024;
    const rows = phase<SmallObjectsRow[]>('./phases.js', ['smallObjects', JSON.stringify({ dir: join(DIR, 'units', 'small'), objects: SMALL_OBJECTS, bytes, lanes: [1, 4, 16] })]).value;
    results.smallObjects = rows;
    say();
    say(`small objects: ${SMALL_OBJECTS} puts of ${bytes / 1024} KiB of new data into one unit, "lanes" at a time; the baseline ("files") writes each`);
    say('  to a file of its own, fdatasync\'d, and syncs the directory: the same guarantee from a plain file system (same process, same run)');
    say(
      table(
        ['lanes', 'store objects/s', 'cpu s', 'files objects/s', 'cpu s', 'store/files', 'event-loop lag p99 ms', 'max ms'],
        rows.map((r) => [r.lanes, r.storeObjectsPerSecond, r.storeCpuSeconds, r.filesObjectsPerSecond, r.filesCpuSeconds, r.storeObjectsPerSecond / r.filesObjectsPerSecond, r.lagP99Ms, r.lagMaxMs]),
      ),
    );
  }

  const file = join(DIR, `results-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2));
  say();
  say(`results: ${file}`);
}

/** The same generations through a Cairn server in a process of its own: one PUT stream, SDK multipart, GET. */
async function s3Path(
  gens: { path: string; bytes: number }[],
  direct: { rows: GenerationRow[]; restore: { mbps: number } },
): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(new URL('./s3-server.js', import.meta.url)), join(DIR, 'units', 's3-server')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  const hello = (await next()) as { url: string; accessKeyId: string; secretAccessKey: string };
  const target: S3Target = { url: hello.url, credentials: { accessKeyId: hello.accessKeyId, secretAccessKey: hello.secretAccessKey } };
  /** Since the last reset: the peak RSS, and the full collections V8 ran. */
  const peakAndMajors = async (): Promise<{ peakRssMiB: number; majors: number }> => {
    child.stdin!.write('peak\n');
    return (await next()) as { peakRssMiB: number; majors: number };
  };
  const peak = async (): Promise<number> => (await peakAndMajors()).peakRssMiB;
  const reset = () => child.stdin!.write('reset\n');
  // CPU seconds of the server process, from /proc: what the server spent, apart from the client.
  const serverCpu = (): number => {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const client = sdkClient(target);
  let clientNice: { restore(): void } | undefined;
  try {
    // After the server is started, so that it keeps the bench's own priority.
    // On Linux this sets the bench's main thread, where the clients run, and the
    // threads and processes started from here on (the mover's workers, curl);
    // threads that already run (V8's helpers) keep theirs.
    const serverNice = getPriority(child.pid!);
    clientNice = setClientNice(CLIENT_NICE);
    await createBucket(client, 's3-single');
    // First, on a fresh server: the memory target is about one large stream, not what the mixed workload below leaves behind.
    let big: { mbps: number; peakRssMiB: number } | undefined;
    if (BIG_GB > 0) {
      reset();
      const bytes = BIG_GB * 2 ** 30;
      const m = await measure(() => rawPut(target, 's3-single', 'big-object', Readable.from(generated(bytes, 3)), bytes));
      big = { mbps: bytes / 1e6 / m.seconds, peakRssMiB: await peak() };
    }
    await createBucket(client, 's3-multipart');
    await createBucket(client, 's3-raw-multipart');
    await createBucket(client, 's3-signed');
    await createBucket(client, 's3-hex');
    await createBucket(client, 'pushed');
    const mover = new MoverConnection({ endpoint: new URL(target.url), credentials: target.credentials, region: 'us-east-1' });
    const rows: S3Row[] = [];
    // The two paired units see the same generations, one as single streams and one as parts: their unique bytes show what parts cost dedup.
    // Kept: what a collection leaves, since a completion's re-cut seams leave the parts' own seam chunks as garbage.
    const uniqueOf = async (unit: string): Promise<UniqueBytes> => {
      child.stdin!.write(`unique ${unit}\n`);
      return (await next()) as unknown as UniqueBytes;
    };
    type Timed = { bytes: number; seconds: number; cpuSeconds: number };
    /** The store path, one stream and multipart (cut as the raw multipart client cuts it: what the S3 face adds to multipart). */
    const baselines = async (unit: string, multipartUnit: string, path: string, key: string): Promise<{ single: Timed; multipart: Timed }> => {
      child.stdin!.write(`direct ${unit} ${path} ${key}\n`);
      const single = (await next()) as Timed;
      child.stdin!.write(`directmp ${multipartUnit} ${path} ${key}\n`);
      return { single, multipart: (await next()) as Timed };
    };
    /** Both runs as one: their mean time (so their MB/s combine as a harmonic mean) and mean CPU. */
    const bracket = (a: Timed, b: Timed): Timed & { spread: string } => ({
      bytes: a.bytes,
      seconds: (a.seconds + b.seconds) / 2,
      cpuSeconds: (a.cpuSeconds + b.cpuSeconds) / 2,
      spread: `${(a.bytes / 1e6 / a.seconds).toFixed(0)}/${(b.bytes / 1e6 / b.seconds).toFixed(0)}`,
    });
    const none: UniqueBytes = { stored: 0, kept: 0 };
    let firstUnique = { singleAfterFirst: none, partsAfterFirst: none };
    for (const [g, gen] of gens.entries()) {
      // The paired baseline: the store path inside the server process, just before the S3 runs.
      const before = await baselines('direct', 'directmp', gen.path, `gen${g + 1}.tar`);
      if (g === 0) firstUnique = { singleAfterFirst: await uniqueOf('direct'), partsAfterFirst: await uniqueOf('directmp') };
      const source = loadSource(gen.path);
      reset();
      let cpu0 = serverCpu();
      const single = await measure(() => rawPut(target, 's3-single', `gen${g + 1}.tar`, streamOf(source), gen.bytes));
      const singleServerCpu = serverCpu() - cpu0;
      const { peakRssMiB: singleRss, majors: singleMajors } = await peakAndMajors();
      reset();
      cpu0 = serverCpu();
      const raw = await measure(() => rawMultipart(target, 's3-raw-multipart', `gen${g + 1}.tar`, source, MULTIPART_PART, MULTIPART_IN_FLIGHT));
      const rawServerCpu = serverCpu() - cpu0;
      const { peakRssMiB: rawRss, majors: rawMajors } = await peakAndMajors();
      // And again just after, into units of their own that have seen the same generations: the host
      // drifts over seconds, so a baseline on one side of the S3 runs alone moved their ratios by a fifth.
      const after = await baselines('direct-after', 'directmp-after', gen.path, `gen${g + 1}.tar`);
      const paired = bracket(before.single, after.single);
      const pairedMultipart = bracket(before.multipart, after.multipart);
      reset();
      cpu0 = serverCpu();
      const multi = await measure(() => sdkMultipart(client, 's3-multipart', `gen${g + 1}.tar`, source, MULTIPART_PART, MULTIPART_IN_FLIGHT));
      const multiServerCpu = serverCpu() - cpu0;
      const { peakRssMiB: multiRss, majors: multiMajors } = await peakAndMajors();
      // Framed and signed before the clock starts (see signedStreamingPut); the source's pieces stay shared.
      const sendSigned = signedStreamingPut(target, 's3-signed', `gen${g + 1}.tar`, source);
      reset();
      cpu0 = serverCpu();
      const signed = await measure(sendSigned);
      const signedServerCpu = serverCpu() - cpu0;
      const signedRss = await peak();
      // Hashed before the clock starts too, as the client's own work.
      const sha256hex = createHash('sha256').update(source.data).digest('hex');
      reset();
      cpu0 = serverCpu();
      const hex = await measure(() => hashSignedPut(target, 's3-hex', `gen${g + 1}.tar`, streamOf(source), gen.bytes, sha256hex));
      const hexServerCpu = serverCpu() - cpu0;
      const hexRss = await peak();
      reset();
      cpu0 = serverCpu();
      const wire0 = { ...mover.wire };
      const pushed = await measure(() => push(mover, streamOf(source), { unit: 'pushed', key: `gen${g + 1}.tar` }));
      const pushServerCpu = serverCpu() - cpu0;
      const pushRss = await peak();
      const pushSent = mover.wire.sent - wire0.sent;
      const directMbps = paired.bytes / 1e6 / paired.seconds;
      const row = {
        generation: g + 1,
        directMbps,
        directCpu: paired.cpuSeconds,
        directMultipartMbps: pairedMultipart.bytes / 1e6 / pairedMultipart.seconds,
        directSpread: paired.spread,
        directMultipartSpread: pairedMultipart.spread,
        directMultipartCpu: pairedMultipart.cpuSeconds,
        putServerCpu: singleServerCpu,
        putClientCpu: single.cpuSeconds,
        rawMultipartServerCpu: rawServerCpu,
        rawMultipartClientCpu: raw.cpuSeconds,
        storePathMbps: direct.rows[g]!.mbps,
        putMbps: gen.bytes / 1e6 / single.seconds,
        rawMultipartMbps: gen.bytes / 1e6 / raw.seconds,
        multipartMbps: gen.bytes / 1e6 / multi.seconds,
        signedMbps: gen.bytes / 1e6 / signed.seconds,
        signedServerCpu,
        signedCpu: `${signedServerCpu.toFixed(2)}/${signed.cpuSeconds.toFixed(2)}`,
        hexMbps: gen.bytes / 1e6 / hex.seconds,
        hexServerCpu,
        hexCpu: `${hexServerCpu.toFixed(2)}/${hex.cpuSeconds.toFixed(2)}`,
        pushMbps: gen.bytes / 1e6 / pushed.seconds,
        pushSentPercent: (100 * pushSent) / gen.bytes,
        pushNewChunks: `${pushed.value.newChunks}/${pushed.value.chunks}`,
        pushCpu: `${pushServerCpu.toFixed(2)}/${pushed.cpuSeconds.toFixed(2)}`,
        serverPeakRssMiB: Math.max(singleRss, rawRss, multiRss, signedRss, hexRss, pushRss),
        putCpu: `${singleServerCpu.toFixed(2)}/${single.cpuSeconds.toFixed(2)}`,
        rawMultipartCpu: `${rawServerCpu.toFixed(2)}/${raw.cpuSeconds.toFixed(2)}`,
        multipartCpu: `${multiServerCpu.toFixed(2)}/${multi.cpuSeconds.toFixed(2)}`,
        fullGcs: `${singleMajors}/${rawMajors}/${multiMajors}`,
      };
      rows.push(row);
    }
    mover.close();
    const unique = { single: await uniqueOf('direct'), parts: await uniqueOf('directmp'), ...firstUnique };
    const last = gens.length;
    child.stdin!.write(`restore gen${last}.tar\n`);
    const restored = (await next()) as { bytes: number; seconds: number };
    const restoreMbps = restored.bytes / 1e6 / restored.seconds;
    const getCpu0 = serverCpu();
    const get = await measure(() => rawGet(target, 's3-single', `gen${last}.tar`));
    const getServerCpu = serverCpu() - getCpu0;
    const getMbps = get.value / 1e6 / get.seconds;
    const curlCpu0 = serverCpu();
    const byCurl = await measure(() => curlGet(target, 's3-single', `gen${last}.tar`));
    const curl = { mbps: byCurl.value[0] / 1e6 / byCurl.seconds, serverCpu: serverCpu() - curlCpu0, clientCpu: byCurl.value[1] };
    child.stdin!.write(`populate ${LIST_OBJECTS}\n`);
    const populated = (await next()) as { seconds: number };
    const listing = [];
    for (const [what, query] of [
      ['every key, 1000 a page', {}],
      ['top level, delimiter /', { delimiter: '/' }],
      ['one prefix of 1000 keys', { prefix: 'ns042/' }],
    ] as [string, Record<string, string>][]) {
      const m = await measure(() => listAll(target, 'listing', query));
      const [pages, keys, prefixes] = m.value;
      listing.push({ what, pages, keys, prefixes, seconds: m.seconds, msPerPage: (m.seconds * 1000) / pages });
    }
    results.s3Path = { rows, unique, restoreMbps, getMbps, curl, big, listing, populateSeconds: populated.seconds };
    say();
    say('S3 path: the same generations, fed from memory, through a server in its own process (client in the bench process, same 2 cores).');
    say(`  clients at nice ${CLIENT_NICE} (CAIRN_BENCH_CLIENT_NICE; the server at ${serverNice}): ` +
      (CLIENT_NICE > 0 ? 'they get the CPU the server leaves, as a client on another machine takes none of it' : 'they contend with the server for the same cores'));
    say('  "direct" is the paired baseline: the store path inside the server process, run just before and just after each generation\'s');
    say('  PUT and raw multipart (into two units, each seeing every generation once; their mean time, and each one\'s MB/s before/after);');
    say('  "direct mp" the store\'s multipart path there, parts cut as the raw multipart client cuts them (into units of their own)');
    say('  (this host is shared and drifts over minutes; the store-path table above ran earlier)');
    say('  PUT: one signed PutObject streaming the generation (UNSIGNED-PAYLOAD); multipart, 8 MiB parts, 4 in flight:');
    say('  "raw" as light as a client can be (UNSIGNED-PAYLOAD, no checksums), "SDK" by @aws-sdk/lib-storage (signed SHA-256 and CRC32 of every part);');
    say('  "signed PUT" as minio-go sends one over HTTP for Kopia and restic (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, a signature on every 64 KiB chunk,');
    say('  framed and signed before the clock starts, as a client on another machine would spend that CPU there);');
    say('  "hex PUT" as the AWS SDK for Go (Velero) and the AWS CLI send one over HTTP (x-amz-content-sha256: the body\'s SHA-256, hashed before the clock starts)');
    say(
      table(
        ['gen', 'direct MB/s', 'before/after', 'cpu s', 'direct mp MB/s', 'before/after', 'cpu s', 'PUT MB/s', '/direct', 'cpu s srv/cli', 'raw mp MB/s', '/direct', '/direct mp', 'cpu s srv/cli', 'SDK mp MB/s', '/direct', 'cpu s srv/cli', 'signed PUT MB/s', '/direct', 'cpu s srv/cli', 'hex PUT MB/s', '/direct', 'cpu s srv/cli', 'server peak RSS MiB', 'full GCs PUT/raw/SDK'],
        rows.map((r) => [
          r.generation,
          r.directMbps,
          r.directSpread,
          r.directCpu,
          r.directMultipartMbps,
          r.directMultipartSpread,
          r.directMultipartCpu,
          r.putMbps,
          r.putMbps / r.directMbps,
          r.putCpu,
          r.rawMultipartMbps,
          r.rawMultipartMbps / r.directMbps,
          r.rawMultipartMbps / r.directMultipartMbps,
          r.rawMultipartCpu,
          r.multipartMbps,
          r.multipartMbps / r.directMbps,
          r.multipartCpu,
          r.signedMbps,
          r.signedMbps / r.directMbps,
          r.signedCpu,
          r.hexMbps,
          r.hexMbps / r.directMbps,
          r.hexCpu,
          r.serverPeakRssMiB,
          r.fullGcs,
        ]),
      ),
    );
    const mean = (f: (r: S3Row) => number): string => avg(rows.map(f)).toFixed(2);
    say(
      `mean over the generations, to the paired direct: PUT ${mean((r) => r.putMbps / r.directMbps)}, raw multipart ${mean((r) => r.rawMultipartMbps / r.directMbps)}, ` +
        `SDK multipart ${mean((r) => r.multipartMbps / r.directMbps)}; raw multipart to the paired direct multipart ${mean((r) => r.rawMultipartMbps / r.directMultipartMbps)}, ` +
        `direct multipart to direct ${mean((r) => r.directMultipartMbps / r.directMbps)}; signed PUT ${mean((r) => r.signedMbps / r.directMbps)}, hex PUT ${mean((r) => r.hexMbps / r.directMbps)}`,
    );
    // The client shares the two cores: the server's own CPU per byte is the figure an off-box client would see.
    say(
      `server CPU, mean over the generations, direct over S3 (1 = the S3 face costs nothing): PUT ${mean((r) => r.directCpu / r.putServerCpu)}, ` +
        `signed PUT ${mean((r) => r.directCpu / r.signedServerCpu)}, hex PUT ${mean((r) => r.directCpu / r.hexServerCpu)}, ` +
        `raw multipart ${mean((r) => r.directMultipartCpu / r.rawMultipartServerCpu)} (to direct multipart), ${mean((r) => r.directCpu / r.rawMultipartServerCpu)} (to direct)`,
    );
    // On two shared cores both sides of each ratio keep the cores about equally busy, so a ratio of
    // throughputs follows the ratio of all the CPU each side spends, the client's included. Printed
    // beside the measured ratio, it shows how much of the gap is the S3 face and how much the client.
    const demand = (direct: (r: S3Row) => number, server: (r: S3Row) => number, client: (r: S3Row) => number) =>
      `${mean((r) => direct(r) / (server(r) + client(r)))} by CPU, ${mean((r) => direct(r) / (direct(r) + client(r)))} if the S3 face cost no CPU ` +
      `(cpu s per generation: direct ${mean(direct)}, S3 server ${mean(server)}, client ${mean(client)})`;
    say(
      `throughput ratios from CPU alone, direct / (S3 server + client): PUT ${demand((r) => r.directCpu, (r) => r.putServerCpu, (r) => r.putClientCpu)}; ` +
        `raw multipart to direct multipart ${demand((r) => r.directMultipartCpu, (r) => r.rawMultipartServerCpu, (r) => r.rawMultipartClientCpu)}`,
    );
    const added = (k: keyof UniqueBytes): { single: number; parts: number } => ({
      single: unique.single[k] - unique.singleAfterFirst[k],
      parts: unique.parts[k] - unique.partsAfterFirst[k],
    });
    const kept = added('kept');
    const stored = added('stored');
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    say(
      `unique bytes added by gens 2-${gens.length}, kept once collected: ${mb(kept.single)} MB as one stream each, ${mb(kept.parts)} MB as ` +
        `${MULTIPART_PART / 2 ** 20} MiB parts (${(kept.parts / kept.single).toFixed(2)}x); stored until a collection: ${mb(stored.single)} and ${mb(stored.parts)} MB ` +
        `(the parts' own chunks at each seam, which the completion re-cut)`,
    );
    say('  push: the mover client (src/client) into a unit of its own: it chunks and fingerprints, asks what the unit lacks and sends only that,');
    say('  compressed; "sent" counts every byte the client wrote to its socket (frames, headers, signatures)');
    say(
      table(
        ['gen', 'PUT MB/s', 'push MB/s', 'push/PUT', 'new chunks', 'sent % logical', 'cpu s srv/cli'],
        rows.map((r) => [r.generation, r.putMbps, r.pushMbps, r.pushMbps / r.putMbps, r.pushNewChunks, r.pushSentPercent, r.pushCpu]),
      ),
    );
    const dupRows = rows.slice(1);
    say(
      `push on gens 2-${rows.length}: ${avg(dupRows.map((r) => r.pushMbps)).toFixed(0)} MB/s, ${avg(dupRows.map((r) => r.pushMbps / r.putMbps)).toFixed(2)}x PutObject; ` +
        `sent ${Math.max(...dupRows.map((r) => r.pushSentPercent)).toFixed(2)}% of the logical bytes at most`,
    );
    say(
      `GET gen ${last}: ${getMbps.toFixed(0)} MB/s, ${(getMbps / restoreMbps).toFixed(2)}x the paired direct restore in the server process (${restoreMbps.toFixed(0)} MB/s; ` +
        `${direct.restore.mbps.toFixed(0)} MB/s in the store-path run); ` +
        `cpu s server/client ${getServerCpu.toFixed(2)}/${get.cpuSeconds.toFixed(2)} (a Node http client)`,
    );
    // Repeated in one process against one object, this GET cost its client 2.1-6.1 CPU-s per GB
    // (scratch/get-after-frames.mjs, 2026-11-24): on two cores that client, not the server, sets the figure.
    say('  (the Node client\'s own CPU swings two- to threefold from run to run here; the curl figure below is the one to compare)');
    say(
      `GET gen ${last} by curl: ${curl.mbps.toFixed(0)} MB/s, ${(curl.mbps / restoreMbps).toFixed(2)}x the paired direct restore; ` +
        `cpu s server/client ${curl.serverCpu.toFixed(2)}/${curl.clientCpu.toFixed(2)}`,
    );
    say(`ListObjectsV2 on a unit of ${LIST_OBJECTS} objects (100 prefixes of ${LIST_OBJECTS / 100}; made in ${populated.seconds.toFixed(0)} s by copies):`);
    say(table(['listing', 'pages', 'keys', 'prefixes', 'seconds', 'ms a page'], listing.map((l) => [l.what, l.pages, l.keys, l.prefixes, l.seconds, l.msPerPage])));
    if (big) say(`${BIG_GB} GiB object of new data through one PutObject, first thing on a fresh server: ${big.mbps.toFixed(0)} MB/s (generator in the client), server peak RSS ${big.peakRssMiB.toFixed(0)} MiB`);
  } finally {
    client.destroy();
    child.stdin!.write('quit\n');
    clientNice?.restore();
  }
}

/** Sets this thread's nice value; restore() puts the old one back where the process may raise its priority again. */
function setClientNice(nice: number): { restore(): void } {
  const before = getPriority(0);
  if (nice === before) return { restore() {} };
  setPriority(0, nice);
  return {
    restore() {
      try {
        setPriority(0, before);
      } catch {
        // Raising a priority again needs CAP_SYS_NICE: what runs after this has the clients' nice.
        results.niceAfterS3 = nice;
        say(`(could not restore nice ${before} from ${nice} without the privilege to raise it: the phases after the S3 path ran at nice ${nice})`);
      }
    },
  };
}

/** A unit's unique data bytes: as stored, and as kept once a collection takes what no recipe reaches. */
interface UniqueBytes {
  stored: number;
  kept: number;
}

interface S3Row {
  generation: number;
  directMbps: number;
  directCpu: number;
  /** The store's multipart path in the server process, same parts and parts in flight as the raw multipart. */
  directMultipartMbps: number;
  directMultipartCpu: number;
  /** The baselines' MB/s before and after the S3 runs, "before/after": how far the host drifted meanwhile. */
  directSpread: string;
  directMultipartSpread: string;
  putServerCpu: number;
  /** The client's CPU seconds (the bench process), on the same two cores as the server. */
  putClientCpu: number;
  rawMultipartServerCpu: number;
  rawMultipartClientCpu: number;
  storePathMbps: number;
  putMbps: number;
  rawMultipartMbps: number;
  multipartMbps: number;
  /** PutObject with every 64 KiB chunk signed (minio-go over HTTP): the server checks each signature. */
  signedMbps: number;
  signedServerCpu: number;
  signedCpu: string;
  /** PutObject signed with the body's SHA-256 (the AWS SDK for Go and the AWS CLI over HTTP): the server hashes the whole body. */
  hexMbps: number;
  hexServerCpu: number;
  hexCpu: string;
  pushMbps: number;
  pushSentPercent: number;
  pushNewChunks: string;
  pushCpu: string;
  serverPeakRssMiB: number;
  putCpu: string;
  rawMultipartCpu: string;
  multipartCpu: string;
  /** Full (mark-compact) collections in the server during the PUT, raw multipart and SDK multipart uploads. */
  fullGcs: string;
}

function avg(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
