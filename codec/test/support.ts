/**
 * Helpers shared by the codec tests.
 */
import type { Test } from 'tap';
import fc from 'fast-check';
import { CodecError } from '../src/index.js';

/** Seed of every property run: fixed so that CI is reproducible, overridden with FC_SEED. */
export const SEED = Number(process.env.FC_SEED ?? 0x4b4b434d);

/** One tap assertion per property: seed and run count in the title, counterexample on failure. */
export function holds<T>(
  t: Test,
  title: string,
  arb: fc.Arbitrary<T>,
  predicate: (v: T) => boolean | void,
  numRuns = 300,
): void {
  const details = fc.check(fc.property(arb, predicate), { numRuns, seed: SEED });
  t.ok(
    !details.failed,
    `${title} (${details.numRuns} runs, seed ${SEED})`,
    details.failed ? { diag: fc.defaultReportMessage(details) } : {},
  );
}

/** The code of the CodecError `fn` throws, a marker when it throws something else, or undefined. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}
