/**
 * The chaos driver: trials of two reference peers in separate processes ({@link WORKER_MAIN})
 * with the fault proxy between them, live traffic on all four clients, faults during the
 * traffic, recovery, a clean stop, and the oracle over what both sides left behind.
 *
 * One trial, from its seed alone (plus the list of its fault kinds):
 *
 * 1. fresh processes: the proxy (two listeners: one forwards to a's listening port, one to
 *    b's), side a as master, side b as backup; each side connects through the proxy to the
 *    other's listener, so the roles can swap and every byte still crosses the proxy;
 * 2. the first session comes up, traffic runs for 150–350 ms;
 * 3. for each fault: the state before is read, the fault injected and cleared, the driver
 *    waits for a new session when the fault ends it, then traffic runs for 200–400 ms;
 * 4. SIGTERM to one side, its exit, SIGTERM to the other, its exit; the proxy closes;
 * 5. {@link checkTrial}.
 *
 * The trial's files (worker logs, event files, stderr, `trial.json`) are kept in a directory
 * when the trial fails.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Timers } from '../../../codec/src/index.js';
import { type PeerFaults, type Role } from '../../../reference-impl/src/index.js';
import { createNetnsPair } from '../netns.js';
import { Prng } from '../prng.js';
import {
  checkTrial,
  expectedEnd,
  FAULT_KINDS,
  type FaultKind,
  type FaultRecord,
  type NodeName,
  type StopRecord,
  type TrialRecord,
  type Violation,
} from './oracle.js';
import { ProxyProcess } from './proxy-client.js';
import type { ProxyFault } from './proxy.js';
import type { WorkerCounters } from './worker.js';
import { CHAOS_TIMING, freePort, WorkerProcess, type ChaosTiming } from './worker-process.js';

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

/** Stall durations, ms: well under the dead-connection time. */
const STALL_MS = { min: 200, max: 800 } as const;
/** Bound of every wait of the driver (a process start, a session, an exit), ms. */
const WAIT_MS = 15_000;
/** Time the proxy waits for a message for the faults that need one, ms. */
const PROXY_FAULT_WAIT_MS = 2000;
const POLL_MS = 20;

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
  readonly faults: readonly {
    readonly kind: FaultKind;
    readonly target: NodeName | null;
    readonly applied: boolean;
    readonly text: string;
    readonly recoveryMs: number | null;
  }[];
  /** What the oracle found. */
  readonly violations: readonly Violation[];
  /** Wall time of the trial, ms. */
  readonly durationMs: number;
  /** Messages sent, delivered, and confirmed in the trial (both sides). */
  readonly messages: { readonly sent: number; readonly delivered: number; readonly confirmed: number };
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

/** How the processes are placed: argv prefixes and addresses. */
interface Topology {
  readonly prefix: Readonly<Record<NodeName | 'proxy', readonly string[]>>;
  /** Address each side listens on (and the proxy connects to). */
  readonly host: Readonly<Record<NodeName, string>>;
  /** Address the proxy listens on. */
  readonly proxyHost: string;
  /** A listening port for each side. */
  ports(trial: number): Promise<Record<NodeName, number>>;
  close(): Promise<void> | void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Snapshot {
  readonly roles: Record<NodeName, Role>;
  readonly session: Record<NodeName, string | null>;
}

/** One trial. */
class Trial {
  private readonly prng: Prng;
  private readonly sides: Record<NodeName, WorkerProcess | undefined> = { a: undefined, b: undefined };
  private readonly all: WorkerProcess[] = [];
  private readonly faults: FaultRecord[] = [];
  private readonly errors: string[] = [];
  private proxy: ProxyProcess | undefined;
  private listen: Record<NodeName, string> = { a: '', b: '' };
  private connect: Record<NodeName, string> = { a: '', b: '' };

  constructor(
    readonly index: number,
    readonly seed: number,
    private readonly kinds: readonly FaultKind[],
    private readonly dir: string,
    private readonly topology: Topology,
    private readonly timing: ChaosTiming,
    private readonly boundMs: number,
    private readonly peerFault: keyof PeerFaults | undefined,
  ) {
    this.prng = new Prng(seed);
  }

