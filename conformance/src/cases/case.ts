/**
 * What a conformance case is: a stable dotted id, the requirements it checks, its level,
 * the roles the peer may play in it, the channels and tags, and its body.
 *
 * @module
 */
import type { ChannelName } from '../../../codec/src/index.js';
import type { CaseContext } from '../harness/context.js';
import type { Level, PeerRole } from '../report.js';

/** One conformance case. */
export interface ConformanceCase {
  /** Stable, dotted, meaningful id (`framing.split.byte-by-byte`); never positional. */
  readonly id: string;
  /** What the case checks, as a sentence about the peer's behaviour. */
  readonly title: string;
  /** Requirement ids it checks (`KKCM-FRM-1`). */
  readonly requirements: readonly string[];
  /** MUST cases fail; SHOULD and MAY cases warn. */
  readonly level: Level;
  /** Roles the peer under test can play in this case. */
  readonly roles: readonly PeerRole[];
  /** Channels the case exercises. */
  readonly channels: readonly ChannelName[];
  /** Tags for selection (`--tag`): `framing`, `negative`, `probe`… */
  readonly tags: readonly string[];
  /** For negative cases: exactly the outcomes the spec allows, printed in reports. */
  readonly allowedOutcomes?: readonly string[];
  /** Budget for the whole case before it is judged an error, in ms (scaled). */
  readonly timeoutMs?: number;
  /** The case body: throws CaseFailure or CaseSkip, returns on pass. */
  run(ctx: CaseContext): Promise<void>;
}

/** Both roles. */
export const BOTH: readonly PeerRole[] = ['master', 'backup'];
/** Both channels. */
export const CHANNELS: readonly ChannelName[] = ['send', 'receive'];

/** Defines a case (identity function that checks the shape at compile time). */
export function defineCase(c: ConformanceCase): ConformanceCase {
  return c;
}
