/**
 * `kkcm demo`: both peers of a router in one process, on loopback TCP: traffic from the
 * four illustrative clients with a live view of the counters, then a failover scenario
 * that walks through every cleanup reason of design 6.2.1 — switchover, peer down, socket
 * I/O error, NSR deconfigured — showing what each client saw on both sides.
 *
 * @module
 */
import { ILLUSTRATIVE_CLIENTS } from './clients.js';
import type { Command, CommandArgs, OptionSpec } from './command.js';
import { makeNode, Traffic, type DemoNode } from './demo-node.js';
import type { PortDirectory } from './demo-transport.js';
import { describeStep, LiveView } from './demo-view.js';
import { ExitCode, UsageError, type Io } from './io.js';

const DESCRIPTION = `Runs two KKCM peers in this process, the two REs of a dual-RE chassis (design 7.2.b.2):
re0 in slot 0 (master at start) listens and re1 in slot 1 (backup) connects, over loopback
TCP on ephemeral ports; who listens is the slot's business, not the role's. The master replicates illustrative traffic to the backup:
IHA handle setup and teardown, SDRL socket data (acknowledged by the backup), PSRM TCP
state and PRL packets, some with delivery confirmation. A live view shows the counters
(redrawn in place on a terminal, plain lines otherwise).

Then a failover scenario shows each cleanup reason (design 6.2.1) and what every client
saw on both sides:
  1. switchover        manual mastership switchover, both triggers (re0 relinquishes,
                       re1 acquires): the roles swap, re0 still listens
  2. socket I/O error  a connection is cut; re1, the connecting RE, reconnects
  3. peer down         membership reports each side offline; the backup takes over,
                       the old master rejoins as backup when membership returns
  4. NSR deconfigured  NSR is turned off on the master, then on the backup`;

const EPILOG = `Examples:
  kkcm demo
  kkcm demo --seconds 10
  kkcm demo --no-failover --seconds 2 | tail -n 5
`;

const OPTIONS = {
  seconds: {
    type: 'string',
    value: 'N',
    description: 'approximate run time in seconds (default 4; decimals allowed)',
  },
  'no-failover': { type: 'boolean', description: 'only traffic, then a clean stop' },
} as const satisfies OptionSpec;

/** Longest wait for any step of the scenario. */
const STEP_DEADLINE_MS = 10_000;

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

function parseSeconds(value: string | boolean | undefined): number {
  if (value === undefined) return 4;
  const n = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 && n <= 3600))
    throw new UsageError(`--seconds must be a number above 0 and at most 3600, got ${JSON.stringify(value)}`);
  return n;
}

/** Who listens and who connects, in words: `re0 (backup) listens, re1 (master) connects`. */
function listeners(nodes: readonly DemoNode[]): string {
  return nodes.map((n) => `${n.name} (${n.peer.role}) ${n.peer.listens ? 'listens' : 'connects'}`).join(', ');
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
    this.view.log(`  session up again: ${m.name} master, ${this.other(m).name} backup; ${listeners(this.nodes)}`);
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
      const b = this.other(m);
      const roles = this.roles();
      this.view.log(`\nbefore the switchover: ${listeners(this.nodes)}`);
      await this.step(
        1,
        'switchover',
        `manual mastership switchover (design 6.2.1.c): ${m.name} relinquishes, ${b.name} acquires`,
        async () => {
          // The design's two triggers, one on each RE; the second finds its role taken already.
          await m.peer.switchover({ to: 'backup' });
          await b.peer.switchover({ to: 'master' });
        },
        roles,
      );
      await this.sessionUp('the session after the switchover');
      const re0 = this.nodes[0];
      this.view.log(
        `after the switchover: ${re0.name} (now ${re0.peer.role}) ${re0.peer.listens ? 'still listens' : 'no longer listens'}`,
      );
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
      await m.peer.switchover({ to: 'backup' });
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

/** Runs the demo: traffic, the failover scenario unless --no-failover, the final counters. */
async function runDemo(args: CommandArgs, io: Io): Promise<number> {
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
    io.out(
      `kkcm demo: dual-RE chassis: re0 (slot 0, master) listens on ${at.host}:${at.port}; re1 (slot 1, backup) connects to it\n`,
    );
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

/** `kkcm demo [--seconds N] [--no-failover]`. */
export const demoCommand: Command = {
  summary: 'two peers in one process: traffic, live counters, every cleanup reason',
  usage: 'kkcm demo [--seconds N] [--no-failover]',
  description: DESCRIPTION,
  options: OPTIONS,
  epilog: EPILOG,
  run: runDemo,
};