  async run(): Promise<{ record: TrialRecord; results: TrialResult['faults'] }> {
    let stop: StopRecord | null = null;
    const results: {
      kind: FaultKind;
      target: NodeName | null;
      applied: boolean;
      text: string;
      recoveryMs: number | null;
    }[] = [];
    try {
      await this.setUp();
      const first = await this.bothUp({ a: null, b: null }, Date.now() + WAIT_MS);
      if (first === undefined) throw new Error('the first session did not come up');
      await this.trafficFlows('the first session');
      await sleep(this.prng.between(150, 350));
      for (const kind of this.kinds) {
        const before = await this.snapshot();
        const f = await this.inject(kind, before);
        this.faults.push(f);
        const ends = f.applied && (['a', 'b'] as const).some((n) => expectedEnd(f, n).end !== 'survive');
        results.push({
          kind,
          target: f.target,
          applied: f.applied,
          text: f.text,
          recoveryMs: ends ? f.settledAt - f.clearedAt : null,
        });
        await this.trafficFlows(`fault ${this.faults.length} (${kind})`);
        await sleep(this.prng.between(200, 400));
      }
      const before = await this.snapshot();
      const order: [NodeName, NodeName] = this.prng.chance(0.5) ? ['a', 'b'] : ['b', 'a'];
      stop = { order, startedAt: Date.now(), sessionBefore: before.session };
      for (const n of order)
        if (!(await this.sides[n]!.stop()))
          this.errors.push(`${this.sides[n]!.name} did not exit within ${WAIT_MS} ms of SIGTERM`);
    } catch (err) {
      this.errors.push((err as Error).message);
    } finally {
      for (const w of this.all) {
        w.kill9();
        await w.exited;
      }
      await this.proxy?.close();
    }
    return {
      record: {
        trial: this.index,
        seed: this.seed,
        boundMs: this.boundMs,
        incarnations: this.all.map((w) => w.record()),
        faults: this.faults,
        stop,
        driverErrors: this.errors,
      },
      results,
    };
  }

  private async setUp(): Promise<void> {
    const ports = await this.topology.ports(this.index);
    const { host } = this.topology;
    this.listen = { a: `${host.a}:${ports.a}`, b: `${host.b}:${ports.b}` };
    this.proxy = await ProxyProcess.spawn({
      prefix: this.topology.prefix.proxy,
      faultWaitMs: PROXY_FAULT_WAIT_MS,
      timeoutMs: WAIT_MS,
    });
    const toA = await this.proxy.listen('to-a', this.topology.proxyHost, 0, host.a, ports.a);
    const toB = await this.proxy.listen('to-b', this.topology.proxyHost, 0, host.b, ports.b);
    this.connect = { a: `${this.topology.proxyHost}:${toB}`, b: `${this.topology.proxyHost}:${toA}` };
    await Promise.all([this.startSide('a', 'master'), this.startSide('b', 'backup')]);
  }

  private async startSide(node: NodeName, role: Role): Promise<WorkerProcess> {
    const inc = this.all.filter((w) => w.node === node).length + 1;
    const w = await WorkerProcess.start({
      node,
      inc,
      role,
      listen: this.listen[node],
      connect: this.connect[node],
      dir: this.dir,
      prefix: this.topology.prefix[node],
      seed: (this.seed ^ Math.imul(inc * 2 + (node === 'a' ? 0 : 1), 0x9e3779b1)) >>> 0,
      timing: this.timing,
      ...(node === 'b' && this.peerFault !== undefined ? { workerArgs: ['--peer-fault', this.peerFault] } : {}),
    });
    this.all.push(w);
    this.sides[node] = w;
    return w;
  }

