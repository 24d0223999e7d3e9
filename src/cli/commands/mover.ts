import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MoverConnection, MoverError } from '../../client/connection.js';
import { directoryIndex, pullDirectory, pullPath, pushDirectory } from '../../client/directory.js';
import { counted, pull } from '../../client/pull.js';
import { push, type PushOptions, type PushResult } from '../../client/push.js';
import { CliError, EXIT, UsageError } from '../cli-errors.js';
import type { Command, CommandContext } from '../command.js';
import { bytes } from '../format.js';
import { Progress, type ProgressBar } from '../progress.js';

/** "unit/key" (key may be empty: "unit/" names a prefix). */
function parseTarget(text: string): { unit: string; key: string } {
  const slash = text.indexOf('/');
  if (slash <= 0) throw new UsageError(`${JSON.stringify(text)} is not <unit>/<key>`);
  return { unit: text.slice(0, slash), key: text.slice(slash + 1) };
}

/** Server refusals and unreachable servers as the CLI's exit codes. */
async function asCli<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MoverError) throw new CliError(err.message, err.status >= 400 && err.status < 500 ? EXIT.refused : EXIT.unavailable);
    throw err;
  }
}

interface Source {
  arg: string;
  key: string;
  kind: 'stdin' | 'directory' | 'file';
  size: number;
}

