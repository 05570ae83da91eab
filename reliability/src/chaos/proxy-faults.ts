/**
 * The fault proxy's vocabulary, shared by the proxy, its pairs and directions, its client
 * and the chaos run: the faults it injects (and their shape check, for faults read from
 * JSON), what a fault hit, and how live and closed pairs are reported. Types and one check,
 * no behaviour: see proxy.ts for what each fault does.
 *
 * @module
 */
import type { ChannelName } from '../../../codec/src/index.js';

export type { ChannelName };

/** A direction of a pair, named for the side that receives the bytes. */
export type Toward = 'listener' | 'connector';

/**
 * A fault to inject. `channel` unset: every live pair of the newest session (see the module
 * documentation). `toward` names the side that receives the damaged stream.
 */
export type ProxyFault =
  /** RST on both legs of the pairs. */
  | { readonly kind: 'reset'; readonly channel?: ChannelName }
  /** FIN toward one side (its leg is ended); the other direction keeps flowing. */
  | { readonly kind: 'half-close'; readonly channel?: ChannelName; readonly toward: Toward }
  /**
   * Stop reading the leg that feeds `toward` for `ms`, so that backpressure reaches the
   * sender through TCP's window; bytes already read are still forwarded.
   */
  | { readonly kind: 'stall-reader'; readonly channel?: ChannelName; readonly toward: Toward; readonly ms: number }
  /**
   * Forward the first half of the next message toward one side, then hold the rest (and
   * stop reading its source) for `ms`, then resume.
   */
  | { readonly kind: 'stall-writer'; readonly channel?: ChannelName; readonly toward: Toward; readonly ms: number }
  /** Forward the first half of the next message toward one side, then FIN both legs. */
  | { readonly kind: 'partial-close'; readonly channel?: ChannelName; readonly toward: Toward }
  /** Write `bytes` random bytes (from `seed`) toward one side at the next message boundary. */
  | {
      readonly kind: 'garbage';
      readonly channel?: ChannelName;
      readonly toward: Toward;
      readonly bytes: number;
      readonly seed: number;
    }
  /** RST on both legs of one channel's pairs, the other channel untouched. */
  | { readonly kind: 'drop-channel'; readonly channel: ChannelName };

/** Per-direction counters of a pair. */
export interface DirectionCounts {
  /** Toward the listener (what the connector sent). */
  readonly towardListener: number;
  /** Toward the connector (what the listener sent). */
  readonly towardConnector: number;
}

/** A live pair, as `FaultProxy.connections` reports it. Plain JSON. */
export interface ProxyConnectionInfo {
  /** Pair id, unique in this proxy, in accept order (from 1). */
  readonly id: number;
  /** Name of the listener it arrived on. */
  readonly listener: string;
  /** Channel named by its HELLO, null until the HELLO was seen (or when it was not one). */
  readonly channel: ChannelName | null;
  /** Session id of its HELLO (decimal), null until seen. */
  readonly sessionId: string | null;
  /** The connecting peer's address, `host:port`. */
  readonly connector: string;
  /** The target's address, `host:port`. */
  readonly target: string;
  /** Bytes forwarded (garbage excluded). */
  readonly bytes: DirectionCounts;
  /** Message headers read. */
  readonly messages: DirectionCounts;
  /** Whether message boundaries are still known in each direction. */
  readonly tracking: { readonly towardListener: boolean; readonly towardConnector: boolean };
  /** Whether a stall (stall-reader, or the hold of a stall-writer) is in progress in each direction. */
  readonly stalled: { readonly towardListener: boolean; readonly towardConnector: boolean };
  /** `connecting` (to the target), `open`, or `closing` (a fault or a leg is ending it). */
  readonly state: 'connecting' | 'open' | 'closing';
}

/** How a pair ended: its first cause. */
export interface PairEnd {
  /**
   * `fault`: a fault closed it (`fault` says which); `reset`: a leg failed (RST, `error`
   * names it) and the other was reset; `end`: both legs closed cleanly, `side` sent the
   * first FIN; `connect-failed`: the target refused; `proxy-closed`: `FaultProxy.close`.
   */
  readonly cause: 'fault' | 'reset' | 'end' | 'connect-failed' | 'proxy-closed';
  /** The leg that ended first, when one did. */
  readonly side: Toward | null;
  /** Kind of the fault, for `fault`. */
  readonly fault: ProxyFault['kind'] | null;
  /** Error code of the failed leg (`ECONNRESET`), for `reset` and `connect-failed`. */
  readonly error: string | null;
}

/** A pair that closed, as `FaultProxy.closed` reports it. */
export type ClosedConnectionInfo = Omit<ProxyConnectionInfo, 'state' | 'stalled'> & { readonly end: PairEnd };

/** The message a cut (stall-writer, partial-close) fell in. */
export interface CutMessage {
  /** Its header fields. */
  readonly seq: number;
  readonly type: number;
  readonly subtype: number;
  /** Its length, header included. */
  readonly length: number;
  /** Bytes of it forwarded before the cut. */
  readonly forwarded: number;
}

/** One pair a fault took effect on. */
export interface FaultHit {
  /** The pair, as it was when the fault took effect. */
  readonly connection: ProxyConnectionInfo;
  /** For stall-writer and partial-close: the message that was cut (absent when untracked). */
  readonly cut?: CutMessage;
  /** For garbage: the stream offset toward the damaged side where the bytes went in. */
  readonly at?: number;
}

/**
 * What `FaultProxy.inject` resolves with. `none-matched`: no live pair of the newest
 * session on that channel. `no-traffic`: pairs matched, but none carried a message within
 * the proxy's `faultWaitMs` (faults that need one). `busy`: every matched direction was
 * already in the middle of a stall or an armed fault.
 */
export interface FaultResult {
  readonly outcome: 'applied' | 'none-matched' | 'no-traffic' | 'busy';
  /** Pairs the fault took effect on (empty unless `applied`). */
  readonly hits: readonly FaultHit[];
  /** What happened, for people. */
  readonly text: string;
}

/**
 * Checks a fault's shape (it may come from JSON).
 *
 * @throws Error naming the first problem.
 */
export function checkFault(fault: ProxyFault): void {
  const f = fault as Partial<Record<string, unknown>>;
  const kinds = ['reset', 'half-close', 'stall-reader', 'stall-writer', 'partial-close', 'garbage', 'drop-channel'];
  if (typeof f !== 'object' || f === null || typeof f.kind !== 'string' || !kinds.includes(f.kind))
    throw new Error(`fault.kind must be one of ${kinds.join(', ')}`);
  if (f.channel !== undefined && f.channel !== 'send' && f.channel !== 'receive')
    throw new Error('fault.channel must be send or receive');
  if (f.kind === 'drop-channel' && f.channel === undefined) throw new Error('drop-channel needs a channel');
  if (f.kind !== 'reset' && f.kind !== 'drop-channel' && f.toward !== 'listener' && f.toward !== 'connector')
    throw new Error(`${f.kind} needs toward: listener or connector`);
  const int = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if ((f.kind === 'stall-reader' || f.kind === 'stall-writer') && !int(f.ms, 3_600_000))
    throw new Error(`${f.kind} needs ms: an integer from 0 to 3600000`);
  if (f.kind === 'garbage' && (!int(f.bytes, 1 << 20) || !int(f.seed, 0xffffffff)))
    throw new Error('garbage needs bytes (0 to 1048576) and seed (a 32-bit unsigned integer)');
}
