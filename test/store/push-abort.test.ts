import t from 'tap';
import type { Landing, PushSource } from '../../src/store/push-source.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

/**
 * A push source that writes into the memory the store lends it (as a socket
 * read does), a MiB at a time, and otherwise into its own. It records when it
 * is stopped, and writes nothing after that.
 */
class LendingSource implements PushSource {
  readonly kind = 'push';
  landed = 0;
  stopped = false;
  wroteAfterStop = false;
  private reject!: (err: Error) => void;
  private take!: (bytes: Uint8Array) => number;
  private landing: Landing | undefined;
  private at = 0;

  constructor(private readonly data: Buffer) {}

  run(take: (bytes: Uint8Array) => number, landing?: Landing): Promise<void> {
    this.take = take;
    this.landing = landing;
    return new Promise<void>((_resolve, reject) => {
      this.reject = reject;
      this.pump();
    });
  }

  resume(): void {
    setImmediate(() => this.pump());
  }

  stop(reason: Error): void {
    this.stopped = true;
    this.reject(reason);
  }

  /** Offers bytes until the taker pauses; never the whole body, so the stream is still under way when aborted. */
  private pump(): void {
    while (!this.stopped && this.at < this.data.length - (1 << 20)) {
      const to = this.landing?.(1 << 20);
      if (!to || to.pause) return;
      const n = Math.min(to.into.length, this.data.length - this.at);
      this.data.copy(to.into, 0, this.at, this.at + n);
      if (this.stopped) this.wroteAfterStop = true;
      this.landed++;
      this.at += n;
      const kept = this.take(to.into.subarray(0, n));
      if (kept !== n) throw new Error('a landed write was not taken whole');
    }
  }
}

t.test('an aborted stream stops its push source before its batch buffers go back to the pool', async (t) => {
  const { store } = await openTestStore(t);
  const source = new LendingSource(pseudoRandomBytes('lent', 64 << 20));
  const put = store.put('lent', source);
  for (let i = 0; i < 500 && source.landed < 8; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(source.landed >= 8, `the source wrote into lent memory ${source.landed} times`);
  // Closing the store aborts the streams under way.
  const closing = store.close();
  await t.rejects(put, /aborted|closing|closed/);
  await closing;
  t.ok(source.stopped, 'the source was stopped');
  t.notOk(source.wroteAfterStop, 'and wrote nothing after');
});