async function describeSource(arg: string, key: string): Promise<Source> {
  if (arg === '-') return { arg, key, kind: 'stdin', size: 0 };
  let st: Stats;
  try {
    st = await stat(arg);
  } catch (err) {
    throw new UsageError(`cannot read ${arg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (st.isDirectory()) return { arg, key, kind: 'directory', size: 0 };
  if (st.isFile() || st.isBlockDevice() || st.isCharacterDevice()) return { arg, key, kind: 'file', size: st.isFile() ? st.size : 0 };
  throw new UsageError(`${arg} is neither a file, a block device, a directory nor -`);
}

interface Summary {
  source: string;
  unit: string;
  key: string;
  etag: string;
  logicalBytes: number;
  bytesSent: number;
  chunkBytesSent: number;
  chunks: number;
  newChunks: number;
  seconds: number;
  files?: number;
}

async function pushOne(conn: MoverConnection, unit: string, s: Source, o: Pick<PushOptions, 'contentType'>, bar: ProgressBar, warn: (m: string) => void): Promise<Summary> {
  const onProgress: PushOptions['onProgress'] = (p) => bar.update({ done: p.bytesRead, total: s.size, known: p.bytesDeduplicated });
  const options: PushOptions = { unit, key: s.key, onProgress, ...(o.contentType !== undefined && { contentType: o.contentType }) };
  let r: PushResult & { files?: number };
  if (s.kind === 'directory') {
    r = await pushDirectory(conn, s.arg, { ...options, onWarning: (path, message) => warn(`${s.arg}/${path}: ${message}`) });
  } else {
    const source = s.kind === 'stdin' ? process.stdin : createReadStream(s.arg, { highWaterMark: 1 << 20 });
    r = await push(conn, source, options);
  }
  bar.update({ done: r.size, total: r.size, known: r.size - r.newBytes });
  bar.stop();
  return {
    source: s.arg,
    unit,
    key: r.key,
    etag: r.etag,
    logicalBytes: r.size,
    bytesSent: r.wire.sent,
    chunkBytesSent: r.chunkBytesSent,
    chunks: r.chunks,
    newChunks: r.newChunks,
    seconds: r.seconds,
    ...(r.files !== undefined && { files: r.files }),
  };
}

function pushLine(s: Summary): string {
  const share = s.logicalBytes > 0 ? `${((100 * s.bytesSent) / s.logicalBytes).toFixed(2)}%` : '-';
  return (
    `pushed ${s.source} to ${s.unit}/${s.key}: ${bytes(s.logicalBytes)} in ${s.seconds.toFixed(1)} s (${(s.logicalBytes / 1e6 / s.seconds).toFixed(0)} MB/s); ` +
    `${s.newChunks} of ${s.chunks} chunks were new; sent ${bytes(s.bytesSent)} (${share} of the data)${s.files !== undefined ? `; ${s.files} files` : ''}`
  );
}

/** Runs fns with at most `limit` at once, in order of start; the first failure is thrown once all have settled. */
async function limited<T>(fns: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(fns.length);
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < fns.length) {
      const i = next++;
      try {
        out[i] = await fns[i]!();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, worker));
  if (failure) throw failure;
  return out;
}

async function runPush(ctx: CommandContext, args: string[], o: Record<string, unknown>): Promise<number> {
  const { unit, key } = parseTarget(args[args.length - 1]!);
  const sourceArgs = args.slice(0, -1);
  const parallel = o.parallel === undefined ? 4 : Number(o.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new UsageError('--parallel takes a whole number from 1 to 64');
  if (sourceArgs.filter((a) => a === '-').length > 1) throw new UsageError('stdin (-) can be pushed once');
  // Several sources, or a target ending in "/": each source goes to <prefix><its name>.
  const asPrefix = sourceArgs.length > 1 || key === '' || key.endsWith('/');
  if (asPrefix && sourceArgs.includes('-')) throw new UsageError('stdin (-) needs a full <unit>/<key>');
  const sources = await Promise.all(
    sourceArgs.map(async (a) => {
      const s = await describeSource(a, '');
      const name = basename(a.replace(/\/+$/, '')) + (s.kind === 'directory' ? '.tar' : '');
      return { ...s, key: asPrefix ? `${key}${key === '' || key.endsWith('/') ? '' : '/'}${name}` : key };
    }),
  );
  const conn = new MoverConnection(ctx.connection());
  const progress = new Progress(!ctx.json && process.stderr.isTTY === true);
  const warn = (m: string) => process.stderr.write(`cairn: warning: ${m}\n`);
  try {
    const summaries = await asCli(() =>
      limited(
        sources.map((s) => () => pushOne(conn, unit, s, { ...(typeof o['content-type'] === 'string' && { contentType: o['content-type'] }) }, progress.bar(s.arg), warn)),
        parallel,
      ),
    );
    progress.stop();
    if (ctx.json) {
      ctx.out(
        JSON.stringify(
          {
            pushes: summaries,
            logicalBytes: summaries.reduce((n, s) => n + s.logicalBytes, 0),
            bytesSent: summaries.reduce((n, s) => n + s.bytesSent, 0),
            seconds: Math.max(...summaries.map((s) => s.seconds)),
          },
          null,
          2,
        ),
      );
    } else {
      for (const s of summaries) ctx.out(pushLine(s));
    }
    return EXIT.ok;
  } finally {
    progress.stop();
    conn.close();
  }
}

async function runPull(ctx: CommandContext, [from, dest]: string[], o: Record<string, unknown>): Promise<number> {
  const { unit, key } = parseTarget(from!);
  if (key === '') throw new UsageError('pull needs <unit>/<key>');
  const conn = new MoverConnection(ctx.connection());
  const progress = new Progress(!ctx.json && dest !== '-' && process.stderr.isTTY === true);
  const bar = progress.bar(`${unit}/${key}`);
  let done = 0;
  const onBytes = (n: number): void => bar.update({ done: (done += n), total: 0 });
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    return await asCli(async () => {
      const path = o.path as string | undefined;
      if (path !== undefined) {
        if (dest === '-') throw new UsageError('--path restores into a file or directory, not stdout');
        const r = await pullPath(conn, unit, key, path, dest!, { onBytes });
        progress.stop();
        report(ctx, { unit, key, path, dest, ...r, seconds: seconds() }, `restored ${path} from ${unit}/${key} to ${dest}: ${r.files} files, ${r.symlinks} symlinks, ${r.directories} directories, ${bytes(r.bytes)} fetched`);
        return EXIT.ok;
      }
      const index = dest === '-' ? undefined : await directoryIndex(conn, unit, key);
      if (index) {
        const r = await pullDirectory(conn, unit, key, dest!, { onBytes, onWarning: (p, m) => process.stderr.write(`cairn: warning: ${p}: ${m}\n`) });
        progress.stop();
        report(ctx, { unit, key, dest, ...r, seconds: seconds() }, `restored ${unit}/${key} into ${dest}: ${r.files} files, ${r.directories} directories, ${r.symlinks} symlinks, ${bytes(r.bytes)}`);
        return EXIT.ok;
      }
      const object = await pull(conn, { unit, key });
      const body = counted(object.body, onBytes);
      if (dest === '-') {
        await pipeline(body, process.stdout);
      } else {
        // Beside the destination, then renamed: an interrupted restore leaves no half file under the real name.
        await mkdir(dirname(dest!), { recursive: true });
        const partial = `${dest}.cairn-partial`;
        await pipeline(body, createWriteStream(partial));
        await rename(partial, dest!);
      }
      progress.stop();
      if (dest !== '-') report(ctx, { unit, key, dest, bytes: object.length, etag: object.etag, seconds: seconds() }, `restored ${unit}/${key} to ${dest}: ${bytes(object.length)}`);
      return EXIT.ok;
    });
  } finally {
    progress.stop();
    conn.close();
  }
}

function report(ctx: CommandContext, summary: Record<string, unknown>, line: string): void {
  ctx.out(ctx.json ? JSON.stringify(summary, null, 2) : line);
}

export const moverCommands: Command[] = [
  {
    words: ['push'],
    args: ['source...', 'target'],
    summary: 'back up files, block devices, directories or - (stdin) into <unit>/<key>, sending only what the unit lacks',
    options: {
      'content-type': { type: 'string', help: 'the object content type' },
      parallel: { type: 'string', help: 'sources pushed at once (default 4)' },
    },
    run: runPush,
  },
  {
    words: ['pull'],
    args: ['source', 'dest'],
    summary: 'restore <unit>/<key> to dest: a file, a directory (for a pushed directory) or - (stdout)',
    options: {
      path: { type: 'string', help: 'restore only this path of a pushed directory, by ranged reads' },
    },
    run: runPull,
  },
];
