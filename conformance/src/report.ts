/**
 * The conformance report: what a run produced, in the shape of the published JSON Schema
 * (`conformance/report.schema.json`). Every reporter renders this. The types are generated
 * from the schema into `gen/report-types.ts` (`npm run generate`); this module re-exports
 * them and adds the helpers.
 *
 * @module
 */

import type { CaseResult, ConformanceReport, Verdict } from './gen/report-types.js';

export type { CaseResult, ConformanceReport, Level, PeerRole, TranscriptEntry, Verdict } from './gen/report-types.js';

/**
 * A count per verdict: the report's `summary`, writable so that a run can count into it. A
 * report is built from it, so the compiler checks it against the schema's `summary`.
 */
export type Summary = Record<Verdict, number>;

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = ['pass', 'fail', 'warn', 'skip', 'xfail', 'xpass', 'error'];

/** A zeroed summary. */
export function emptySummary(): Summary {
  return { pass: 0, fail: 0, warn: 0, skip: 0, xfail: 0, xpass: 0, error: 0 };
}

/** MUST cases of the results that were skipped, as `id (role)`. */
export function mustCasesNotRun(cases: readonly CaseResult[]): string[] {
  return cases.filter((c) => c.level === 'MUST' && c.verdict === 'skip').map((c) => `${c.id} (${c.role})`);
}

/**
 * The run's verdict in words: `NOT CONFORMING`, `CONFORMING`, or, when MUST cases were
 * skipped, `CONFORMING (2 MUST cases not run: a (master), b (master))`. Never a bare
 * CONFORMING for an incomplete run.
 */
export function verdictLine(report: Pick<ConformanceReport, 'conforming' | 'mustNotRun'>): string {
  if (!report.conforming) return 'NOT CONFORMING';
  const n = report.mustNotRun.length;
  if (n === 0) return 'CONFORMING';
  return `CONFORMING (${n} MUST case${n === 1 ? '' : 's'} not run: ${report.mustNotRun.join(', ')})`;
}

/** Process exit codes of a conformance run (`kkcm conformance`). */
export const ConformanceExit = {
  /** Conforming, and every selected MUST case ran (or `--allow-skipped-must`). */
  conforming: 0,
  /** Not conforming: a case failed, passed unexpectedly, or the run has problems. */
  notConforming: 1,
  /** Usage error: bad arguments, or a selection that matches no case. */
  usage: 2,
  /** Harness error: a case could not be judged (the peer is unreachable, or gone). */
  harness: 3,
  /** Conforming but incomplete: MUST cases were skipped (exit 0 with `--allow-skipped-must`). */
  incomplete: 4,
} as const;

/**
 * The exit code of a run: 1 not conforming (a fail, an xpass, a problem), else 3 when a
 * case could not be judged, else 4 when MUST cases were skipped (0 with `allowSkippedMust`),
 * else 0.
 */
export function exitCodeOf(report: ConformanceReport, options: { allowSkippedMust?: boolean } = {}): number {
  if (report.summary.fail > 0 || report.summary.xpass > 0 || report.problems.length > 0)
    return ConformanceExit.notConforming;
  if (report.summary.error > 0) return ConformanceExit.harness;
  if (report.mustNotRun.length > 0 && options.allowSkippedMust !== true) return ConformanceExit.incomplete;
  return ConformanceExit.conforming;
}
