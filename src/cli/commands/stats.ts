import type { CollectionPolicy } from '../../store/gc-state.js';
import type { Job, JobKind, JobKinds } from '../../units/jobs.js';
import type { UnitInfo } from '../../units/unit-registry.js';
import { adminRequest } from '../admin-client.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { Command, CommandContext } from '../command.js';
import { bytes, factor, parseDuration, table } from '../format.js';
import { policyLine, showUnit } from './unit.js';

interface SystemStats {
  system: { units: number; logicalBytes: number; uniqueBytes: number; storedBytes: number; containerBytes: number; objects: number; bytesIn: number; bytesOut: number };
  units: UnitInfo[];
}

export const statsCommands: Command[] = [
  {
    words: ['stats'],
    args: ['unit?'],
    summary: 'statistics of the system, or of one unit',
    options: {},
    async run(ctx, [unit]) {
      if (unit) {
        showUnit(ctx, await adminRequest<UnitInfo>(ctx.connection(), 'GET', `/units/${encodeURIComponent(unit)}`));
        return EXIT.ok;
      }
      const s = await adminRequest<SystemStats>(ctx.connection(), 'GET', '/stats');
      if (ctx.json) {
        ctx.out(JSON.stringify(s, null, 2));
        return EXIT.ok;
      }
      const sys = s.system;
      ctx.out(
        [
          `units: ${sys.units}   objects: ${sys.objects}   logical: ${bytes(sys.logicalBytes)}   unique: ${bytes(sys.uniqueBytes)}   on disk: ${bytes(sys.containerBytes)}`,
          `reduction: ${factor(sys.containerBytes > 0 ? sys.logicalBytes / sys.containerBytes : 1)}   since start: ${bytes(sys.bytesIn)} in, ${bytes(sys.bytesOut)} out`,
          '',
          table(
            ['UNIT', 'OBJECTS', 'LOGICAL', 'UNIQUE', 'ON DISK', 'DEDUP', 'COMPRESSION', 'IN', 'OUT'],
            s.units.map((u) => [
              u.name,
              String(u.stats.objects),
              bytes(u.stats.logicalBytes),
              bytes(u.stats.uniqueBytes),
              bytes(u.stats.containerBytes),
              factor(u.stats.dedupFactor),
              factor(u.stats.compressionFactor),
              bytes(u.traffic.bytesIn),
              bytes(u.traffic.bytesOut),
            ]),
          ),
        ].join('\n'),
      );
      return EXIT.ok;
    },
  },
  {
    words: ['verify'],
    args: ['unit'],
    summary: 'check every chunk and recipe of a unit; exit 4 if anything is damaged',
    options: { 'no-wait': { type: 'boolean', help: 'start the job and print its id without waiting' } },
    async run(ctx, [unit], o) {
      const r = await runJob(ctx, 'verify', 'verify', unit!, 'verify', o['no-wait'] === true, (p) => `${p.phase}: ${p.done}/${p.total}`);
      if (typeof r === 'number') return r;
      if (!ctx.json) {
        ctx.out(
          `${r.ok ? 'clean' : 'DAMAGED'}: ${r.containersChecked} containers, ${r.recordsChecked} records, ${bytes(r.bytesChecked)}, ${r.objectsChecked} objects in ${(r.durationMs / 1000).toFixed(1)} s`,
        );
        for (const d of r.damagedRecords) ctx.out(`damaged record: container ${d.container} offset ${d.offset}: ${d.reason}`);
        for (const k of r.damagedObjects) ctx.out(`damaged object: ${k}`);
      }
      return r.ok ? EXIT.ok : EXIT.damaged;
    },
  },
  {
    words: ['gc', 'estimate'],
    args: ['unit'],
    summary: 'measure what a garbage collection of a unit would give back (marks everything live; changes nothing)',
    options: { 'no-wait': { type: 'boolean', help: 'start the job and print its id without waiting' } },
    async run(ctx, [unit], o) {
      const e = await runJob(ctx, 'reclaim-estimate', 'estimate', unit!, 'reclaim-estimate', o['no-wait'] === true, (p) => `marked ${p.roots} recipes, ${p.nodes} nodes, ${p.chunks} chunk references`);
      if (typeof e === 'number') return e;
      if (!ctx.json) {
        ctx.out(
          `${unit}: ${bytes(e.reclaimableBytes)} reclaimable (${e.emptyContainers} containers with nothing live, ${e.sparseContainers} under ${Math.round(e.compactBelow * 100)}% live); ` +
            `${bytes(e.deadBytes)} dead in ${e.deadChunks} chunks (${bytes(e.deadDataRawBytes)} of unique data), ${e.liveChunks} chunks live; marked in ${(e.durationMs / 1000).toFixed(1)} s`,
        );
      }
      return EXIT.ok;
    },
  },
  {
    words: ['gc', 'run'],
    args: ['unit'],
    summary: 'collect garbage in a unit: delete containers holding nothing live, compact sparse ones (safe while backups run)',
    options: {
      'compact-below': { type: 'string', help: "compact sealed containers under this live share, 0 to 1 (default: the unit's policy)" },
      'no-wait': { type: 'boolean', help: 'start the job and print its id without waiting' },
    },
    async run(ctx, [unit], o) {
      const compactBelow = share('compact-below', o['compact-below'] as string | undefined);
      const body = compactBelow === undefined ? undefined : { compactBelow };
      const r = await runJob(ctx, 'gc', 'garbage collection', unit!, 'gc', o['no-wait'] === true, (p) => `${p.phase}: ${p.done}${p.total ? `/${p.total}` : ''}`, body);
      if (typeof r === 'number') return r;
      if (!ctx.json) {
        ctx.out(
          `${unit}: freed ${bytes(r.bytesFreed)}, ${r.containersRemoved} of ${r.containersExamined} sealed containers removed, ${r.containersRewritten} compacted ` +
            `(${bytes(r.bytesCopied)} copied forward, ${r.chunksRemoved} chunks removed); marked ${r.marked.roots} recipes in ${(r.durationMs / 1000).toFixed(1)} s` +
            (r.containersSkipped > 0 ? `; ${r.containersSkipped} left for the next collection` : '') +
            (r.waitedSeconds >= 1 ? ` (${r.waitedSeconds.toFixed(0)} s waiting for streams that were open when it began)` : ''),
        );
      }
      return EXIT.ok;
    },
  },
  {
    words: ['gc', 'policy'],
    args: ['unit'],
    summary: "show or set a unit's collection policy: a schedule (off by default) and the compaction threshold",
    options: {
      every: { type: 'string', help: 'collect this often: 6h, 1d, 1w, or off' },
      'compact-below': { type: 'string', help: 'compact sealed containers under this live share, 0 to 1 (e.g. 0.5)' },
    },
    async run(ctx, [unit], o) {
      const change: Partial<CollectionPolicy> = {};
      if (o.every !== undefined) {
        const every = parseDuration(o.every as string);
        if (every === undefined) throw new UsageError('--every takes a duration such as 6h, 1d or 1w, or off');
        change.intervalSeconds = every;
      }
      const compactBelow = share('compact-below', o['compact-below'] as string | undefined);
      if (compactBelow !== undefined) change.compactBelow = compactBelow;
      const path = `/units/${encodeURIComponent(unit!)}`;
      const u = Object.keys(change).length === 0 ? await adminRequest<UnitInfo>(ctx.connection(), 'GET', path) : await adminRequest<UnitInfo>(ctx.connection(), 'PUT', `${path}/gc-policy`, change);
      ctx.out(ctx.json ? JSON.stringify(u.gcPolicy, null, 2) : `${unit}: ${policyLine(u.gcPolicy)}`);
      return EXIT.ok;
    },
  },
];

