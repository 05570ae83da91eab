/**
 * One chaos trial, from its seed alone (plus the list of its fault kinds):
 *
 * 1. fresh processes: the proxy (two listeners: one forwards to a's listening port, one to
 *    b's), side a as master, side b as backup; each side connects through the proxy to the
 *    other's listener, so the roles can swap and every byte still crosses the proxy;
 * 2. the first session comes up, traffic runs for 150–350 ms;
 * 3. for each fault: the state before is read, the fault injected and cleared, the driver
 *    waits for a new session when the fault ends it, then traffic runs for 200–400 ms;
 * 4. SIGTERM to one side, its exit, SIGTERM to the other, its exit; the proxy closes;
 * 5. the record of what both sides left behind, for the oracle (run.ts calls `checkTrial`).
 *
 * @module
 */
import { type PeerFaults, type Role } from '../../../reference-impl/src/index.js';
import { Prng } from '../prng.js';
import {
  expectedEnd,
  type FaultKind,
  type FaultRecord,
  type NodeName,
  type StopRecord,
  type TrialRecord,
} from './oracle.js';
import { ProxyProcess } from './proxy-client.js';
import type { ProxyFault } from './proxy-faults.js';
import type { Topology } from './topology.js';
import type { WorkerCounters } from './worker.js';
import { WorkerProcess, type ChaosTiming } from './worker-process.js';

/** Stall durations, ms: well under the dead-connection time. */
const STALL_MS = { min: 200, max: 800 } as const;
/** Bound of every wait of the driver (a process start, a session, an exit), ms. */
const WAIT_MS = 15_000;
/** Time the proxy waits for a message for the faults that need one, ms. */
const PROXY_FAULT_WAIT_MS = 2000;
const POLL_MS = 20;

/** A fault of a trial: kind, target, whether it took effect, and the time to recover (ms, null when it kept the session). */
export interface FaultOutcome {
  readonly kind: FaultKind;
  readonly target: NodeName | null;
  readonly applied: boolean;
  readonly text: string;
  readonly recoveryMs: number | null;
}

/** Messages sent, delivered, and confirmed (both sides). */
export interface TrafficCounts {
  readonly sent: number;
  readonly delivered: number;
  readonly confirmed: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Snapshot {
  readonly roles: Record<NodeName, Role>;
  readonly session: Record<NodeName, string | null>;
}

/** One trial. */
export class Trial {
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

  async run(): Promise<{ record: TrialRecord; results: FaultOutcome[] }> {
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
export function messageCounts(record: TrialRecord): TrafficCounts {
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
