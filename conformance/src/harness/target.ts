/**
 * Targets: where the peer under test is and how the suite reaches it. The suite connects
 * to a listening peer, or listens and the peer connects; which side listens is the topology's
 * business, not the protocol role's [KKCM-SESS-1], so a target has both: a side and a role.
 * It can run the embedded reference peer or launch a command.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { KkcmPeer, type PeerOptions } from '../../../reference-impl/src/peer.js';
import { tcpTransport } from '../../../reference-impl/src/tcp-transport.js';
import type { Connection, Listener, Transport } from '../../../reference-impl/src/transport.js';
import type { Topology } from '../../../reference-impl/src/peer-options.js';
import type { PeerRole } from '../report.js';

/**
 * Which side of the connections the peer under test is on: `listen`, it listens and the suite
 * connects (the suite sends HELLO); `connect`, it connects and the suite listens (the peer
 * sends HELLO). Independent of the protocol role (design 7.2.b.2, [KKCM-SESS-1]).
 */
export type PeerSide = 'listen' | 'connect';

/** The side a peer of `role` is on in cluster topology, where the master listens (the suite's default). */
export function clusterSide(role: PeerRole): PeerSide {
  return role === 'master' ? 'listen' : 'connect';
}

/** How the suite reaches the peer for one role. */
export interface Target {
  /** Human-readable description, for reports. */
  readonly description: string;
  /** Protocol role the peer plays: the suite claims the other one in HELLO and HELLO-ACK. */
  readonly role: PeerRole;
  /** Whether the peer listens or connects. */
  readonly side: PeerSide;
  /** The peer's topology when the suite knows it (cases that check its HELLO rules need it). */
  readonly topology?: Topology;
  /** Prepares the target (starts the peer or the listener). */
  start(): Promise<void>;
  /** A new connection to the peer (side `listen`). */
  connect(): Promise<Connection>;
  /** The peer's next connection (side `connect`). */
  accept(ms: number): Promise<Connection>;
  /** True when the peer is still there (a launched process has not exited). */
  alive(): boolean;
  /** Restarts a peer that died or was stopped, when the target can. */
  restart(): Promise<void>;
  /** Stops the peer deliberately (it must send SHUTDOWN first); absent when impossible. */
  stopPeer?(): Promise<void>;
  /** True when the peer was stopped and needs `restart()`. */
  needsRestart(): boolean;
  /** Stops everything the target started. */
  close(): Promise<void>;
}

