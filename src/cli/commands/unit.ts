import type { CollectionPolicy } from '../../store/gc-state.js';
import type { UnitInfo } from '../../units/unit-registry.js';
import { adminRequest } from '../admin-client.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { Command, CommandContext } from '../command.js';
import { bytes, duration, factor, parseSize, table, time } from '../format.js';

function size(flag: string, text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  const v = parseSize(text);
  if (v === undefined) throw new UsageError(`--${flag} takes a size such as 500GiB, 2TB or none`);
  return v;
}

function unitRows(units: UnitInfo[]): string {
  return table(
    ['NAME', 'OBJECTS', 'LOGICAL', 'ON DISK', 'DEDUP', 'COMPRESSION', 'QUOTA (SOFT/HARD)', 'STATE'],
    units.map((u) => [
      u.name,
      String(u.stats.objects),
      bytes(u.stats.logicalBytes),
      bytes(u.stats.containerBytes),
      factor(u.stats.dedupFactor),
      factor(u.stats.compressionFactor),
      `${bytes(u.quota.soft)} / ${bytes(u.quota.hard)}`,
      u.quotaState,
    ]),
  );
}

export function showUnit(ctx: CommandContext, u: UnitInfo): void {
  if (ctx.json) return ctx.out(JSON.stringify(u, null, 2));
  const c = u.parameters.chunking;
  const s = u.stats;
  ctx.out(
    [
      `name:              ${u.name}`,
      `created:           ${time(u.createdMs)}`,
      `chunking:          ${c.algorithm}, ${bytes(c.minSize)} / ${bytes(c.avgSize)} / ${bytes(c.maxSize)} (min/avg/max), ${u.parameters.fingerprint}`,
      `compression:       ${u.parameters.compression.codec} level ${u.parameters.compression.level}`,
      `quota:             soft ${bytes(u.quota.soft)}, hard ${bytes(u.quota.hard)} (${u.quotaState})`,
      `objects:           ${s.objects}`,
      `logical bytes:     ${bytes(s.logicalBytes)}`,
      `unique bytes:      ${bytes(s.uniqueBytes)} in ${s.dataChunks} chunks`,
      `stored bytes:      ${bytes(s.storedBytes)} (recipes ${bytes(s.storedRecipeBytes)})`,
      `on disk:           ${bytes(s.containerBytes)} in ${s.containers} containers`,
      `dedup:             ${factor(s.dedupFactor)}`,
      `compression:       ${factor(s.compressionFactor)}`,
      `total reduction:   ${factor(s.reductionFactor)}`,
      `since start:       ${bytes(u.traffic.bytesIn)} in, ${bytes(u.traffic.bytesOut)} out`,
      `last collection:   ${lastCollection(u)}`,
      `reclaimable:       ${u.reclaim ? `${bytes(u.reclaim.reclaimableBytes)} (${bytes(u.reclaim.deadBytes)} dead${u.reclaim.deadDataRawBytes === undefined ? '' : `, ${bytes(u.reclaim.deadDataRawBytes)} of unique data`}; estimated ${time(u.reclaim.atMs)})` : 'not estimated yet (cairn gc estimate)'}`,
      `collection policy: ${policyLine(u.gcPolicy)}`,
    ].join('\n'),
  );
}

function lastCollection(u: UnitInfo): string {
  const r = u.lastCollection;
  if (!r) return 'none yet (cairn gc run)';
  return `${bytes(r.bytesFreed)} freed, ${r.containersRemoved} containers removed, ${r.containersRewritten} compacted, ${time(r.startedMs)}`;
}

export function policyLine(p: CollectionPolicy): string {
  return `${p.intervalSeconds === null ? 'not scheduled' : `every ${duration(p.intervalSeconds)}`}, compacting containers under ${Math.round(p.compactBelow * 100)}% live`;
}

