/**
 * `kkcm demo`: both peers of a router in one process, on loopback TCP: traffic from the
 * four illustrative clients with a live view of the counters, then a failover scenario
 * that walks through every cleanup reason of design 6.2.1 — switchover, peer down, socket
 * I/O error, NSR deconfigured — showing what each client saw on both sides.
 *
 * @module
 */
import {
  Direction,
  IpProtocol,
  TcpState,
  TeardownReason,
  type ClientName,
  type KnownMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { KkcmPeer, tcpTransport } from '../../reference-impl/src/index.js';
import type { CommandArgs } from './codec-commands.js';
import {
  ILLUSTRATIVE_CLIENTS,
  registerCountingClients,
  type ClientCounterSet,
  type IllustrativeClient,
} from './clients.js';
import { DemoTransport, type PortDirectory } from './demo-transport.js';
import { ExitCode, UsageError, type Io } from './io.js';

/** Help text of `kkcm demo`. */
export const DEMO_HELP = `Usage: kkcm demo [--seconds N] [--no-failover]

Runs two KKCM peers in this process, node re0 (master) and re1 (backup), connected over
loopback TCP on ephemeral ports. The master replicates illustrative traffic to the backup:
IHA handle setup and teardown, SDRL socket data (acknowledged by the backup), PSRM TCP
state and PRL packets, some with delivery confirmation. A live view shows the counters
(redrawn in place on a terminal, plain lines otherwise).

Then a failover scenario shows each cleanup reason (design 6.2.1) and what every client
saw on both sides:
  1. switchover        manual mastership switchover: the roles swap
  2. socket I/O error  a connection is cut; the backup reconnects
  3. peer down         membership reports each side offline; the backup takes over,
                       the old master rejoins as backup when membership returns
  4. NSR deconfigured  NSR is turned off on the master, then on the backup

Options:
  --seconds N     approximate run time in seconds (default 4; decimals allowed)
  --no-failover   only traffic, then a clean stop

Examples:
  kkcm demo
  kkcm demo --seconds 10
  kkcm demo --no-failover --seconds 2 | tail -n 5
`;

/** Logical addresses of the two nodes, as on a router (see DemoTransport). */
const LOGICAL_PORTS = [7000, 7001] as const;
const HOST = '127.0.0.1';
/** Longest wait for any step of the scenario. */
const STEP_DEADLINE_MS = 10_000;
const TRAFFIC_INTERVAL_MS = 20;

/** What a node's application side sent through its peer. */
interface SentCounters {
  messages: number;
  failed: number;
  confirmRequested: number;
  confirmed: number;
}

/** One node of the demo router. */
interface DemoNode {
  readonly name: string;
  readonly peer: KkcmPeer;
  readonly transport: DemoTransport;
  readonly counters: ClientCounterSet;
  readonly sent: SentCounters;
  /** Cleanups seen by each client during the current step: `reason (detail)`. */
  step: Partial<Record<IllustrativeClient, string>>;
}

/** A coded failure of the scenario (a step that did not complete in time). */
class DemoError extends Error {
  readonly code = 'ERR_DEMO_STEP_TIMEOUT';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + STEP_DEADLINE_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new DemoError(`timed out after ${STEP_DEADLINE_MS} ms waiting for ${what}`);
    await sleep(10);
  }
}

function sendFrom(node: DemoNode, client: ClientName, msg: MessageInput, confirm = false): void {
  node.sent.messages++;
  if (confirm) node.sent.confirmRequested++;
  node.peer.send(client, msg, { confirm }).then(
    () => {
      if (confirm) node.sent.confirmed++;
    },
    // A send fails when the session went down under it: that is what the demo shows.
    () => {
      node.sent.failed++;
    },
  );
}

/** The application side of the master: replicated sockets coming and going. */
class Traffic {
  private timer: ReturnType<typeof setInterval> | undefined;
  private round = 0;
  private nextHandle = 1;
  private readonly open: number[] = [];
  private offset = 0n;

  constructor(private readonly nodes: readonly DemoNode[]) {}