  private async snapshot(): Promise<Snapshot> {
    const [a, b] = await Promise.all([this.sides.a!.status(), this.sides.b!.status()]);
    if (a === undefined || b === undefined) throw new Error(`no status from ${a === undefined ? 'a' : 'b'}`);
    return { roles: { a: a.role, b: b.role }, session: { a: a.session?.id ?? null, b: b.session?.id ?? null } };
  }

  /** Waits until both sides are up in one session that is neither side's `prev`; @returns when, or undefined at the deadline. */
  private async bothUp(prev: Record<NodeName, string | null>, deadline: number): Promise<number | undefined> {
    for (;;) {
      const [a, b] = await Promise.all([this.sides.a!.status(), this.sides.b!.status()]);
      const sid = a?.session?.id;
      if (sid !== undefined && sid === b?.session?.id && sid !== prev.a && sid !== prev.b) return Date.now();
      if (Date.now() > deadline) return undefined;
      await sleep(POLL_MS);
    }
  }

  /**
   * Waits until each side delivered messages from the other since now: traffic flows again
   * (bounded by {@link WAIT_MS}, a driver error past it), so the next step happens during
   * traffic.
   */
  private async trafficFlows(after: string): Promise<void> {
    const delivered = async (n: NodeName): Promise<number> =>
      ((await this.sides[n]!.admin('stats')) as { chaos: WorkerCounters }).chaos.delivered;
    const base = { a: await delivered('a'), b: await delivered('b') };
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const [a, b] = await Promise.all([delivered('a'), delivered('b')]);
      if (a > base.a && b > base.b) return;
      if (Date.now() > deadline) {
        this.errors.push(`no traffic both ways within ${WAIT_MS} ms after ${after}`);
        return;
      }
      await sleep(POLL_MS);
    }
  }

  private other(n: NodeName): NodeName {
    return n === 'a' ? 'b' : 'a';
  }

  /** Injects one fault, clears it, and waits for the recovery. */
  private async inject(kind: FaultKind, before: Snapshot): Promise<FaultRecord> {
    const p = this.prng;
    const nodes: readonly NodeName[] = ['a', 'b'];
    const masterNode: NodeName = before.roles.a === 'master' ? 'a' : 'b';
    let target: NodeName | null = null;
    let params: Record<string, unknown> = {};
    let applied = true;
    let text = '';
    const startedAt = Date.now();
    let clearedAt = startedAt;
    if (kind === 'kill-master' || kind === 'kill-backup') {
      target = kind === 'kill-master' ? masterNode : this.other(masterNode);
      const victim = this.sides[target]!;
      victim.kill9();
      await victim.exited;
      const down = p.between(0, 300);
      params = { downMs: down };
      await sleep(down);
      await this.startSide(target, before.roles[target]);
      clearedAt = Date.now();
      text = `kill -9 of ${victim.name} (${before.roles[target]}), restarted after ${down} ms`;
    } else if (kind === 'switchover') {
      target = p.pick(nodes);
      await this.sides[target]!.admin('switchover');
      clearedAt = Date.now();
      text = `switchover on ${target} (${before.roles[target]})`;
    } else if (kind === 'deconfigure') {
      target = p.pick(nodes);
      const off = p.between(50, 300);
      params = { offMs: off };
      await this.sides[target]!.admin('deconfigure');
      await sleep(off);
      await this.sides[target]!.admin('configure');
      clearedAt = Date.now();
      text = `deconfigure ${target} (${before.roles[target]}), configure after ${off} ms`;
    } else if (kind === 'peer-down') {
      target = p.pick(nodes);
      const off = p.between(50, 300);
      params = { offMs: off };
      await this.sides[target]!.admin('peer-down');
      await sleep(off);
      if (before.roles[target] === 'backup') {
        // The backup took over as master; the side it thought offline comes back as the backup.
        await this.sides[this.other(target)]!.admin('switchover');
        text = `peer-down on ${target} (backup: it becomes master); ${this.other(target)} switches to backup; peer-up after ${off} ms`;
      } else {
        text = `peer-down on ${target} (master); peer-up after ${off} ms`;
      }
      await this.sides[target]!.admin('peer-up');
      clearedAt = Date.now();
    } else {
      const fault = this.proxyFault(kind, p);
      params = { ...fault };
      if ('toward' in fault) target = fault.toward === 'listener' ? masterNode : this.other(masterNode);
      const result = await this.proxy!.inject(fault);
      applied = result.outcome === 'applied';
      text = `${kind} ${JSON.stringify(fault)}: ${result.outcome}, ${result.text}`;
      if (applied && 'ms' in fault) await sleep(fault.ms);
      clearedAt = Date.now();
    }
    const partial: FaultRecord = {
      kind,
      target,
      params,
      rolesBefore: before.roles,
      sessionBefore: before.session,
      applied,
      text,
      startedAt,
      clearedAt,
      settledAt: clearedAt,
    };
    const ends = applied && nodes.some((n) => expectedEnd(partial, n).end !== 'survive');
    if (!ends) return partial;
    const up = await this.bothUp(before.session, clearedAt + this.boundMs + WAIT_MS);
    if (up === undefined)
      this.errors.push(
        `fault ${this.faults.length + 1} (${kind}): no new session within ${this.boundMs + WAIT_MS} ms of its clearing`,
      );
    return { ...partial, settledAt: up ?? Date.now() };
  }

