/**
 * A link's output side, without the protocol: the queue of encoded messages waiting for the
 * transport, taken off in batches, with the types of what it holds kept for the statistics;
 * and the buffers large messages are encoded into, recycled once the transport is done
 * with them.
 *
 * @module
 */

/** Largest batch handed to the transport in one write. */
const BATCH_BYTES = 256 * 1024;

/**
 * Messages from this size up are encoded into buffers the link recycles once the transport
 * is done with them (smaller ones come from Node's own buffer pool): at full speed, 64 KiB
 * messages written and waiting for the collector made up most of a sender's memory.
 */
const RECYCLE_MIN = 4096;
/**
 * Trailing bytes of at least this size, handed over with `transfer`, are written as they are
 * behind the message's head (one more buffer in the `writev`) instead of being copied; smaller
 * ones are copied, which costs less than the extra buffer.
 */
export const TRANSFER_MIN = 4096;
/** Largest buffer recycled. */
const RECYCLE_MAX = 1024 * 1024;
/** Size of the slab small messages are encoded into. */
const SLAB_BYTES = 64 * 1024;
/** Bytes of free buffers a link keeps for reuse, and of written ones it remembers. */
const RECYCLE_KEEP = 2 * BATCH_BYTES;

/** The buffer size a message of `length` bytes is encoded into when recycled: the next power of two. */
const recycleSize = (length: number): number => 2 ** Math.ceil(Math.log2(length));

/**
 * Called per run of one type in a batch taken off the queue: `key` is `type << 8 | subtype`,
 * the run is messages `[from, from + count)` of the batch and holds `bytes` bytes; message k is
 * `frames[k]`, followed by `tails[k]` when it was queued in two parts.
 */
export type RunHandler = (
  key: number,
  frames: readonly Uint8Array[],
  tails: readonly (Uint8Array | undefined)[],
  from: number,
  count: number,
  bytes: number,
) => void;

/** The tails of a batch without any. */
const NO_TAILS: readonly (Uint8Array | undefined)[] = [];

/** A batch taken off the queue. */
export interface Batch {
  /** The messages: each whole, or its head when it was queued in two parts. */
  readonly frames: readonly Uint8Array[];
  /** What to write, in order: `frames` with each tail behind its head, adjacent ones merged. */
  readonly chunks: readonly Uint8Array[];
}

/**
 * What to write for a batch: its messages in order, each tail behind its head, and messages
 * that lie one after the other in one buffer (the slab small messages are encoded into) as
 * one chunk. A chunk costs the transport a call and an I/O vector entry: 256-byte messages
 * written one chunk each spent more in Node's stream machinery than in encoding.
 */
function coalesce(frames: readonly Uint8Array[], tails: readonly (Uint8Array | undefined)[]): readonly Uint8Array[] {
  // One message (every round trip): nothing to merge.
  if (frames.length === 1 && tails.length === 0) return frames;
  const chunks: Uint8Array[] = [];
  let run: Uint8Array | undefined;
  let runEnd = 0;
  let count = 0;
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k]!;
    if (run !== undefined && f.buffer === run.buffer && f.byteOffset === runEnd) {
      runEnd += f.byteLength;
      count++;
    } else {
      if (run !== undefined) chunks.push(runChunk(run, runEnd, count));
      run = f;
      runEnd = f.byteOffset + f.byteLength;
      count = 1;
    }
    const tail = tails[k];
    if (tail !== undefined) {
      chunks.push(runChunk(run, runEnd, count), tail);
      run = undefined;
    }
  }
  if (run !== undefined) chunks.push(runChunk(run, runEnd, count));
  return chunks;
}

/** A run of `count` messages from `first` to `end` in one buffer, as one chunk. */
function runChunk(first: Uint8Array, end: number, count: number): Uint8Array {
  return count === 1 ? first : new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}

/**
 * Encoded messages waiting for the transport, in order. The queue owns their memory: a
 * message is one buffer, or a head and a tail (a payload handed over without a copy), written
 * one after the other.
 */
export class OutputQueue {
  private pending: Uint8Array[] = [];
  /**
   * The tail behind each pending message, if it has one: aligned with `pending` while a
   * queued message has one, else empty (what the common case, no tails at all, pays nothing for).
   */
  private tails: (Uint8Array | undefined)[] = [];
  /** Pending messages that have a tail. */
  private tailCount = 0;
  private pendingBytes = 0;
  /**
   * The types of `pending`, run-length encoded for the statistics, flat: `type << 8 | subtype`,
   * messages, bytes; one run per stretch of one type. Taken from each message as it is queued,
   * while its bytes are in the cache: read again at write time, a queue's worth of messages
   * later, they cost a cache miss each.
   */
  private runs: number[] = [];
  /** Highest depth seen, in messages. */
  highWater = 0;

  /** Messages waiting. */
  get depth(): number {
    return this.pending.length;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.pendingBytes;
  }

  /**
   * Appends an encoded message (its header's type and subtype are read at bytes 6 and 7):
   * whole, or its head and then its tail.
   */
  push(frame: Uint8Array, tail?: Uint8Array): void {
    this.pending.push(frame);
    let size = frame.byteLength;
    const tails = this.tails;
    if (tail !== undefined) {
      // `tails` is kept only while a queued message has one: aligned with `pending` then.
      while (tails.length < this.pending.length - 1) tails.push(undefined);
      tails.push(tail);
      this.tailCount++;
      size += tail.byteLength;
    } else if (tails.length > 0) {
      tails.push(undefined);
    }
    this.pendingBytes += size;
    const key = (frame[6]! << 8) | frame[7]!;
    const runs = this.runs;
    const last = runs.length - 3;
    if (last >= 0 && runs[last] === key) {
      runs[last + 1]!++;
      runs[last + 2]! += size;
    } else {
      runs.push(key, 1, size);
    }
    if (this.pending.length > this.highWater) this.highWater = this.pending.length;
  }

