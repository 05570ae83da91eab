/**
 * The conformance report: what a run produced, in the shape of the published JSON Schema
 * (`conformance/report.schema.json`). Every reporter renders this.
 *
 * @module
 */

/** Outcome of one case. */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skip' | 'xfail' | 'xpass' | 'error';

/** Every verdict, in report order. */
export const VERDICTS: readonly Verdict[] = ['pass', 'fail', 'warn', 'skip', 'xfail', 'xpass', 'error'];

/** Requirement level. */
export type Level = 'MUST' | 'SHOULD' | 'MAY';

/** Role the peer under test plays. */
export type PeerRole = 'master' | 'backup';

/** One line of a case's transcript: a message (or bytes) in or out on a channel. */
export interface TranscriptEntry {
  /** Milliseconds since the case started. */
  readonly t: number;
  /** `out`: the suite sent it; `in`: the peer sent it; `note`: the harness's own remark. */
  readonly dir: 'out' | 'in' | 'note';
  /** Channel of the connection, or null before the HELLO named it. */
  readonly channel: string | null;
  /** Connection number within the case (1, 2, …). */
  readonly conn: number;
  /** Hex of the bytes (may be abridged for large messages; see `length`). */
  readonly hex: string;
  /** Byte length. */
  readonly length: number;
  /** Decoded form (name, header, body in JSON form), or a decode error, or a note. */
  readonly decoded: unknown;
}

/** Result of one case. */
export interface CaseResult {
  /** Case id. */
  readonly id: string;
  /** Case title. */
  readonly title: string;
  /** Requirement ids the case checks. */
  readonly requirements: readonly string[];
  /** Case level: a failed MUST fails the run, a failed SHOULD warns. */
  readonly level: Level;
  /** Role the peer played in this run of the case. */
  readonly role: PeerRole;
  /** Channels the case exercises. */
  readonly channels: readonly string[];
  /** Case tags. */
  readonly tags: readonly string[];
  /** The verdict. */
  readonly verdict: Verdict;
  /** How long the case ran, in ms. */
  readonly durationMs: number;
  /** Why a case was skipped, or what an error was. */
  readonly reason?: string;
  /** For failures and warnings: what the spec allows. */
  readonly expected?: string;
  /** For failures and warnings: what the peer did. */
  readonly observed?: string;
  /** For negative cases: the set of outcomes the spec allows, printed. */
  readonly allowedOutcomes?: readonly string[];
  /**
   * For a fail: the requirements the peer broke, when they are not simply the case's own:
   * what the harness's wire oracle saw (a numbering, channel, version or field error, in any
   * case), or a rule every case relies on (closing without ERROR breaks KKCM-CTL-2).
   */
  readonly violated?: readonly string[];
  /** Texts of the `violated` requirements, aligned with them. */
  readonly violatedTexts?: readonly string[];
  /** Requirement texts, for failures. */
  readonly requirementTexts?: readonly string[];
  /** Both channels' messages, in order, with hex: for failures, warnings and errors. */
  readonly transcript?: readonly TranscriptEntry[];
  /** One-line command that reruns just this case. */
  readonly rerun: string;
}

/** A count per verdict. */
export type Summary = Record<Verdict, number>;

/** A whole run. */
export interface ConformanceReport {
  /** The tool that wrote the report. */
  readonly tool: 'kkcm';
  /** kkcm version. */
  readonly version: string;
  /** Version of the spec the suite checks. */
  readonly specVersion: string;
  /** What was tested: `embedded`, `connect HOST:PORT`, `listen HOST:PORT`, `exec CMD`. */
  readonly target: string;
  /** Seed of the case order (0 when cases ran in catalogue order). */
  readonly seed: number;
  /** Start of the run, ISO 8601. */
  readonly startedAt: string;
  /** Duration of the run, in ms. */
  readonly durationMs: number;
  /** Count of cases per verdict. */
  readonly summary: Summary;
  /** True when no case failed, errored or passed unexpectedly. See `mustNotRun`: conforming is not complete. */
  readonly conforming: boolean;
  /**
   * MUST cases that were skipped (`id (role)`): the run did not check them, so a conforming
   * run with any is incomplete. It never shows as a bare CONFORMING ({@link verdictLine}).
   */
  readonly mustNotRun: readonly string[];
  /** Every case result, in run order. */
  readonly cases: readonly CaseResult[];
  /** Problems with the run itself (stale expected failures, regressions against a baseline). */
  readonly problems: readonly string[];
}

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
