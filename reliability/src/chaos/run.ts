/**
 * The chaos run: trials of two reference peers in separate processes ({@link WORKER_MAIN})
 * with the fault proxy between them, one after the other (trial.ts runs one), each from its
 * own seed; the oracle over what each trial left behind; a report with the recovery times
 * and the command that replays each failed trial. The trial's files (worker logs, event
 * files, stderr, `trial.json`) are kept in a directory when the trial fails.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Timers } from '../../../codec/src/index.js';
import type { PeerFaults } from '../../../reference-impl/src/index.js';
import { Prng } from '../prng.js';
import { checkTrial, FAULT_KINDS, type FaultKind, type Violation } from './oracle.js';
import { loopback, namespaces, type Topology } from './topology.js';
import { messageCounts, Trial, type FaultOutcome, type TrafficCounts } from './trial.js';
import { CHAOS_TIMING, type ChaosTiming } from './worker-process.js';

export { CHAOS_TIMING, type ChaosTiming } from './worker-process.js';

/** Scheduling slack in the recovery bound, ms: two busy cores, four processes. */
export const BOUND_SLACK_MS = 500;

/**
 * The recovery bound: from the moment a fault is cleared (the killed side restarted and
 * listening or connecting, configure or peer-up answered, the switchover answered) until both
 * sides are in one new session. The backup may sit in its largest backoff delay (with the
 * spec's jitter) when the fault clears, its next attempt may fail once (the other side is
 * still swapping roles) and wait that long again, and an attempt may hang until the
 * handshake timeout: `handshakeTimeoutMs + 2 × backoffMaxMs × (1 + jitter) + slack`.
 */
export function recoveryBoundMs(timing: ChaosTiming): number {
  return Math.ceil(timing.handshakeTimeoutMs + 2 * timing.backoffMaxMs * (1 + Timers.reconnectJitter) + BOUND_SLACK_MS);
}

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  /** Number of trials. */
  readonly trials: number;
  /** Seed of the run; trial i's seed is {@link trialSeed}(seed, i). */
  readonly seed: number;
  /** Fault kinds drawn from (default all). */
  readonly kinds?: readonly FaultKind[];
  /** Forces the fault kinds of every trial (to replay a trial). */
  readonly faults?: readonly FaultKind[];
  /** Run the two sides in two network namespaces joined by veth. */
  readonly netns?: boolean;
  /** Keep every trial's files, not only the failed ones'. */
  readonly keep?: boolean;
  /** Peer timers (default {@link CHAOS_TIMING}). */
  readonly timing?: ChaosTiming;
  /** Called after each trial (the CLI prints a line). */
  readonly onTrial?: (result: TrialResult) => void;
  /**
   * A deliberate fault of side b's peer ({@link PeerFaults}), for the harness's self-test
   * only: a run with one must find violations.
   */
  readonly peerFault?: keyof PeerFaults;
}

/** What one trial gave. */
export interface TrialResult {
  /** Index in the run. */
  readonly trial: number;
  /** The trial's seed. */
  readonly seed: number;
  /** Faults, in order: kind, target, whether it took effect, and the time to recover (ms, null when it kept the session). */
  readonly faults: readonly FaultOutcome[];
  /** What the oracle found. */
  readonly violations: readonly Violation[];
  /** Wall time of the trial, ms. */
  readonly durationMs: number;
  /** Messages sent, delivered, and confirmed in the trial (both sides). */
  readonly messages: TrafficCounts;
  /** Where its files are, when kept. */
  readonly dir: string | null;
  /** The command that replays it. */
  readonly replay: string;
}

/** The report of a run: the `--json` object. */
export interface ChaosReport {
  /** Trials run. */
  readonly trials: number;
  /** Seed of the run. */
  readonly seed: number;
  /** Faults that took effect, by kind. */
  readonly faults: Record<string, number>;
  /** Faults that did not take effect (the proxy found nothing to hit), by kind. */
  readonly notApplied: Record<string, number>;
  /** Every violation of every trial. */
  readonly violations: readonly Violation[];
  /** The recovery bound, ms. */
  readonly boundMs: number;
  /** True with namespaces; `skipped: <reason>` when they were asked for and are not permitted. */
  readonly netns: boolean | string;
  /** Wall time of the run, ms. */
  readonly durationMs: number;
  /** Mean and longest trial, ms. */
  readonly trialMs: { readonly mean: number; readonly max: number };
  /** Time from a fault's clearing to the new session, over the faults that ended a session, ms. */
  readonly recoveryMs: { readonly count: number; readonly median: number; readonly p95: number; readonly max: number };
  /** Traffic of all trials, both sides. */
  readonly messages: { readonly sent: number; readonly delivered: number; readonly confirmed: number };
  /** Failed trials: their seed, the command that replays each, and where the files are. */
  readonly failed: readonly {
    readonly trial: number;
    readonly seed: number;
    readonly replay: string;
    readonly dir: string | null;
  }[];
  /** Directory of the kept files (null when nothing was kept). */
  readonly dir: string | null;
}

/** The seed of trial `index` of a run with `seed`: trial 0 has the run's own seed. */
export function trialSeed(seed: number, index: number): number {
  return index === 0 ? seed >>> 0 : Math.floor(Prng.forRun(seed, index).next() * 0x100000000) >>> 0;
}

