/**
 * What one chaos trial leaves behind, as the driver records it and the oracle reads it: the
 * two sides and their node ids, the fault kinds, and the records of each fault, each process
 * (incarnation) of a side, the clean stop and the whole trial. Data only; the oracle's rules
 * over it are in `oracle.ts`.
 *
 * @module
 */
import type { Role } from '../../../reference-impl/src/index.js';

/** A side of a trial. Node ids: a = 1, b = 2. */
export type NodeName = 'a' | 'b';

/** Node id of each side (the worker's `--node-id`). */
export const NODE_IDS: Readonly<Record<NodeName, number>> = { a: 1, b: 2 };

/** Fault kinds: process-level ones, then those of the fault proxy. */
export const PROCESS_FAULT_KINDS = ['kill-master', 'kill-backup', 'switchover', 'deconfigure', 'peer-down'] as const;
/** Fault kinds injected by the proxy between the two sides. */
export const PROXY_FAULT_KINDS = [
  'reset',
  'half-close',
  'stall-reader',
  'stall-writer',
  'partial-close',
  'garbage',
  'drop-channel',
] as const;
/** Every fault kind. */
export const FAULT_KINDS = [...PROCESS_FAULT_KINDS, ...PROXY_FAULT_KINDS] as const;

/** A fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What the driver did for one fault, and when (ms since the epoch, the workers' clock). */
export interface FaultRecord {
  /** Kind. */
  readonly kind: FaultKind;
  /**
   * The side the fault is aimed at: the killed side, the side told to switch over, to
   * deconfigure or that the other is down; for proxy faults the side the damaged stream
   * goes to (`toward`), null when the fault hits both alike (reset, drop-channel).
   */
  readonly target: NodeName | null;
  /** Fault parameters (channel, toward, ms, bytes…), for the report. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Roles before the fault. */
  readonly rolesBefore: Readonly<Record<NodeName, Role>>;
  /** Session each side had up just before the fault (null: none). */
  readonly sessionBefore: Readonly<Record<NodeName, string | null>>;
  /** False when the fault did not take effect (the proxy found no traffic…): nothing may change. */
  readonly applied: boolean;
  /** What the injector said. */
  readonly text: string;
  /** When the fault began. */
  readonly startedAt: number;
  /** When it was over: the killed side restarted, configure or peer-up done, a stall ended. */
  readonly clearedAt: number;
  /** When the driver saw both sides up again in one session (or, for a fault that keeps it, `clearedAt`). */
  readonly settledAt: number;
}

/** One process of a side: the worker's log and the peer's event file, as text. */
export interface IncarnationRecord {
  /** The side it ran. */
  readonly node: NodeName;
  /** Incarnation number (1 for the first process of the side). */
  readonly inc: number;
  /** Role it started in. */
  readonly role: Role;
  /** The worker's log (JSON Lines). */
  readonly logText: string;
  /** The peer's event file (JSON Lines). */
  readonly eventsText: string;
  /** Killed with SIGKILL by a fault. */
  readonly killed: boolean;
  /** How it exited; null when the driver never saw it exit. */
  readonly exit: { readonly code: number | null; readonly signal: string | null } | null;
}

/** The clean stop at the end of a trial: SIGTERM to one side, its exit, then the other. */
export interface StopRecord {
  /** Order of the SIGTERMs. */
  readonly order: readonly [NodeName, NodeName];
  /** When the first SIGTERM was sent. */
  readonly startedAt: number;
  /** Session each side had up just before. */
  readonly sessionBefore: Readonly<Record<NodeName, string | null>>;
}

/** Everything one trial left behind. */
export interface TrialRecord {
  /** Index of the trial in its run. */
  readonly trial: number;
  /** The trial's seed (replays it). */
  readonly seed: number;
  /**
   * The recovery bound, ms: how long the driver waits for a new session, and the figure the
   * report compares the measured recoveries with. The oracle does not judge time.
   */
  readonly boundMs: number;
  /** Every process, in start order. */
  readonly incarnations: readonly IncarnationRecord[];
  /** The faults, in order. */
  readonly faults: readonly FaultRecord[];
  /** Null when the trial did not get to its stop (a driver error). */
  readonly stop: StopRecord | null;
  /** What went wrong in the driver itself (no first session, an admin command failed…). */
  readonly driverErrors: readonly string[];
}
