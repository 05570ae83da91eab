/**
 * Timing for the codec benchmark: warm-up, then rounds of fixed duration, interleaved across
 * cases so that machine noise (frequency, neighbours) falls on every case alike; the result
 * is the median of the rounds.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';

/** One benchmark case. */
export interface BenchCase {
  /** Case name, `<operation>/<message>` (`decode/prl.packet 256B`). */
  readonly name: string;
  /** Implementation measured: `kkcm` (ours) or the baseline's name. */
  readonly impl: string;
  /** Operations one `run(1)` performs (messages per iteration). */
  readonly opsPerIteration: number;
  /**
   * Runs `iterations` iterations. Every implementation has its own loop, so that each call
   * site stays monomorphic, and every result is stored where the JIT cannot drop it.
   */
  readonly run: (iterations: number) => void;
}

/** Timing options. */
export interface MeasureOptions {
  /** Warm-up time per case, in ms. */
  readonly warmupMs: number;
  /** Duration of one round of one case, in ms. */
  readonly roundMs: number;
  /** Rounds per case; the median is reported. */
  readonly rounds: number;
  /** Smoke mode: a handful of iterations per case, no warm-up; numbers are meaningless. */
  readonly smoke: boolean;
}

/** Measured throughput of one case. */
export interface CaseResult {
  readonly name: string;
  readonly impl: string;
  /** Median throughput, operations (messages) per second. */
  readonly opsPerSec: number;
  /** Median time per operation, in nanoseconds. */
  readonly nsPerOp: number;
  /** Throughput of every round, ops/s. */
  readonly rounds: readonly number[];
  /** Spread of the rounds: (max - min) / median. */
  readonly spread: number;
}

const SMOKE_ITERATIONS = 5;

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `c` for about `ms` milliseconds in batches of `batch` iterations; returns ops/s. */
function timed(c: BenchCase, batch: number, ms: number): number {
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    c.run(batch);
    iterations += batch;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (iterations * c.opsPerIteration * 1000) / elapsed;
}

/** Iterations per batch such that one batch takes about a millisecond. */
function calibrate(c: BenchCase): number {
  let batch = 1;
  for (;;) {
    const start = performance.now();
    c.run(batch);
    if (performance.now() - start >= 1 || batch >= 1 << 24) return batch;
    batch *= 2;
  }
}

/** Measures every case; rounds are interleaved across cases. */
export function measure(cases: readonly BenchCase[], options: MeasureOptions): CaseResult[] {
  const perRound: number[][] = cases.map(() => []);
  if (options.smoke) {
    cases.forEach((c, i) => {
      const start = performance.now();
      c.run(SMOKE_ITERATIONS);
      // A clock that does not move would give an infinite rate; count it as one microsecond.
      const elapsed = Math.max(performance.now() - start, 0.001);
      perRound[i]!.push((SMOKE_ITERATIONS * c.opsPerIteration * 1000) / elapsed);
    });
  } else {
    const batches = cases.map((c) => {
      const batch = calibrate(c);
      timed(c, batch, options.warmupMs);
      return batch;
    });
    for (let r = 0; r < options.rounds; r++) {
      cases.forEach((c, i) => perRound[i]!.push(timed(c, batches[i]!, options.roundMs)));
    }
  }
  return cases.map((c, i) => {
    const rounds = perRound[i]!;
    const opsPerSec = median(rounds);
    return {
      name: c.name,
      impl: c.impl,
      opsPerSec,
      nsPerOp: 1e9 / opsPerSec,
      rounds,
      spread: (Math.max(...rounds) - Math.min(...rounds)) / opsPerSec,
    };
  });
}