/**
 * Starts a job on a unit (POST /units/<unit>/<path>) and follows it to its end, with progress on a
 * terminal; --json prints the finished job. Its result, or the exit code when there is none to
 * show: started without waiting (0), or failed (3, with one line saying so).
 */
async function runJob<K extends JobKind>(
  ctx: CommandContext,
  kind: K,
  title: string,
  unit: string,
  path: string,
  noWait: boolean,
  describe: (p: JobKinds[K]['progress']) => string,
  body?: object,
): Promise<JobKinds[K]['result'] | number> {
  const conn = ctx.connection();
  let job = await adminRequest<Job<K>>(conn, 'POST', `/units/${encodeURIComponent(unit)}/${path}`, body);
  if (noWait) {
    ctx.out(ctx.json ? JSON.stringify(job, null, 2) : `started ${kind} job ${job.id}`);
    return EXIT.ok;
  }
  const tty = process.stderr.isTTY && !ctx.json;
  while (job.state === 'running') {
    await new Promise((r) => setTimeout(r, 500));
    job = await adminRequest<Job<K>>(conn, 'GET', `/jobs/${job.id}`);
    if (tty && job.progress) process.stderr.write(`\r${describe(job.progress)}   `);
  }
  if (tty) process.stderr.write('\n');
  if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
  if (job.state === 'failed') {
    if (!ctx.json) ctx.out(`${title} of ${unit} failed: ${job.error}`);
    return EXIT.unavailable;
  }
  return job.result!;
}

/** A share from 0 to 1 given to a flag, or undefined when the flag is absent. */
function share(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v <= 1)) throw new UsageError(`--${flag} takes a number from 0 to 1, such as 0.5`);
  return v;
}
