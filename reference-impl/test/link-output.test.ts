/**
 * The link's output queue and buffers: small messages encoded one after the other in the
 * slab go to the transport as few chunks, in order, with each tail right behind its head;
 * batches stay within their bound and count runs of one type exactly; the recycler never
 * hands out memory it did not allocate.
 */
import t from 'tap';
import { BufferRecycler, OutputQueue } from '../src/link-output.js';

/** A message of `size` bytes of type `type` in `b`, its bytes all `fill`. */
function frame(r: BufferRecycler, size: number, type: number, fill: number): Uint8Array {
  const b = r.alloc(size);
  b.fill(fill);
  b[6] = type;
  b[7] = 1;
  return b;
}

const concat = (parts: readonly Uint8Array[]): string => Buffer.concat(parts).toString('hex');

t.test('adjacent slab messages become one chunk; a tail goes right behind its head', async (t) => {
  const r = new BufferRecycler();
  const q = new OutputQueue();
  const frames = [frame(r, 100, 0x20, 1), frame(r, 200, 0x20, 2), frame(r, 36, 0x20, 3), frame(r, 50, 0x21, 4)];
  const tail = new Uint8Array(5000).fill(9);
  q.push(frames[0]!);
  q.push(frames[1]!);
  q.push(frames[2]!, tail);
  q.push(frames[3]!);
  t.equal(q.depth, 4);
  t.equal(q.bytes, 386 + 5000);
  const runs: string[] = [];
  const batch = q.take((key, _f, tails, from, count, bytes) =>
    runs.push(`${key.toString(16)}:${from}+${count}=${bytes}${tails[from + count - 1] ? ' tail' : ''}`),
  );
  t.same(runs, ['2001:0+3=5336 tail', '2101:3+1=50'], 'runs of one type, bytes counting the tail');
  t.same(batch.frames, frames, 'the messages, as queued');
  t.equal(batch.chunks.length, 3, 'three chunks: the first three heads, the tail, the last message');
  t.equal(concat(batch.chunks), concat([frames[0]!, frames[1]!, frames[2]!, tail, frames[3]!]), 'the bytes in order');
  t.equal(q.depth, 0);
  t.equal(q.bytes, 0);
});

t.test('messages that do not lie one after the other stay apart', async (t) => {
  const q = new OutputQueue();
  const a = Buffer.alloc(40, 1);
  const b = Buffer.alloc(40, 2);
  q.push(a);
  q.push(b);
  const batch = q.take(() => undefined);
  t.equal(concat(batch.chunks), concat([a, b]));
  t.ok(batch.chunks.length >= 1 && batch.chunks.every((c) => c.byteLength === 40 || c.byteLength === 80));
});

t.test('a batch ends at 256 KiB (at least one message); the rest stays queued in order', async (t) => {
  const r = new BufferRecycler();
  const q = new OutputQueue();
  const all: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    const f = frame(r, 300, 0x20, i & 0xff);
    all.push(f);
    q.push(f);
  }
  const written: Uint8Array[] = [];
  let batches = 0;
  while (q.depth > 0) {
    const b = q.take(() => undefined);
    batches++;
    t.ok(b.frames.reduce((s, f) => s + f.byteLength, 0) <= 256 * 1024, `batch ${batches} within the bound`);
    written.push(...b.chunks);
  }
  t.equal(batches, 3, '600,000 bytes: three batches');
  t.equal(concat(written), concat(all), 'every byte, in order');
});

t.test('the recycler reuses only the large buffers it allocated, once the transport drained', async (t) => {
  const r = new BufferRecycler();
  const mine = r.alloc(65536);
  const theirs = new Uint8Array(65536);
  r.remember([mine]);
  r.drained();
  const again = r.alloc(65536);
  t.equal(again.buffer, mine.buffer, 'its own buffer comes back');
  t.not(r.alloc(65536).buffer, theirs.buffer, 'never one it was not given back');
});