  start(): void {
    this.timer ??= setInterval(this.tick, TRAFFIC_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const from = this.nodes.find((n) => n.peer.role === 'master' && n.peer.sessionUp);
    if (from === undefined) return;
    this.round++;
    // IHA: a new replicated socket every 10 rounds; the oldest goes when more than 4 are open.
    if (this.open.length === 0 || this.round % 10 === 0) {
      const handle = this.nextHandle++;
      this.open.push(handle);
      sendFrom(from, 'iha', {
        name: 'iha.handleSetupV4',
        body: {
          handle,
          protocol: IpProtocol.tcp,
          localPort: 179,
          remotePort: 30000 + handle,
          localAddress: '192.0.2.1',
          remoteAddress: `198.51.100.${handle % 250}`,
          appName: 'rpd',
        },
      });
    }
    if (this.open.length > 4)
      sendFrom(from, 'iha', {
        name: 'iha.handleTeardown',
        body: { handle: this.open.shift()!, reason: TeardownReason.closed },
      });
    const handle = this.open[this.round % this.open.length]!;
    const data = new Uint8Array(64 + (this.round % 8) * 32).fill(this.round & 0xff);
    sendFrom(from, 'sdrl', { name: 'sdrl.socketData', body: { handle, streamOffset: this.offset, data } });
    this.offset += BigInt(data.byteLength);
    sendFrom(from, 'psrm', {
      name: 'psrm.tcpState',
      body: {
        handle,
        state: TcpState.established,
        windowScale: 7,
        mss: 1460,
        sndUna: this.round * 100,
        sndNxt: this.round * 100 + 64,
        rcvNxt: this.round * 50,
        rcvWindow: 65535,
        tsRecent: this.round,
        rttMicros: 850,
      },
    });
    const packet = new Uint8Array(60);
    packet[0] = 0x45;
    // PRL: every fourth packet asks for delivery confirmation.
    sendFrom(
      from,
      'prl',
      {
        name: 'prl.packet',
        body: {
          handle,
          direction: Direction.inbound,
          ifIndex: 3,
          timestampNs: BigInt(Date.now()) * 1_000_000n,
          packet,
        },
      },
      this.round % 4 === 0,
    );
  };
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The live view: a table redrawn in place on a terminal, plain snapshot lines otherwise. */
class LiveView {
  private drawn = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly io: Io,
    private readonly nodes: readonly DemoNode[],
    private readonly t0: number,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => (this.io.isTty ? this.redraw() : this.snapshot()), this.io.isTty ? 100 : 1000);
    if (this.io.isTty) this.redraw();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.io.isTty) this.redraw();
    this.drawn = 0;
  }

  /** Prints a line above the table. */
  log(text: string): void {
    if (!this.io.isTty) {
      this.io.out(`${text}\n`);
      return;
    }
    this.erase();
    this.io.out(`${text}\n`);
    if (this.timer !== undefined) this.draw();
  }

  /** One plain line per node (for pipes and logs). */
  snapshot(): void {
    const at = ((Date.now() - this.t0) / 1000).toFixed(1);
    for (const n of this.nodes) {
      const c = n.counters;
      this.io.out(
        `[${at.padStart(5)}s] ${n.name} ${n.peer.role}/${n.peer.status().state} tx ${this.tx(n)} rx iha ${c.iha.messages} sdrl ${c.sdrl.messages} psrm ${c.psrm.messages} prl ${c.prl.messages} confirmed ${n.sent.confirmed}/${n.sent.confirmRequested} periodic ${c.iha.periodic} cleanups ${sum(n.peer.stats().cleanups)}\n`,
      );
    }
  }

  private tx(n: DemoNode): number {
    const s = n.peer.stats();
    return s.channels.send.txMessages + s.channels.receive.txMessages;
  }

  private lines(): string[] {
    const at = ((Date.now() - this.t0) / 1000).toFixed(1);
    const head = `  ${'node'.padEnd(5)}${'role'.padEnd(8)}${'state'.padEnd(12)}${'tx'.padStart(7)}${'iha'.padStart(6)}${'sdrl'.padStart(7)}${'psrm'.padStart(7)}${'prl'.padStart(7)}${'confirmed'.padStart(12)}${'periodic'.padStart(10)}${'cleanups'.padStart(10)}   t=${at}s`;
    const rows = this.nodes.map((n) => {
      const c = n.counters;
      const confirmed = `${n.sent.confirmed}/${n.sent.confirmRequested}`;
      return `  ${n.name.padEnd(5)}${n.peer.role.padEnd(8)}${n.peer.status().state.padEnd(12)}${String(this.tx(n)).padStart(7)}${String(c.iha.messages).padStart(6)}${String(c.sdrl.messages).padStart(7)}${String(c.psrm.messages).padStart(7)}${String(c.prl.messages).padStart(7)}${confirmed.padStart(12)}${String(c.iha.periodic).padStart(10)}${String(sum(n.peer.stats().cleanups)).padStart(10)}`;
    });
    return [head, ...rows];
  }

  private erase(): void {
    // Cursor up to the table's first line, then clear to the end of the screen.
    if (this.drawn > 0) this.io.out(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    const lines = this.lines();
    this.io.out(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  private redraw(): void {
    this.erase();
    this.draw();
  }
}

function parseSeconds(value: string | boolean | undefined): number {
  if (value === undefined) return 4;
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 3600))
    throw new UsageError(`--seconds must be a number above 0 and at most 3600, got ${JSON.stringify(value)}`);
  return n;
}

