import { createHash } from 'node:crypto';
import t from 'tap';
import { StoreCompute } from '../../src/store/store-compute.js';
import { piecesOf, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Rejects when `p` has not settled within `ms`: a stuck pipeline must fail the test, not hang it. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// The process shares a few batch slots among all streams. Each stream here needs
// several batches and more streams run than there are slots: a stream that holds
// only the buffer it fills must still be able to go on, however it came to wait.
// (An AWS CLI upload, ten 8 MiB parts at a time, hung the server this way.)
t.test('more concurrent streams than batch slots all finish', async (t) => {
  const { store } = await openTestStore(t);
  const streams = 2 * StoreCompute.shared().slots.cap + 2;
  const size = 5 * 2 * 1024 * 1024 + 12_345;
  const datas = Array.from({ length: streams }, (_, i) => pseudoRandomBytes(`stream-${i}`, size));
  const up = store.createUpload('parts');
  const done = Promise.all([
    ...datas.slice(0, streams / 2).map((d, i) => store.put(`object-${i}`, streamOf(piecesOf(d, 256 * 1024)))),
    ...datas.slice(streams / 2).map((d, i) => store.putPart(up.uploadId, i + 1, streamOf(piecesOf(d, 64 * 1024)))),
  ]);
  const results = await within(done, 60_000, `${streams} concurrent streams`);
  for (const [i, r] of results.entries()) t.equal(r.etag.replace(/"/g, ''), md5(datas[i]!), `stream ${i} stored whole`);
  t.equal(StoreCompute.shared().slots.slotsOut, 0, 'every slot went back');
  t.equal((await store.verify()).ok, true);
});

// Reads share a pool of slots too. A reader whose client stops reading keeps
// the slots of the spans it has read ahead; others must still get through.
t.test('a read gets through while more readers than read slots have stalled', async (t) => {
  const { store } = await openTestStore(t);
  const data = pseudoRandomBytes('read-me', 12 * 1024 * 1024 + 777);
  await store.put('big', streamOf(piecesOf(data, 1024 * 1024)));
  const slots = StoreCompute.shared().readSlots;
  let openGate!: () => void;
  const gate = new Promise<void>((r) => (openGate = r));
  const stalledStarted: Promise<void>[] = [];
  const stalled: Promise<void>[] = [];
  for (let i = 0; i < slots.cap + 2; i++) {
    let started!: () => void;
    stalledStarted.push(new Promise<void>((r) => (started = r)));
    const opened = await store.open('big');
    stalled.push(
      opened.pump(async () => {
        started();
        await gate;
      }),
    );
  }
  await within(Promise.all(stalledStarted), 30_000, 'stalled readers starting');
  t.ok(slots.slotsOut >= slots.cap, 'the stalled readers hold every read slot');

  const opened = await store.open('big');
  const hash = createHash('md5');
  await within(opened.pump((view) => void hash.update(view)), 30_000, 'a read beside stalled readers');
  t.equal(hash.digest('hex'), md5(data), 'read whole and right');

  openGate();
  await within(Promise.all(stalled), 30_000, 'the stalled readers, released');
  t.equal(slots.slotsOut, 0, 'every read slot went back');
});
