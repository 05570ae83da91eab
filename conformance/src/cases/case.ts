/**
 * What a conformance case is: a stable dotted id, the requirements it checks, its level,
 * the roles the peer may play in it and the sides (listening, connecting) it may be on, the
 * channels and tags, and its body.
 *
 * @module
 */
import type { ChannelName } from '../../../codec/src/index.js';
import type { CaseContext } from '../harness/context.js';
import type { PeerSide } from '../harness/target.js';
import type { Topology } from '../../../reference-impl/src/peer-options.js';
import type { Level, PeerRole } from '../report.js';

/**
 * What a case needs from the peer or the target beyond the protocol's MUSTs. A case is
 * skipped, with the reason, when it is not there:
 * - `conformanceProbe`: the peer advertises the conformance probe (the suite refuses to send
 *   a probe message in a case that does not declare it);
 * - `deliveryAck`: the peer advertises deliveryAck;
 * - `deliberateStop`: the suite can ask the peer to stop (embedded peer, or `--exec`, where
 *   it sends SIGTERM).
 */
export type CaseNeed = 'conformanceProbe' | 'deliveryAck' | 'deliberateStop';

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
  /** Protocol roles the peer under test can play in this case. */
  readonly roles: readonly PeerRole[];
  /**
   * Sides the peer under test can be on in this case (default both): `listen` for cases
   * about the side that answers HELLO, `connect` for the side that sends it. Who listens is
   * the topology's rule, not the role's [KKCM-SESS-1], so a case is sorted by both.
   */
  readonly sides?: readonly PeerSide[];
  /**
   * Topologies whose own rules the case checks (`dual-re`: the slot rule). Absent: every
   * peer. Present: only a peer the run knows to be in one of them (the embedded peer, or
   * `--topology`); other peers are not judged by it, since the rule is not theirs.
   */
  readonly topologies?: readonly Topology[];
  /** Channels the case exercises. */
  readonly channels: readonly ChannelName[];
  /** Tags for selection (`--tag`): `framing`, `negative`, `probe`… */
  readonly tags: readonly string[];
  /** What the case needs from the peer or the target; without it the case is skipped with the reason. */
  readonly needs?: readonly CaseNeed[];
  /**
   * Error codes (`ERR_BAD_COUNT`) and HELLO-REJECT reasons (`roleConflict`) a correct peer
   * answers this case with: the catalogue's proof that every code and reason of the spec is
   * produced by at least one case.
   */
  readonly provokes?: readonly string[];
  /** For negative cases: exactly the outcomes the spec allows, printed in reports. */
  readonly allowedOutcomes?: readonly string[];
  /** Budget for the whole case before it is judged an error, in ms (scaled). */
  readonly timeoutMs?: number;
  /** The case body: throws CaseFailure or CaseSkip, returns on pass. */
  run(ctx: CaseContext): Promise<void>;
}

/** Both roles. */
export const BOTH: readonly PeerRole[] = ['master', 'backup'];
/** Both sides. */
export const BOTH_SIDES: readonly PeerSide[] = ['listen', 'connect'];
/** The peer listens (the suite connects and sends HELLO). */
export const LISTENING: readonly PeerSide[] = ['listen'];
/** The peer connects (it sends HELLO; the suite answers). */
export const CONNECTING: readonly PeerSide[] = ['connect'];
/** Both channels. */
export const CHANNELS: readonly ChannelName[] = ['send', 'receive'];

/** Defines a case (identity function that checks the shape at compile time). */
export function defineCase(c: ConformanceCase): ConformanceCase {
  return c;
}
