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
  /** True when no case failed, errored or passed unexpectedly. */
  readonly conforming: boolean;
  /** Every case result, in run order. */
  readonly cases: readonly CaseResult[];
  /** Problems with the run itself (stale expected failures, regressions against a baseline). */
  readonly problems: readonly string[];
}

/** A zeroed summary. */
export function emptySummary(): Summary {
  return { pass: 0, fail: 0, warn: 0, skip: 0, xfail: 0, xpass: 0, error: 0 };
}
