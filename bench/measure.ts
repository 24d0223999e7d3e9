/** Wall time, CPU time and the peak resident set of one phase, sampled every 20 ms. */
export interface Measured<T> {
  value: T;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  try {
    const value = await fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

export const MB = 1e6;
export const MiB = 2 ** 20;

export function rate(bytes: number, seconds: number): number {
  return bytes / MB / seconds;
}

/** Prints rows under a header, columns padded to their widest cell. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => String(c).padStart(widths[i]!)).join('  ')).join('\n');
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}