  private proxyFault(kind: FaultKind, p: Prng): ProxyFault {
    const channel = p.chance(0.3) ? undefined : p.pick(['send', 'receive'] as const);
    const toward = p.pick(['listener', 'connector'] as const);
    const ms = p.between(STALL_MS.min, STALL_MS.max);
    const c = channel === undefined ? {} : { channel };
    switch (kind) {
      case 'reset':
        return { kind, ...c };
      case 'half-close':
      case 'partial-close':
        return { kind, ...c, toward };
      case 'stall-reader':
      case 'stall-writer':
        return { kind, ...c, toward, ms };
      case 'garbage':
        return { kind, ...c, toward, bytes: p.between(1, 64), seed: Math.floor(p.next() * 0x100000000) };
      case 'drop-channel':
        return { kind, channel: channel ?? p.pick(['send', 'receive'] as const) };
      default:
        throw new Error(`${kind} is not a proxy fault`);
    }
  }
}

/** Counts in one trial's logs. */
function messageCounts(record: TrialRecord): TrialResult['messages'] {
  let sent = 0;
  let delivered = 0;
  let confirmed = 0;
  for (const inc of record.incarnations) {
    for (const line of inc.logText.split('\n')) {
      if (line.includes('"t":"tx"')) sent++;
      else if (line.includes('"t":"rx"') && line.includes('"ok":true')) delivered++;
      else if (line.includes('"r":"confirmed"')) confirmed++;
    }
  }
  return { sent, delivered, confirmed };
}

/** The loopback topology: every process on 127.0.0.1. */
function loopback(): Topology {
  return {
    prefix: { a: [], b: [], proxy: [] },
    host: { a: '127.0.0.1', b: '127.0.0.1' },
    proxyHost: '127.0.0.1',
    ports: async () => ({ a: await freePort(), b: await freePort() }),
    close: () => undefined,
  };
}

/**
 * Two network namespaces joined by veth: a in one, b and the proxy in the other, so that
 * every byte between the sides crosses the veth once.
 *
 * @returns the topology, or the reason namespaces cannot be used here.
 */
async function namespaces(tag: string): Promise<Topology | { skip: string }> {
  const pair = await createNetnsPair(tag);
  if ('skip' in pair) return { skip: pair.skip };
  return {
    prefix: { a: pair.prefix(pair.a.ns), b: pair.prefix(pair.b.ns), proxy: pair.prefix(pair.b.ns) },
    host: { a: pair.a.addr, b: pair.b.addr },
    proxyHost: pair.b.addr,
    // Fresh namespaces: every port is free; a new pair per trial keeps TIME_WAIT out of the way.
    ports: (trial) => Promise.resolve({ a: 20000 + (trial % 20000), b: 40000 + (trial % 20000) }),
    close: () => pair.close(),
  };
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