export const unitCommands: Command[] = [
  {
    words: ['unit', 'create'],
    args: ['name'],
    summary: 'create a storage unit (also an S3 bucket of that name)',
    options: {
      'soft-quota': { type: 'string', help: 'warn past this many logical bytes (e.g. 800GiB)' },
      'hard-quota': { type: 'string', help: 'refuse writes past this many logical bytes (e.g. 1TiB)' },
      'avg-chunk-size': { type: 'string', help: 'average chunk size, a power of two (default 32KiB); fixed for life' },
      'compression-level': { type: 'string', help: 'zstd level, -7 to 19 (default 1)' },
    },
    async run(ctx, [name], o) {
      const body: Record<string, unknown> = { name };
      const soft = size('soft-quota', o['soft-quota'] as string | undefined);
      const hard = size('hard-quota', o['hard-quota'] as string | undefined);
      if (soft !== undefined || hard !== undefined) body.quota = { soft: soft ?? null, hard: hard ?? null };
      const avg = size('avg-chunk-size', o['avg-chunk-size'] as string | undefined);
      if (avg !== undefined && avg !== null) body.avgChunkSize = avg;
      if (o['compression-level'] !== undefined) {
        const level = Number(o['compression-level']);
        if (!Number.isInteger(level)) throw new UsageError('--compression-level takes a whole number');
        body.compressionLevel = level;
      }
      const u = await adminRequest<UnitInfo>(ctx.connection(), 'POST', '/units', body);
      if (ctx.json) ctx.out(JSON.stringify(u, null, 2));
      else ctx.out(`created storage unit ${u.name}`);
      return EXIT.ok;
    },
  },
  {
    words: ['unit', 'list'],
    args: [],
    summary: 'list storage units',
    options: {},
    async run(ctx) {
      const { units } = await adminRequest<{ units: UnitInfo[] }>(ctx.connection(), 'GET', '/units');
      ctx.out(ctx.json ? JSON.stringify(units, null, 2) : units.length === 0 ? 'no storage units' : unitRows(units));
      return EXIT.ok;
    },
  },
  {
    words: ['unit', 'show'],
    args: ['name'],
    summary: "show a unit's parameters, quota and statistics",
    options: {},
    async run(ctx, [name]) {
      showUnit(ctx, await adminRequest<UnitInfo>(ctx.connection(), 'GET', `/units/${encodeURIComponent(name!)}`));
      return EXIT.ok;
    },
  },
  {
    words: ['unit', 'set-quota'],
    args: ['name'],
    summary: "set a unit's quota on logical bytes ('none' lifts a limit)",
    options: {
      soft: { type: 'string', help: 'soft quota (warns), e.g. 800GiB or none' },
      hard: { type: 'string', help: 'hard quota (refuses), e.g. 1TiB or none' },
    },
    async run(ctx, [name], o) {
      if (o.soft === undefined && o.hard === undefined) throw new UsageError('give --soft, --hard or both');
      const current = await adminRequest<UnitInfo>(ctx.connection(), 'GET', `/units/${encodeURIComponent(name!)}`);
      const soft = size('soft', o.soft as string | undefined);
      const hard = size('hard', o.hard as string | undefined);
      const u = await adminRequest<UnitInfo>(ctx.connection(), 'PUT', `/units/${encodeURIComponent(name!)}/quota`, {
        soft: soft === undefined ? current.quota.soft : soft,
        hard: hard === undefined ? current.quota.hard : hard,
      });
      if (ctx.json) ctx.out(JSON.stringify(u, null, 2));
      else ctx.out(`quota of ${u.name}: soft ${bytes(u.quota.soft)}, hard ${bytes(u.quota.hard)}`);
      return EXIT.ok;
    },
  },
  {
    words: ['unit', 'delete'],
    args: ['name'],
    summary: 'delete a storage unit and everything in it',
    options: { force: { type: 'boolean', help: 'delete even if it holds objects' } },
    async run(ctx, [name], o) {
      await adminRequest(ctx.connection(), 'DELETE', `/units/${encodeURIComponent(name!)}`, undefined, o.force ? { force: 'true' } : {});
      ctx.out(ctx.json ? JSON.stringify({ deleted: name }) : `deleted storage unit ${name}`);
      return EXIT.ok;
    },
  },
];