function makeNode(name: string, index: 0 | 1, directory: PortDirectory): DemoNode {
  const transport = new DemoTransport(tcpTransport, directory);
  const peer = new KkcmPeer({
    role: index === 0 ? 'master' : 'backup',
    listen: { host: HOST, port: LOGICAL_PORTS[index] },
    connect: { host: HOST, port: LOGICAL_PORTS[1 - index]! },
    nodeId: index,
    nodeName: name,
    transport,
    periodicMs: 200,
    lingerMs: 500,
    handshakeTimeoutMs: 2000,
    backoff: { initialMs: 50, maxMs: 400 },
  });
  const sent: SentCounters = { messages: 0, failed: 0, confirmRequested: 0, confirmed: 0 };
  const node: DemoNode = {
    name,
    peer,
    transport,
    sent,
    step: {},
    counters: registerCountingClients(peer, {
      onMessage: (client, msg: KnownMessage) => {
        // The backup's SDRL confirms what it stored, on the same channel.
        if (client === 'sdrl' && msg.name === 'sdrl.socketData') {
          sendFrom(node, 'sdrl', {
            name: 'sdrl.socketDataAck',
            body: { handle: msg.body.handle, streamOffset: msg.body.streamOffset + BigInt(msg.body.data.byteLength) },
          });
        }
      },
      onCleanup: (client, info) => {
        node.step[client] = `${info.reason} (${info.detail})`;
      },
    }),
  };
  return node;
}

/** `iha, sdrl, psrm, prl: switchover (manualSwitchover)`, grouping clients that saw the same. */
function describeStep(node: DemoNode): string {
  const groups = new Map<string, string[]>();
  for (const client of ILLUSTRATIVE_CLIENTS) {
    const seen = node.step[client] ?? 'no cleanup';
    groups.set(seen, [...(groups.get(seen) ?? []), client]);
  }
  return [...groups].map(([seen, clients]) => `${clients.join(', ')}: ${seen}`).join('; ');
}

const allCleaned = (n: DemoNode): boolean => ILLUSTRATIVE_CLIENTS.every((c) => n.step[c] !== undefined);
const reasonOf = (n: DemoNode): string => n.step.iha?.split(' ')[0] ?? 'none';

/** The scenario, step by step. */
class Scenario {
  /** Reasons every node's clients saw, per step title, for the summary. */
  readonly seen: { name: string; reasons: string[] }[] = [];

  constructor(
    private readonly nodes: readonly [DemoNode, DemoNode],
    private readonly view: LiveView,
    private readonly settleMs: number,
  ) {}

  master(): DemoNode {
    return this.nodes.find((n) => n.peer.role === 'master') ?? this.nodes[0];
  }

  other(n: DemoNode): DemoNode {
    return n === this.nodes[0] ? this.nodes[1] : this.nodes[0];
  }

  async sessionUp(what: string): Promise<void> {
    await until(() => this.nodes.every((n) => n.peer.sessionUp), what);
    const m = this.master();
    this.view.log(`  session up again: ${m.name} master, ${this.other(m).name} backup`);
  }

  /** Runs one step: the action, then waits until every client on both sides cleaned up. */
  async step(
    index: number,
    name: string,
    title: string,
    action: () => Promise<void>,
    roles: Map<DemoNode, string>,
  ): Promise<void> {
    for (const n of this.nodes) n.step = {};
    this.view.log(`\nstep ${index}/4: ${name}: ${title}`);
    await action();
    await until(() => this.nodes.every(allCleaned), `every client's cleanup after: ${title}`);
    for (const n of this.nodes) {
      const before = roles.get(n)!;
      const now = n.peer.role;
      this.view.log(`  ${n.name} (${before === now ? now : `${before} -> ${now}`}): ${describeStep(n)}`);
    }
    this.seen.push({ name, reasons: this.nodes.map((n) => `${n.name} ${reasonOf(n)}`) });
  }

  private roles(): Map<DemoNode, string> {
    return new Map(this.nodes.map((n) => [n, n.peer.role]));
  }

