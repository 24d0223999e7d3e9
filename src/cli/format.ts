/** Output for people: aligned tables and sizes in binary units. */

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function factor(n: number): string {
  return `${n.toFixed(2)}x`;
}

export function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|PB|KIB|MIB|GIB|TIB|PIB|K|M|G|T|P)?$/i;
const FACTORS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
  PIB: 1024 ** 5,
};

/** "10GiB", "500 MB", "1.5T", "1024": bytes; "none" lifts a limit. Undefined for anything else. */
export function parseSize(text: string): number | null | undefined {
  if (text.toLowerCase() === 'none') return null;
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const v = Math.round(Number(m[1]) * FACTORS[(m[2] ?? 'B').toUpperCase()]!);
  return Number.isSafeInteger(v) ? v : undefined;
}

const DURATION = /^(\d+)\s*(s|m|h|d|w)?$/i;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90m", "6h", "1d", "3600" (seconds): seconds; "off" is null. Undefined for anything else. */
export function parseDuration(text: string): number | null | undefined {
  if (text.toLowerCase() === 'off') return null;
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * SECONDS[(m[2] ?? 's').toLowerCase()]! : undefined;
}

/** Seconds as the largest whole unit that fits: "1d", "6h", "90m", "45s". */
export function duration(seconds: number): string {
  for (const [u, n] of [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60]] as const) if (seconds % n === 0) return `${seconds / n}${u}`;
  return `${seconds}s`;
}
