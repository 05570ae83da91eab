/**
 * Fuzz inputs: the golden vectors mutated (bits, bytes, header fields, lengths, cuts,
 * splices), random bytes, and headers that announce a body as large as the limit, all from
 * a {@link Prng} so that every input can be made again from its seed and run index.
 *
 * @module
 */
import { fromHex, HEADER_OFFSETS, HEADER_SIZE, MAGIC } from '../../codec/src/index.js';
import { loadVectors } from '../../spec/src/index.js';
import type { Prng } from './prng.js';

/** How an input was made. */
export type InputKind = 'random' | 'random-header' | 'mutated' | 'big-body';

/** One fuzz input. */
export interface FuzzInput {
  readonly kind: InputKind;
  readonly bytes: Uint8Array;
}

/** The bytes of every golden vector, valid and invalid. */
export function vectorCorpus(): Uint8Array[] {
  const { valid, invalid } = loadVectors();
  return [...valid, ...invalid].map((v) => fromHex(v.hex)).filter((b) => b.byteLength > 0);
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff];

function setU32(b: Uint8Array, at: number, v: number): void {
  if (at + 4 > b.byteLength) return;
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** Lengths at and around every boundary the framer checks. */
function interestingLength(rng: Prng, current: number, limit: number): number {
  return (
    rng.pick([
      0,
      1,
      HEADER_SIZE - 1,
      HEADER_SIZE,
      HEADER_SIZE + 1,
      current - 1,
      current + 1,
      current * 2,
      limit - 1,
      limit,
      limit + 1,
      0x7fffffff,
      0x80000000,
      0xffffffff,
      rng.below(0x100000000),
      rng.below(limit * 2),
    ]) >>> 0
  );
}

/** A header with the right magic and random everything else: gets past the first check. */
function randomHeader(rng: Prng, limit: number): Uint8Array {
  const tail = rng.bytes(rng.below(48));
  const b = new Uint8Array(HEADER_SIZE + tail.byteLength);
  b.set(rng.bytes(HEADER_SIZE));
  setU32(b, 0, MAGIC);
  if (rng.chance(0.5)) b[HEADER_OFFSETS.version] = rng.pick([0, 1, 2, 255]);
  if (rng.chance(0.5)) b[HEADER_OFFSETS.flags] = 0;
  setU32(b, HEADER_OFFSETS.length, rng.chance(0.5) ? b.byteLength : interestingLength(rng, b.byteLength, limit));
  b.set(tail, HEADER_SIZE);
  return b;
}

/** A header announcing a body near the limit, then that many bytes (or a few more or less). */
function bigBody(rng: Prng, corpus: readonly Uint8Array[], limit: number): Uint8Array {
  const base = rng.pick(corpus);
  const length = Math.max(HEADER_SIZE, limit + rng.between(-HEADER_SIZE, HEADER_SIZE));
  const size = Math.max(HEADER_SIZE, length + rng.between(-8, 8));
  const b = new Uint8Array(size);
  b.set(base.subarray(0, Math.min(HEADER_SIZE, base.byteLength)));
  setU32(b, HEADER_OFFSETS.length, length);
  b.set(rng.bytes(size - HEADER_SIZE), HEADER_SIZE);
  return b;
}

/** One mutation of `b`; may return a new array (insert, delete, splice). */
function mutateOnce(rng: Prng, b: Uint8Array, corpus: readonly Uint8Array[], limit: number): Uint8Array {
  if (b.byteLength === 0) return rng.bytes(rng.between(1, 32));
  const at = rng.below(b.byteLength);
  switch (rng.below(11)) {
    case 0:
      b[at] = b[at]! ^ (1 << rng.below(8));
      return b;
    case 1:
      b[at] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
      return b;
    case 2: {
      // The length field of the first message, or of one further on at a 4-byte boundary.
      const start = rng.chance(0.7) ? 0 : rng.below(Math.max(1, b.byteLength >>> 2)) << 2;
      setU32(b, start + HEADER_OFFSETS.length, interestingLength(rng, b.byteLength - start, limit));
      return b;
    }
    case 3:
      if (b.byteLength > HEADER_OFFSETS.version)
        b[HEADER_OFFSETS.version] = rng.pick([0, 1, 2, 3, 255, rng.below(256)]);
      return b;
    case 4:
      if (b.byteLength > HEADER_OFFSETS.flags) b[HEADER_OFFSETS.flags] = rng.below(256);
      return b;
    case 5:
      if (b.byteLength > HEADER_OFFSETS.subtype)
        b[rng.pick([HEADER_OFFSETS.type, HEADER_OFFSETS.subtype])] = rng.below(256);
      return b;
    case 6: {
      const ins = rng.bytes(rng.between(1, 16));
      const out = new Uint8Array(b.byteLength + ins.byteLength);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.byteLength);
      return out;
    }
    case 7: {
      const end = Math.min(b.byteLength, at + rng.between(1, 16));
      const out = new Uint8Array(b.byteLength - (end - at));
      out.set(b.subarray(0, at));
      out.set(b.subarray(end), at);
      return out;
    }
    case 8:
      return b.slice(0, at);
    case 9: {
      // Two vectors back to back, or one repeated: messages after messages.
      const other = rng.chance(0.5) ? b : rng.pick(corpus);
      const out = new Uint8Array(b.byteLength + other.byteLength);
      out.set(b);
      out.set(other, b.byteLength);
      return out;
    }
    default: {
      // A body field's length or count: somewhere past the header, a 16- or 32-bit value.
      if (b.byteLength <= HEADER_SIZE + 2) return b;
      const p = rng.between(HEADER_SIZE, b.byteLength - 2);
      const v = rng.pick([0, 1, 0xff, 0xffff, b.byteLength, rng.below(0x10000)]);
      b[p] = v >>> 8;
      b[p + 1] = v;
      return b;
    }
  }
}

/**
 * Makes one input: mostly a mutated vector (one, or two to four), some random bytes,
 * some random headers with the right magic, some bodies as large as `limit`.
 */
export function makeInput(rng: Prng, corpus: readonly Uint8Array[], limit: number): FuzzInput {
  const roll = rng.next();
  if (roll < 0.08) return { kind: 'random', bytes: rng.bytes(rng.below(rng.chance(0.5) ? 24 : 300)) };
  if (roll < 0.16) return { kind: 'random-header', bytes: randomHeader(rng, limit) };
  if (roll < 0.2) return { kind: 'big-body', bytes: bigBody(rng, corpus, limit) };
  let b: Uint8Array = Uint8Array.from(rng.pick(corpus));
  // Mostly one mutation, so that many inputs get past the header into the body decoders.
  const n = rng.chance(0.6) ? 1 : rng.between(2, 4);
  for (let i = 0; i < n; i++) b = mutateOnce(rng, b, corpus, limit);
  return { kind: 'mutated', bytes: b };
}
