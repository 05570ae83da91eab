/**
 * A small deterministic PRNG (mulberry32): the same seed gives the same runs on every
 * machine, so that a failing run is replayed from the seed and its index.
 *
 * @module
 */

/** A random source with the helpers the fuzzers need. */
export class Prng {
  private state: number;

  /** @param seed - any 32-bit integer. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator of run `index` of a fuzz with `seed`: runs are independent of each other. */
  static forRun(seed: number, index: number): Prng {
    // Mixes the index in (a multiplicative hash), so that neighbouring runs diverge at once.
    return new Prng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.below(256);
    return out;
  }
}

/** A seed from the clock, for runs that were not given one (it is printed). */
export function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 0x100000000)) >>> 0;
}
