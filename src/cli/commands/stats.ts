import type { Job } from '../../units/jobs.js';
import type { UnitInfo } from '../../units/unit-registry.js';
import { adminRequest } from '../admin-client.js';
import { EXIT } from '../cli-errors.js';
import type { Command } from '../command.js';
import { bytes, factor, table } from '../format.js';
import { showUnit } from './unit.js';

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
      const conn = ctx.connection();
      let job = await adminRequest<Job>(conn, 'POST', `/units/${encodeURIComponent(unit!)}/verify`);
      if (o['no-wait']) {
        ctx.out(ctx.json ? JSON.stringify(job, null, 2) : `started verify job ${job.id}`);
        return EXIT.ok;
      }
      const tty = process.stderr.isTTY && !ctx.json;
      while (job.state === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        job = await adminRequest<Job>(conn, 'GET', `/jobs/${job.id}`);
        if (tty && job.progress) process.stderr.write(`\r${job.progress.phase}: ${job.progress.done}/${job.progress.total}   `);
      }
      if (tty) process.stderr.write('\n');
      if (ctx.json) ctx.out(JSON.stringify(job, null, 2));
      if (job.state === 'failed') {
        if (!ctx.json) ctx.out(`verify of ${unit} failed: ${job.error}`);
        return EXIT.unavailable;
      }
      const r = job.result!;
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
];