  /**
   * Takes the next batch off the head (at least one message, at most {@link BATCH_BYTES}
   * otherwise), calling `onRun` for each run of one type in it. The queue must not be empty.
   */
  take(onRun: RunHandler): Batch {
    const tails = this.tails;
    const pending = this.pending;
    let n = 0;
    let bytes = 0;
    if (tails.length === 0) {
      while (n < pending.length && (n === 0 || bytes + pending[n]!.byteLength <= BATCH_BYTES))
        bytes += pending[n++]!.byteLength;
    } else {
      for (; n < pending.length; n++) {
        const size = pending[n]!.byteLength + (tails[n]?.byteLength ?? 0);
        if (n > 0 && bytes + size > BATCH_BYTES) break;
        bytes += size;
      }
    }
    const batch = pending.splice(0, n);
    const batchTails = tails.length === 0 ? NO_TAILS : tails.splice(0, n);
    this.pendingBytes -= bytes;
    const runs = this.runs;
    let i = 0;
    let at = 0;
    let left = bytes;
    while (at < batch.length) {
      const key = runs[i]!;
      let count = runs[i + 1]!;
      let runBytes = runs[i + 2]!;
      if (count <= batch.length - at) {
        i += 3;
      } else {
        // The batch ends inside this run: its part is the rest of the batch; the rest stays queued.
        count = batch.length - at;
        runBytes = left;
        runs[i + 1]! -= count;
        runs[i + 2]! -= runBytes;
      }
      onRun(key, batch, batchTails, at, count, runBytes);
      at += count;
      left -= runBytes;
    }
    if (i > 0) runs.splice(0, i);
    const chunks = coalesce(batch, batchTails);
    if (batchTails !== NO_TAILS) {
      for (const tail of batchTails) if (tail !== undefined) this.tailCount--;
      if (this.tailCount === 0) this.tails = [];
    }
    return { frames: batch, chunks };
  }

  /** Drops everything queued. */
  clear(): void {
    this.pending = [];
    this.tails = [];
    this.tailCount = 0;
    this.pendingBytes = 0;
    this.runs = [];
  }
}

/**
 * Buffers for large messages: a message of {@link RECYCLE_MIN} bytes or more goes into a
 * buffer taken from the ones the transport is done with (those written before its last
 * `drain`, when its buffer was empty) or new, its size a power of two.
 */
export class BufferRecycler {
  /**
   * Recyclable messages handed to the transport since it last drained, and their bytes: once
   * it drains, it holds none of them any more.
   */
  private written: Uint8Array[] = [];
  private writtenBytes = 0;
  /** Where small messages are encoded, one after the other, and the bytes of it handed out. */
  private slab: Uint8Array | undefined;
  private slabUsed = 0;
  /** Free buffers by size (powers of two), and their bytes. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;

  /**
   * A buffer of `length` bytes to encode a message into: recycled when large; else the next
   * bytes of the link's slab, so that the messages queued one after the other lie one after
   * the other in memory and go to the transport as a few large chunks (see
   * {@link OutputQueue.take}), not one chunk each.
   */
  alloc(length: number): Uint8Array {
    if (length < RECYCLE_MIN) {
      let slab = this.slab;
      if (slab === undefined || this.slabUsed + length > SLAB_BYTES) {
        // Uninitialised: every byte handed out is encoded into first. Never reused: a slab is
        // freed once none of its messages is held any more (queued, or in the transport).
        slab = this.slab = new Uint8Array(Buffer.allocUnsafeSlow(SLAB_BYTES).buffer, 0, SLAB_BYTES);
        this.slabUsed = 0;
      }
      const b = new Uint8Array(slab.buffer, this.slabUsed, length);
      this.slabUsed += length;
      return b;
    }
    if (length > RECYCLE_MAX) return Buffer.allocUnsafe(length);
    const size = recycleSize(length);
    const ab = this.free.get(size)?.pop();
    if (ab === undefined) return Buffer.from(Buffer.allocUnsafeSlow(size).buffer, 0, length);
    this.freeBytes -= size;
    return Buffer.from(ab, 0, length);
  }

  /** Remembers the recyclable messages of a batch the transport took; the oldest are forgotten past the bound. */
  remember(batch: readonly Uint8Array[]): void {
    for (const frame of batch) {
      // Ours alone: a buffer of its own (Node's pool serves smaller messages), of a recycled size.
      if (frame.byteLength < RECYCLE_MIN || frame.byteOffset !== 0) continue;
      const size = frame.buffer.byteLength;
      if (size > RECYCLE_MAX || recycleSize(size) !== size) continue;
      this.written.push(frame);
      this.writtenBytes += size;
    }
    let drop = 0;
    while (this.writtenBytes > RECYCLE_KEEP) this.writtenBytes -= this.written[drop++]!.buffer.byteLength;
    if (drop > 0) this.written.splice(0, drop);
  }

  /** The transport's buffer is empty: every message written so far has left it, its buffer is free. */
  drained(): void {
    for (const frame of this.written) {
      const size = frame.buffer.byteLength;
      if (this.freeBytes + size > RECYCLE_KEEP) break;
      const list = this.free.get(size);
      if (list === undefined) this.free.set(size, [frame.buffer as ArrayBuffer]);
      else list.push(frame.buffer as ArrayBuffer);
      this.freeBytes += size;
    }
    this.written = [];
    this.writtenBytes = 0;
  }

  /** Forgets every buffer. */
  clear(): void {
    this.written = [];
    this.writtenBytes = 0;
    this.free.clear();
    this.freeBytes = 0;
  }
}