  async run(): Promise<void> {
    {
      const m = this.master();
      const roles = this.roles();
      await this.step(
        1,
        'switchover',
        `manual mastership switchover (design 6.2.1.c) on ${m.name}`,
        () => m.peer.switchover(),
        roles,
      );
      await this.sessionUp('the session after the switchover');
      await sleep(this.settleMs);
    }
    {
      const b = this.other(this.master());
      const roles = this.roles();
      await this.step(
        2,
        'socket I/O error',
        `a connection of ${b.name} breaks`,
        async () => {
          b.transport.cut();
        },
        roles,
      );
      await this.sessionUp('the backup to reconnect');
      await sleep(this.settleMs);
    }
    {
      const m = this.master();
      const b = this.other(m);
      const roles = this.roles();
      await this.step(
        3,
        'peer down',
        `membership reports ${m.name} and ${b.name} offline to each other (design 6.2.1.a/b)`,
        async () => {
          await Promise.all([m.peer.peerDown(), b.peer.peerDown()]);
        },
        roles,
      );
      this.view.log(`  membership restored: ${b.name} took over as master; ${m.name} rejoins as backup`);
      m.peer.peerUp();
      b.peer.peerUp();
      // With no session, a switchover is only the role change: the old master relinquishes.
      await m.peer.switchover();
      await this.sessionUp('the session after the peer came back');
      await sleep(this.settleMs);
    }
    {
      const m = this.master();
      const b = this.other(m);
      const roles = this.roles();
      await this.step(
        4,
        'NSR deconfigured',
        `on ${m.name}, which tells ${b.name} with SHUTDOWN; then on ${b.name} too (design 6.2.1.a)`,
        async () => {
          await m.peer.deconfigure();
          await until(() => allCleaned(b), `${b.name} to learn of the deconfiguration`);
          await b.peer.deconfigure();
        },
        roles,
      );
    }
  }
}

/** `kkcm demo [--seconds N] [--no-failover]`. */
export async function demoCommand(args: CommandArgs, io: Io): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const seconds = parseSeconds(args.values.seconds);
  const failover = args.values['no-failover'] !== true;
  const totalMs = seconds * 1000;
  const trafficMs = failover ? totalMs * 0.4 : totalMs;
  // Traffic between the steps, after each recovery (three of the four steps recover).
  const settleMs = (totalMs * 0.6) / 3;

  const directory: PortDirectory = new Map();
  const nodes: [DemoNode, DemoNode] = [makeNode('re0', 0, directory), makeNode('re1', 1, directory)];
  const t0 = Date.now();
  const view = new LiveView(io, nodes, t0);
  const traffic = new Traffic(nodes);
  let code: number = ExitCode.ok;
  try {
    await nodes[0].peer.configure();
    await nodes[1].peer.configure();
    const at = nodes[0].peer.listenAddress!;
    io.out(`kkcm demo: re0 (master) listens on ${at.host}:${at.port}; re1 (backup) connects to it\n`);
    await until(() => nodes.every((n) => n.peer.sessionUp), 'the first session');
    const v = nodes[0].peer.status().session;
    io.out(`session up: 0x${BigInt(v?.id ?? 0).toString(16)}, version ${v?.version ?? '?'}\n\n`);
    traffic.start();
    view.start();
    await sleep(trafficMs);
    if (failover) {
      const scenario = new Scenario(nodes, view, settleMs);
      await scenario.run();
      traffic.stop();
      view.stop();
      io.out('\ncleanup reasons seen by every client on both sides:\n');
      scenario.seen.forEach((s, i) => io.out(`  ${i + 1}. ${`${s.name}:`.padEnd(18)} ${s.reasons.join(', ')}\n`));
    } else {
      traffic.stop();
      view.stop();
    }
    io.out('\nfinal counters:\n');
    if (!io.isTty) view.snapshot();
    for (const n of nodes) {
      const s = n.peer.stats();
      io.out(
        `  ${n.name}: sent ${n.sent.messages} (failed ${n.sent.failed}, confirmed ${n.sent.confirmed} of ${n.sent.confirmRequested}), sessions up ${s.sessions.up} down ${s.sessions.down}, cleanups ${
          Object.entries(s.cleanups)
            .map(([k, c]) => `${k} ${c}`)
            .join(', ') || 'none'
        }\n`,
      );
    }
  } catch (err) {
    io.err(`kkcm demo: ${(err as { code?: string }).code ?? 'ERR_DEMO'}: ${(err as Error).message}\n`);
    code = ExitCode.failure;
  } finally {
    traffic.stop();
    view.stop();
    await Promise.all(nodes.map((n) => n.peer.stop()));
    // Every socket closed before returning: the process then exits by itself.
    await until(() => nodes.every((n) => n.transport.connections === 0), 'the connections to close').catch(
      () => undefined,
    );
  }
  return code;
}
