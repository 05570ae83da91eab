// Generated from conformance/report.schema.json by codec/tools/schema-types.ts (npm run generate).
// Do not edit: change the schema and regenerate.

/**
 * Case level: a failed MUST fails the run, a failed SHOULD warns.
 */
export type Level = 'MUST' | 'SHOULD' | 'MAY';
/**
 * Role the peer under test played.
 */
export type PeerRole = 'master' | 'backup';
/**
 * pass; fail; warn (a SHOULD not met); skip (with a reason); xfail (failed as expected); xpass (passed although expected to fail); error (the harness could not judge).
 */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skip' | 'xfail' | 'xpass' | 'error';
/**
 * What one run of `kkcm conformance` produced (`--format json`). The TypeScript types (`ConformanceReport` and the rest, in conformance/src/gen/report-types.ts) are generated from this schema. 64-bit integers inside decoded transcripts are decimal strings, bytes are hex.
 */
export interface ConformanceReport {
  /**
   * Optional pointer back to this schema.
   */
  readonly $schema?: string;
  /**
   * The tool that wrote the report.
   */
  readonly tool: 'kkcm';
  /**
   * Version of the kkcm package that ran the suite.
   */
  readonly version: string;
  /**
   * Version of the protocol spec the cases were judged against.
   */
  readonly specVersion: string;
  /**
   * What was tested: `embedded`, `connect HOST:PORT`, `listen HOST:PORT` or `exec CMD`.
   */
  readonly target: string;
  /**
   * Seed of the case order; 0 when cases ran in catalogue order.
   */
  readonly seed: number;
  /**
   * ISO 8601 date-time of the start of the run.
   */
  readonly startedAt: string;
  /**
   * Duration of the run, in ms.
   */
  readonly durationMs: number;
  /**
   * Count of cases per verdict.
   */
  readonly summary: {
    /**
     * Cases that passed.
     */
    readonly pass: number;
    /**
     * Cases that failed.
     */
    readonly fail: number;
    /**
     * SHOULD cases not met.
     */
    readonly warn: number;
    /**
     * Cases skipped, each with a reason.
     */
    readonly skip: number;
    /**
     * Cases that failed as expected.
     */
    readonly xfail: number;
    /**
     * Cases that passed although expected to fail.
     */
    readonly xpass: number;
    /**
     * Cases the harness could not judge.
     */
    readonly error: number;
  };
  /**
   * True when no case failed, errored or passed unexpectedly, and the run had no problems.
   */
  readonly conforming: boolean;
  /**
   * MUST cases that were skipped, as `id (role)`. A conforming run with any is incomplete: its verdict line reads `CONFORMING (N MUST cases not run: …)`, never a bare CONFORMING, and `kkcm conformance` exits 4 unless `--allow-skipped-must`.
   */
  readonly mustNotRun: readonly string[];
  /**
   * Every case result, in run order.
   */
  readonly cases: readonly CaseResult[];
  /**
   * Problems with the run itself: stale expected-failure entries, regressions against a baseline.
   */
  readonly problems: readonly string[];
}
/**
 * One line of a case's transcript: a message (or bytes) in or out on a channel.
 */
export interface TranscriptEntry {
  /**
   * Milliseconds since the case started.
   */
  readonly t: number;
  /**
   * out: the suite sent it; in: the peer sent it; note: the harness's own remark.
   */
  readonly dir: 'out' | 'in' | 'note';
  /**
   * Channel of the connection, or null before the HELLO named it.
   */
  readonly channel: string | null;
  /**
   * Connection number within the case (1, 2, …); 0 for a harness note tied to no connection.
   */
  readonly conn: number;
  /**
   * Hex of the bytes; abridged large messages end with … (see length).
   */
  readonly hex: string;
  /**
   * Byte length of the whole message.
   */
  readonly length: number;
  /**
   * Decoded form (name, header, body as JSON), a decode error, or the text of a note.
   */
  readonly decoded: unknown;
}
/**
 * Result of one case.
 */
export interface CaseResult {
  /**
   * Stable case id (never positional), e.g. handshake.version.overlap: no spaces, no @ or #.
   */
  readonly id: string;
  /**
   * Case title.
   */
  readonly title: string;
  /**
   * Ids of the spec requirements the case checks, e.g. KKCM-SESS-3.
   */
  readonly requirements: readonly string[];
  /**
   * Case level: a failed MUST fails the run, a failed SHOULD warns.
   */
  readonly level: Level;
  /**
   * Role the peer under test played.
   */
  readonly role: PeerRole;
  /**
   * Channels the case exercises.
   */
  readonly channels: readonly string[];
  /**
   * Case tags.
   */
  readonly tags: readonly string[];
  /**
   * The verdict.
   */
  readonly verdict: Verdict;
  /**
   * How long the case ran, in ms.
   */
  readonly durationMs: number;
  /**
   * Why the case was skipped, or what an error was.
   */
  readonly reason?: string;
  /**
   * For failures and warnings: what the spec allows.
   */
  readonly expected?: string;
  /**
   * For failures and warnings: what the peer did.
   */
  readonly observed?: string;
  /**
   * For negative cases: every outcome the spec allows.
   */
  readonly allowedOutcomes?: readonly string[];
  /**
   * Texts of the requirements, in the order of `requirements`.
   */
  readonly requirementTexts?: readonly string[];
  /**
   * For a fail: the requirements the peer broke when they are not simply the case's own: what the harness's wire oracle saw in this case (numbering, channel, version, a field of a reply), or a rule every case relies on (closing without ERROR breaks KKCM-CTL-2).
   */
  readonly violated?: readonly string[];
  /**
   * Texts of the `violated` requirements, in their order.
   */
  readonly violatedTexts?: readonly string[];
  /**
   * Both channels' messages, in order, with hex: for failures, warnings and errors.
   */
  readonly transcript?: readonly TranscriptEntry[];
  /**
   * One-line command that reruns just this case (empty when no command can, e.g. the target never started).
   */
  readonly rerun: string;
}
