/** Limits on a unit's logical (pre-dedup) bytes, as protection storage counts them. */
export interface Quota {
  /** Past this, the unit warns (stats, log, metric) but takes writes. */
  soft: number | null;
  /** No write may take the unit past this; the crossing write is refused whole. */
  hard: number | null;
}

export type QuotaState = 'ok' | 'soft-exceeded' | 'hard-reached';

export function quotaState(q: Quota, logicalBytes: number): QuotaState {
  if (q.hard !== null && logicalBytes >= q.hard) return 'hard-reached';
  if (q.soft !== null && logicalBytes > q.soft) return 'soft-exceeded';
  return 'ok';
}

export function validQuotaProblem(q: Quota): string | null {
  for (const [name, v] of Object.entries(q)) {
    if (v !== null && (!Number.isSafeInteger(v) || v < 0)) return `quota ${name} must be a whole number of bytes, or null`;
  }
  if (q.soft !== null && q.hard !== null && q.soft > q.hard) return 'the soft quota may not exceed the hard quota';
  return null;
}
