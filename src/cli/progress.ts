import cliProgress from 'cli-progress';
import { bytes } from './format.js';

/** What a bar shows: bytes done of a total (0 when unknown), and for pushes the share already on the target. */
export interface ProgressState {
  done: number;
  total: number;
  /** Bytes the target already held, of those done (pushes only). */
  known?: number;
}

export interface ProgressBar {
  update(s: ProgressState): void;
  stop(): void;
}

/**
 * Progress bars on a terminal (stderr), one per stream: bytes, MB/s, the share
 * the target already had, and the ETA when the total is known. Off the
 * terminal, or for --json, nothing is drawn.
 */
export class Progress {
  private readonly multi: cliProgress.MultiBar | null;

  constructor(enabled: boolean) {
    this.multi = enabled
      ? new cliProgress.MultiBar({
          stream: process.stderr,
          fps: 5,
          hideCursor: true,
          clearOnComplete: false,
          format: (options, _params, payload: { name: string; started: number; state: ProgressState }) => render(options, payload),
        })
      : null;
  }

  bar(name: string): ProgressBar {
    if (!this.multi) return { update: () => undefined, stop: () => undefined };
    const started = Date.now();
    const bar = this.multi.create(1, 0, { name, started, state: { done: 0, total: 0 } });
    return {
      update: (state) => {
        bar.setTotal(Math.max(1, state.total || state.done));
        bar.update(state.done, { name, started, state });
      },
      stop: () => bar.render(),
    };
  }

  stop(): void {
    this.multi?.stop();
  }
}

function render(options: cliProgress.Options, payload: { name: string; started: number; state: ProgressState }): string {
  const s = payload.state;
  const seconds = Math.max(0.001, (Date.now() - payload.started) / 1000);
  const mbps = s.done / 1e6 / seconds;
  const parts = [payload.name.padEnd(24).slice(0, 24)];
  if (s.total > 0) {
    const width = options.barsize ?? 30;
    const filled = Math.round(Math.min(1, s.done / s.total) * width);
    parts.push(`[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${((100 * s.done) / s.total).toFixed(0).padStart(3)}%`);
  }
  parts.push(`${bytes(s.done)}${s.total > 0 ? ` / ${bytes(s.total)}` : ''}`, `${mbps.toFixed(0)} MB/s`);
  if (s.known !== undefined && s.done > 0) parts.push(`${((100 * s.known) / s.done).toFixed(1)}% on target`);
  if (s.total > 0 && s.done < s.total && mbps > 0) parts.push(`ETA ${Math.ceil((s.total - s.done) / 1e6 / mbps)}s`);
  return parts.join(' | ');
}