/** The fault kinds of trial `index`: round-robin over `kinds` first (every kind early), sometimes a second one. */
export function trialKinds(index: number, seed: number, kinds: readonly FaultKind[]): FaultKind[] {
  const p = new Prng(trialSeed(seed, index) ^ 0x5bd1e995);
  const first = kinds[index % kinds.length]!;
  return p.chance(0.25) ? [first, p.pick(kinds)] : [first];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The command that replays a trial. */
function replayCommand(seed: number, kinds: readonly FaultKind[], options: ChaosOptions): string {
  return `npm run chaos -- --trials 1 --seed ${seed} --faults ${kinds.join(',')}${options.netns === true ? ' --netns' : ''}${options.peerFault !== undefined ? ` --peer-fault ${options.peerFault}` : ''}`;
}

/**
 * Runs the trials one after the other.
 *
 * @throws Error for an unknown fault kind in `kinds` or `faults`.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const timing = options.timing ?? CHAOS_TIMING;
  const boundMs = recoveryBoundMs(timing);
  const kinds = options.kinds ?? FAULT_KINDS;
  for (const k of [...kinds, ...(options.faults ?? [])])
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new Error(`unknown fault kind ${JSON.stringify(k)}; known: ${FAULT_KINDS.join(', ')}`);
  const started = Date.now();
  const runDir = mkdtempSync(join(tmpdir(), 'kkcm-chaos-'));
  const empty = (): ChaosReport => ({
    trials: 0,
    seed: options.seed,
    faults: {},
    notApplied: {},
    violations: [],
    boundMs,
    netns: false,
    durationMs: 0,
    trialMs: { mean: 0, max: 0 },
    recoveryMs: { count: 0, median: 0, p95: 0, max: 0 },
    messages: { sent: 0, delivered: 0, confirmed: 0 },
    failed: [],
    dir: null,
  });
  let topology: Topology;
  if (options.netns === true) {
    const t = await namespaces(`c${process.pid % 10000}`);
    if ('skip' in t) {
      rmSync(runDir, { recursive: true, force: true });
      return { ...empty(), netns: `skipped: ${t.skip}` };
    }
    topology = t;
  } else {
    topology = loopback();
  }
  const faults: Record<string, number> = {};
  const notApplied: Record<string, number> = {};
  const violations: Violation[] = [];
  const failed: ChaosReport['failed'][number][] = [];
  const durations: number[] = [];
  const recoveries: number[] = [];
  const messages = { sent: 0, delivered: 0, confirmed: 0 };
  let kept = false;
  try {
    for (let i = 0; i < options.trials; i++) {
      const seed = trialSeed(options.seed, i);
      const trialKindsList = options.faults ?? trialKinds(i, options.seed, kinds);
      const dir = join(runDir, `t${i}`);
      mkdirSync(dir);
      const t0 = Date.now();
      const { record, results } = await new Trial(
        i,
        seed,
        trialKindsList,
        dir,
        topology,
        timing,
        boundMs,
        options.peerFault,
      ).run();
      const found = checkTrial(record);
      const durationMs = Date.now() - t0;
      durations.push(durationMs);
      for (const r of results) {
        if (r.applied) faults[r.kind] = (faults[r.kind] ?? 0) + 1;
        else notApplied[r.kind] = (notApplied[r.kind] ?? 0) + 1;
        if (r.recoveryMs !== null) recoveries.push(r.recoveryMs);
      }
      const counts = messageCounts(record);
      messages.sent += counts.sent;
      messages.delivered += counts.delivered;
      messages.confirmed += counts.confirmed;
      violations.push(...found);
      const keep = found.length > 0 || options.keep === true;
      const { incarnations, ...meta } = record;
      if (keep) {
        writeFileSync(
          join(dir, 'trial.json'),
          `${JSON.stringify({ ...meta, incarnations: incarnations.map(({ logText: _l, eventsText: _e, ...rest }) => rest), violations: found }, null, 2)}\n`,
        );
        kept = true;
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
      const replay = replayCommand(seed, trialKindsList, options);
      if (found.length > 0) failed.push({ trial: i, seed, replay, dir: keep ? dir : null });
      options.onTrial?.({
        trial: i,
        seed,
        faults: results,
        violations: found,
        durationMs,
        messages: counts,
        dir: keep ? dir : null,
        replay,
      });
    }
  } finally {
    await topology.close();
    if (!kept) rmSync(runDir, { recursive: true, force: true });
  }
  const sortedRec = [...recoveries].sort((x, y) => x - y);
  return {
    trials: options.trials,
    seed: options.seed,
    faults,
    notApplied,
    violations,
    boundMs,
    netns: options.netns === true,
    durationMs: Date.now() - started,
    trialMs: {
      mean: durations.length === 0 ? 0 : Math.round(durations.reduce((s, d) => s + d, 0) / durations.length),
      max: Math.max(0, ...durations),
    },
    recoveryMs: {
      count: sortedRec.length,
      median: quantile(sortedRec, 0.5),
      p95: quantile(sortedRec, 0.95),
      max: sortedRec[sortedRec.length - 1] ?? 0,
    },
    messages,
    failed,
    dir: kept ? runDir : null,
  };
}