/** The peer listens at host:port, in protocol role `role` (default master); the suite connects. */
export class ConnectTarget implements Target {
  readonly side = 'listen' as const;
  readonly description: string;
  constructor(
    readonly host: string,
    public port: number,
    private readonly transport: Transport = tcpTransport,
    readonly role: PeerRole = 'master',
    readonly topology?: Topology,
  ) {
    this.description = `connect ${host}:${port}${role === 'master' ? '' : ` (peer is ${role})`}`;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  connect(): Promise<Connection> {
    return this.transport.connect(this.host, this.port);
  }
  accept(): Promise<Connection> {
    return Promise.reject(new Error('the peer listens: the suite connects'));
  }
  alive(): boolean {
    return true;
  }
  restart(): Promise<void> {
    return Promise.resolve();
  }
  needsRestart(): boolean {
    return false;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The suite listens at host:port; the peer connects (and reconnects), in protocol role `role` (default backup). */
export class ListenTarget implements Target {
  readonly side = 'connect' as const;
  private listener: Listener | undefined;
  private readonly accepted: Connection[] = [];
  /** True once the peer has connected at least once. */
  connectedOnce = false;
  private waiter: (() => void) | undefined;
  constructor(
    readonly host: string,
    private readonly askedPort: number,
    private readonly transport: Transport = tcpTransport,
    readonly role: PeerRole = 'backup',
    readonly topology?: Topology,
  ) {}

  get description(): string {
    return `listen ${this.host}:${this.port}${this.role === 'backup' ? '' : ` (peer is ${this.role})`}`;
  }

  /** Port actually listened on. */
  get port(): number {
    return this.listener?.port ?? this.askedPort;
  }

  async start(): Promise<void> {
    if (this.listener !== undefined) return;
    this.listener = await this.transport.listen(this.host, this.askedPort, (c) => {
      this.connectedOnce = true;
      this.accepted.push(c);
      this.waiter?.();
    });
  }

  connect(): Promise<Connection> {
    return Promise.reject(new Error('the peer connects to the suite'));
  }

  async accept(ms: number): Promise<Connection> {
    const deadline = performance.now() + ms;
    while (this.accepted.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`the peer did not connect within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        // A case given up on (its own budget ran out) may leave this wait behind: it must not
        // keep the process alive after the run.
        t.unref();
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
    return this.accepted.shift()!;
  }

  /** Drops connections accepted but not taken (between cases). */
  drain(): void {
    for (const c of this.accepted.splice(0)) c.destroy();
  }

  alive(): boolean {
    return true;
  }
  /**
   * The suite cannot restart a peer it did not launch; it can forget what the peer's earlier
   * attempts left behind. A connection accepted but never taken (the second channel of an
   * attempt a case let time out) would otherwise be paired with the next attempt's first
   * channel by every later health probe, and no case could run again.
   */
  restart(): Promise<void> {
    this.drain();
    return Promise.resolve();
  }
  needsRestart(): boolean {
    return false;
  }
  async close(): Promise<void> {
    this.drain();
    await this.listener?.close();
    this.listener = undefined;
  }
}

/** Timers of the embedded reference peer: short, so the suite runs fast. */
export const EMBEDDED_TIMERS = {
  handshakeTimeoutMs: 1500,
  periodicMs: 50,
  backoff: { initialMs: 10, maxMs: 100, multiplier: 2, jitter: 0.1 },
} as const;

/** Adjusts the options of an embedded peer (mutant peers, custom transports). */
export type PeerCustomizer = (options: PeerOptions) => PeerOptions;

/**
 * The embedded reference peer, in-process on loopback TCP. On the side cluster topology gives
 * its role (the master listens) it runs in cluster topology; on the other side in dual-re, as
 * RE0 when it listens and RE1 when it connects (design 7.2.b.2). `topology` forces one
 * (dual-re works on every side; cluster only on its own).
 */
export class EmbeddedTarget implements Target {
  private peer: KkcmPeer | undefined;
  private readonly inner: ConnectTarget | ListenTarget;
  readonly side: PeerSide;
  readonly topology: Topology;
  constructor(
    readonly role: PeerRole,
    private readonly customize: PeerCustomizer = (o) => o,
    side?: PeerSide,
    topology?: Topology,
  ) {
    this.side = side ?? clusterSide(role);
    this.topology = topology ?? (this.side === clusterSide(role) ? 'cluster' : 'dual-re');
    if (this.topology === 'cluster' && this.side !== clusterSide(role))
      throw new Error(`in cluster topology the ${role} ${clusterSide(role)}s`);
    this.inner = this.side === 'listen' ? new ConnectTarget('127.0.0.1', 0) : new ListenTarget('127.0.0.1', 0);
  }

  get description(): string {
    const where = this.topology === 'dual-re' ? `dual-re RE${this.side === 'listen' ? 0 : 1}` : 'cluster';
    return `embedded reference peer (${this.role}, ${this.side === 'listen' ? 'listening' : 'connecting'}, ${where})`;
  }

  async start(): Promise<void> {
    await this.inner.start();
    await this.startPeer();
  }

  private async startPeer(): Promise<void> {
    const common = {
      ...EMBEDDED_TIMERS,
      nodeName: `reference-${this.role}`,
      conformanceProbe: true,
      role: this.role,
      topology: this.topology,
      ...(this.topology === 'dual-re' ? { slot: this.side === 'listen' ? (0 as const) : (1 as const) } : {}),
    };
    if (this.inner instanceof ConnectTarget) {
      this.peer = new KkcmPeer(this.customize({ ...common, listen: { host: '127.0.0.1', port: 0 } }));
      await this.peer.configure();
      this.inner.port = this.peer.listenAddress?.port ?? 0;
    } else {
      this.peer = new KkcmPeer(this.customize({ ...common, connect: { host: '127.0.0.1', port: this.inner.port } }));
      await this.peer.configure();
    }
    this.stopped = false;
  }

  private stopped = false;

  connect(): Promise<Connection> {
    return this.inner.connect();
  }
  accept(ms: number): Promise<Connection> {
    return this.inner.accept(ms);
  }
  alive(): boolean {
    return true;
  }
  async stopPeer(): Promise<void> {
    this.stopped = true;
    await this.peer?.stop();
  }
  needsRestart(): boolean {
    return this.stopped;
  }
  async restart(): Promise<void> {
    await this.peer?.stop();
    if (this.inner instanceof ListenTarget) this.inner.drain();
    await this.startPeer();
  }
  async close(): Promise<void> {
    await this.peer?.stop();
    await this.inner.close();
  }
}

/** Lowest port {@link freePort} picks: above the well-known and most registered services. */
const PORT_FLOOR = 10000;

/**
 * The kernel's ephemeral port range (`net.ipv4.ip_local_port_range`), from which it takes the
 * local port of every connecting socket and the port of a listen on port 0; undefined where it
 * cannot be read (not Linux).
 */
function ephemeralRange(): readonly [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi) ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a listen on `port` at 127.0.0.1 succeeds now (the listener is closed again). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, for a process that must be told its port up front.
 *
 * Between this check and the process's own listen, the port must stay free. A port from the
 * ephemeral range does not: any connection made on the machine meanwhile may get it as its
 * local port (a chaos worker failed with EADDRINUSE that way while other tests ran). So the
 * port is drawn at random below that range, where only an explicit listen takes a port, and
 * checked; where the range is unknown or leaves no room, the kernel picks (a listen on port 0).
 */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  if (range !== undefined && range[0] - PORT_FLOOR >= 1000) {
    for (let i = 0; i < 32; i++) {
      const port = PORT_FLOOR + Math.floor(Math.random() * (range[0] - PORT_FLOOR));
      if (await canListen(port)) return port;
    }
  }
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Process groups of the peers launched by {@link ExecTarget}s and not yet stopped. */
const LAUNCHED_GROUPS = new Set<number>();

/**
 * Sends `signal` to every process group a target launched and has not stopped yet, at
 * once and synchronously (for signal and exit handlers, which cannot wait).
 *
 * @returns the process ids of the group leaders signalled.
 */
export function signalLaunchedPeers(signal: NodeJS.Signals): number[] {
  const hit: number[] = [];
  for (const pid of LAUNCHED_GROUPS) {
    try {
      process.kill(-pid, signal);
      hit.push(pid);
    } catch {
      LAUNCHED_GROUPS.delete(pid); // the group is gone already
    }
  }
  return hit;
}

/**
 * A peer launched from a shell command, `{port}` replaced: the port it must listen on (side
 * `listen`) or the port the suite listens on (side `connect`). The side defaults to the one
 * cluster topology gives its role (the master listens). Restarted when it dies.
 */
export class ExecTarget implements Target {
  private child: ChildProcess | undefined;
  private readonly inner: ConnectTarget | ListenTarget;
  private exited = true;
  /** Whether the launched peer listens or connects. */
  readonly side: PeerSide;
  /** Last lines the command printed, for error reports. */
  readonly output: string[] = [];

  constructor(
    private readonly command: string,
    readonly role: PeerRole,
    private readonly readyMs: number,
    transport: Transport = tcpTransport,
    side?: PeerSide,
    readonly topology?: Topology,
  ) {
    this.side = side ?? clusterSide(role);
    this.inner =
      this.side === 'listen'
        ? new ConnectTarget('127.0.0.1', 0, transport)
        : new ListenTarget('127.0.0.1', 0, transport);
  }

  get description(): string {
    return `exec ${this.command} (peer is ${this.role}, ${this.side === 'listen' ? 'listening' : 'connecting'})`;
  }

  async start(): Promise<void> {
    if (this.inner instanceof ListenTarget) await this.inner.start();
    else this.inner.port = await freePort();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const cmd = this.command.replaceAll('{port}', String(this.inner.port));
    // Its own process group: signals reach the peer itself, not only the shell around it.
    const child = spawn(cmd, { shell: true, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    if (child.pid !== undefined) LAUNCHED_GROUPS.add(child.pid);
    this.exited = false;
    const keep = (d: Buffer): void => {
      this.output.push(
        ...d
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      if (this.output.length > 50) this.output.splice(0, this.output.length - 50);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      this.exited = true;
    });
    if (this.inner instanceof ConnectTarget) {
      const deadline = performance.now() + this.readyMs;
      for (;;) {
        try {
          const c = await this.inner.connect();
          c.destroy();
          return;
        } catch (err) {
          if (this.exited) throw new Error(`the peer exited before it listened: ${this.output.slice(-5).join(' | ')}`);
          if (performance.now() > deadline)
            throw new Error(
              `the peer did not listen on port ${this.inner.port} within ${this.readyMs} ms: ${(err as Error).message}`,
            );
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }

  connect(): Promise<Connection> {
    return this.inner.connect();
  }
  accept(ms: number): Promise<Connection> {
    return this.inner.accept(ms);
  }
  alive(): boolean {
    return !this.exited;
  }
  /** True once a peer that connects to the suite has connected at least once; always true for a listening one. */
  get connectedOnce(): boolean {
    return !(this.inner instanceof ListenTarget) || this.inner.connectedOnce;
  }
  async stopPeer(): Promise<void> {
    await this.stopChild();
  }
  needsRestart(): boolean {
    return this.exited;
  }
  async restart(): Promise<void> {
    await this.stopChild();
    if (this.inner instanceof ListenTarget) this.inner.drain();
    await this.launch();
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) return;
    const group = -child.pid;
    const groupAlive = (): boolean => {
      try {
        process.kill(group, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!groupAlive()) {
      LAUNCHED_GROUPS.delete(child.pid);
      return;
    }
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      LAUNCHED_GROUPS.delete(child.pid);
      return;
    }
    // The shell may exit before the peer: wait for the whole group, then insist.
    const deadline = performance.now() + 5000;
    while (groupAlive() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (groupAlive()) {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    LAUNCHED_GROUPS.delete(child.pid);
    this.exited = true;
  }

  async close(): Promise<void> {
    await this.stopChild();
    await this.inner.close();
  }
}
