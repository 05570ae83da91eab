/**
 * One reference peer in its own process, for the chaos run and the soak: the peer with the
 * four illustrative clients, an admin server on a Unix socket path (it works across network
 * namespaces), the peer's event file, and a traffic generator on all four clients.
 *
 * Every traffic message carries its sender node, the sender's incarnation (process start
 * number), a sequence number per (sender, incarnation, client) and a body derived from the
 * three, so the receiver checks it whole ({@link checkTrafficMessage}). A fraction is sent
 * with delivery confirmation. The worker writes what it sent, delivered and how each
 * confirmed send ended to its own JSON Lines log ({@link WorkerLine}), one synchronous
 * write per line: a delivery is on disk before the ACK for it is even queued, so a kill -9
 * loses at most the line being written.
 *
 * On SIGTERM (or SIGINT) it stops the peer (SHUTDOWN, every client's cleanup), closes the
 * event file and the admin server, waits until the closing connections are gone (at most
 * the linger time and a margin), writes the resources still active against a baseline taken
 * at start (`exit` line) and lets the event loop end; exit code 0. A process that does not
 * end within {@link EXIT_GRACE_MS} after that exits with {@link EXIT_STUCK}.
 *
 * Started as `node --import tsx reliability/src/chaos/worker.ts OPTIONS` (see
 * {@link WORKER_USAGE}), possibly behind `ip netns exec NS`; prints
 * `chaos-worker: ready node=a inc=1 pid=N` once configured.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ClientName, KnownMessage, MessageInput } from '../../../codec/src/index.js';
import {
  KkcmPeer,
  type Endpoint,
  type PeerEventName,
  type PeerFaults,
  type Role,
} from '../../../reference-impl/src/index.js';
import { startAdminServer } from '../../../reference-impl/src/admin.js';
import { attachEventLog } from '../../../reference-impl/src/trace/event-log.js';
import { Prng } from '../prng.js';

/** The clients that carry traffic, in the order of the log's client index. */
export const TRAFFIC_CLIENTS = ['iha', 'sdrl', 'psrm', 'prl'] as const satisfies readonly ClientName[];

/** A traffic client. */
export type TrafficClient = (typeof TRAFFIC_CLIENTS)[number];

/** Message each client sends: the types of each client that carry data or fields we can fill. */
export const TRAFFIC_MESSAGE: Readonly<Record<TrafficClient, string>> = {
  iha: 'iha.handleSetupV4',
  sdrl: 'sdrl.socketData',
  psrm: 'psrm.tcpState',
  prl: 'prl.packet',
};

/** Exit code of a worker whose event loop did not end after its clean stop (something still runs). */
export const EXIT_STUCK = 3;

/** Time the event loop gets to end by itself after the `exit` line, in ms. */
export const EXIT_GRACE_MS = 3000;

/** Identity of a traffic message: who sent it and its place in the sender's stream. */
export interface TrafficId {
  /** Sender node id (1–255). */
  readonly node: number;
  /** Sender incarnation (1–65535). */
  readonly inc: number;
  /** Sequence number in the (node, inc, client) stream, from 0. */
  readonly seq: number;
}

/** Result of {@link checkTrafficMessage}. */
export type TrafficCheck =
  | (TrafficId & {
      /** Client the message belongs to. */
      readonly client: TrafficClient;
      /** True when every field is the one the identity implies. */
      readonly ok: boolean;
      /** The first field that differs, when not ok. */
      readonly why?: string;
    })
  | {
      /** The message is not a traffic message of this module. */
      readonly client: null;
      /** Its name. */
      readonly name: string;
    };

/** Body pattern of one message: a PRNG seeded from the identity and the client. */
function pattern(client: TrafficClient, id: TrafficId): Prng {
  const c = TRAFFIC_CLIENTS.indexOf(client) + 1;
  return new Prng(
    (Math.imul(id.node * 0x10001 + id.inc, 0x9e3779b1) ^
      Math.imul(id.seq + 1, 0x85ebca77) ^
      Math.imul(c, 0xc2b2ae3d)) >>>
      0,
  );
}

const u32 = (p: Prng): number => Math.floor(p.next() * 0x100000000);

/**
 * The traffic message `id` of `client`: its body is a function of the identity alone
 * (the length of the data part too, from 0 to `maxBody` bytes).
 */
export function makeTrafficMessage(client: TrafficClient, id: TrafficId, maxBody: number): MessageInput {
  const p = pattern(client, id);
  const size = p.below(maxBody + 1);
  switch (client) {
    case 'iha': {
      // appName has a u8 length.
      let appName = '';
      for (let i = 0; i < size % 256; i++) appName += String.fromCharCode(0x61 + p.below(26));
      return {
        name: 'iha.handleSetupV4',
        body: {
          handle: id.seq,
          protocol: 6,
          localPort: id.node,
          remotePort: id.inc,
          localAddress: `10.${id.node}.0.1`,
          remoteAddress: `10.0.${p.below(256)}.${p.below(256)}`,
          appName,
        },
      };
    }
    case 'sdrl':
      return {
        name: 'sdrl.socketData',
        body: { handle: id.seq, streamOffset: (BigInt(id.node) << 32n) | BigInt(id.inc), data: p.bytes(size) },
      };
    case 'psrm':
      return {
        name: 'psrm.tcpState',
        body: {
          handle: id.seq,
          state: p.below(11),
          windowScale: id.node,
          mss: id.inc,
          sndUna: u32(p),
          sndNxt: u32(p),
          rcvNxt: u32(p),
          rcvWindow: u32(p),
          tsRecent: u32(p),
          rttMicros: u32(p) | 0,
        },
      };
    case 'prl':
      return {
        name: 'prl.packet',
        body: {
          handle: id.seq,
          direction: 1 + p.below(2),
          ifIndex: id.node,
          timestampNs: BigInt(id.inc),
          packet: p.bytes(size),
        },
      };
  }
}

/** The identity a delivered body claims, read from the fields that carry it. */
function claimedId(msg: KnownMessage): { client: TrafficClient; id: TrafficId } | undefined {
  switch (msg.name) {
    case 'iha.handleSetupV4':
      return { client: 'iha', id: { node: msg.body.localPort, inc: msg.body.remotePort, seq: msg.body.handle } };
    case 'sdrl.socketData':
      return {
        client: 'sdrl',
        id: {
          node: Number(msg.body.streamOffset >> 32n),
          inc: Number(msg.body.streamOffset & 0xffffffffn),
          seq: msg.body.handle,
        },
      };
    case 'psrm.tcpState':
      return { client: 'psrm', id: { node: msg.body.windowScale, inc: msg.body.mss, seq: msg.body.handle } };
    case 'prl.packet':
      return { client: 'prl', id: { node: msg.body.ifIndex, inc: Number(msg.body.timestampNs), seq: msg.body.handle } };
    default:
      return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks a delivered message against the one its identity implies, field by field: a body
 * cut short, padded, or with any byte changed is not ok.
 */
export function checkTrafficMessage(msg: KnownMessage, maxBody: number): TrafficCheck {
  const claim = claimedId(msg);
  if (claim === undefined) return { client: null, name: msg.name };
  const expected = makeTrafficMessage(claim.client, claim.id, maxBody).body as unknown as Record<string, unknown>;
  const actual = msg.body as unknown as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key];
    const same = want instanceof Uint8Array ? got instanceof Uint8Array && sameBytes(want, got) : got === want;
    if (!same) return { client: claim.client, ...claim.id, ok: false, why: `${key} differs` };
  }
  return { client: claim.client, ...claim.id, ok: true };
}

/**
 * One line of a worker's log (`ts`: ms since the epoch, added when written). Sequence
 * numbers are per (node, inc, client); session ids are decimal strings.
 */
export type WorkerLine = { readonly ts: number } & (
  | {
      /** The process started. */
      readonly t: 'start';
      /** Side name, node id, incarnation, role at start, process id. */
      readonly node: string;
      readonly nodeId: number;
      readonly inc: number;
      readonly role: Role;
      readonly pid: number;
    }
  | {
      /** Configured (listening or connecting): the ready line was printed. */
      readonly t: 'ready';
    }
  | {
      /** A client's init handler ran: session `sid` came up. */
      readonly t: 'init';
      readonly c: TrafficClient;
      readonly sid: string;
    }
  | {
      /** A send is about to be made in session `sid` (`cf` 1: with confirmation). */
      readonly t: 'tx';
      readonly c: TrafficClient;
      readonly q: number;
      readonly sid: string;
      readonly cf: 0 | 1;
    }
  | {
      /**
       * How a send ended: `confirmed`, or the error code. Sends without confirmation log
       * only failures.
       */
      readonly t: 'txr';
      readonly c: TrafficClient;
      readonly q: number;
      readonly r: string;
    }
  | {
      /** A message was delivered to a client handler in session `sid`. */
      readonly t: 'rx';
      readonly c: TrafficClient;
      /** Sender node id, incarnation and sequence number, as the body claims them. */
      readonly n: number;
      readonly i: number;
      readonly q: number;
      readonly sid: string | null;
      /** Body intact. */
      readonly ok: boolean;
      readonly why?: string;
    }
  | {
      /** A message that is not traffic reached a handler. */
      readonly t: 'stray';
      readonly c: string;
      readonly name: string;
    }
  | {
      /** A client's cleanup handler ran. */
      readonly t: 'cleanup';
      readonly c: TrafficClient;
      readonly sid: string;
      readonly reason: string;
      readonly detail: string;
    }
  | {
      /** The clean stop finished: active resources now, and those beyond the start's baseline. */
      readonly t: 'exit';
      readonly resources: readonly string[];
      readonly leaked: Readonly<Record<string, number>>;
      /** Time the stop took, in ms. */
      readonly stopMs: number;
      /** The signal that asked for the stop. */
      readonly signal: string;
    }
);

/** A {@link WorkerLine} before its time stamp. */
type LineInput = WorkerLine extends infer L ? (L extends unknown ? Omit<L, 'ts'> : never) : never;

/** Peer events the worker's event file keeps: all but the per-message `tx` and `rx`. */
export const EVENT_FILE_EVENTS: readonly PeerEventName[] = [
  'configured',
  'deconfigured',
  'listening',
  'connecting',
  'connect-failed',
  'accepted',
  'rejected',
  'refused',
  'channel-bound',
  'session-up',
  'session-down',
  'cleanup',
  'role-change',
  'peer-down',
  'peer-up',
  'ignored',
  'undelivered',
  'handler-error',
  'error',
];

/** Usage of the worker's command line. */
export const WORKER_USAGE = `Usage: node --import tsx reliability/src/chaos/worker.ts --node NAME --node-id N --inc N
  --role master|backup --listen HOST:PORT --connect HOST:PORT --admin PATH --events FILE --log FILE
  [--seed N] [--tick-ms N] [--max-body N] [--confirm-fraction F] [--max-confirming N]
  [--handshake-timeout-ms N] [--dead-connection-ms N] [--linger-ms N]
  [--backoff-initial-ms N] [--backoff-max-ms N] [--gc-on-stats] [--peer-fault NAME]`;

/** Settings of a worker, as its command line gives them. */
export interface WorkerSettings {
  /** Side name (`a`, `b`), also the peer's node name. */
  readonly node: string;
  /** Node id (1–255), carried in every traffic body. */
  readonly nodeId: number;
  /** Incarnation (1–65535), carried in every traffic body. */
  readonly inc: number;
  /** Role at start. */
  readonly role: Role;
  /** Where to listen as master. */
  readonly listen: Endpoint;
  /** Where the master listens, as backup. */
  readonly connect: Endpoint;
  /** Unix socket path of the admin server. */
  readonly admin: string;
  /** Path of the peer's event file. */
  readonly events: string;
  /** Path of the worker's own log ({@link WorkerLine}). */
  readonly log: string;
  /** Seed of the traffic PRNG (which client confirms, nothing else). */
  readonly seed: number;
  /** Traffic: one message per client every `tickMs` while the session is up. */
  readonly tickMs: number;
  /** Largest data part of a message, in bytes. */
  readonly maxBody: number;
  /** Fraction of messages sent with confirmation. */
  readonly confirmFraction: number;
  /** Most confirmed sends waiting at once; beyond it a message goes unconfirmed. */
  readonly maxConfirming: number;
  /** Peer timers, ms (the peer's options of the same names). */
  readonly handshakeTimeoutMs: number;
  readonly deadConnectionMs: number;
  readonly lingerMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Run a full garbage collection (`--expose-gc`) before answering `stats`, so memory samples are comparable. */
  readonly gcOnStats: boolean;
  /** A deliberate fault of the peer ({@link PeerFaults}), for the harness's self-test only. */
  readonly peerFault: keyof PeerFaults | undefined;
}

/** The {@link PeerFaults} switches a worker accepts. */
export const PEER_FAULTS: readonly (keyof PeerFaults)[] = [
  'ignoreVersionRanges',
  'acceptWrongChannel',
  'acceptSecondSession',
  'ignoreShutdownReason',
  'periodicNeverFires',
  'keepHalfBoundSession',
];

function endpoint(name: string, text: string | undefined): Endpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text ?? '') ?? /^([^:[\]]+):(\d+)$/.exec(text ?? '');
  if (m === null) throw new Error(`--${name} must be HOST:PORT, got ${JSON.stringify(text)}\n${WORKER_USAGE}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * Parses the worker's command line.
 *
 * @throws Error naming the option that is missing or malformed.
 */
export function parseWorkerArgs(argv: readonly string[]): WorkerSettings {
  const stringOptions = [
    'node',
    'node-id',
    'inc',
    'role',
    'listen',
    'connect',
    'admin',
    'events',
    'log',
    'seed',
    'tick-ms',
    'max-body',
    'confirm-fraction',
    'max-confirming',
    'handshake-timeout-ms',
    'dead-connection-ms',
    'linger-ms',
    'backoff-initial-ms',
    'backoff-max-ms',
    'peer-fault',
  ];
  const options: Record<string, { type: 'string' | 'boolean' }> = Object.fromEntries(
    stringOptions.map((k) => [k, { type: 'string' }]),
  );
  options['gc-on-stats'] = { type: 'boolean' };
  const values = parseArgs({ args: [...argv], options, strict: true }).values as Record<
    string,
    string | boolean | undefined
  >;
  const text = (k: string): string => {
    const v = values[k];
    if (typeof v !== 'string' || v === '') throw new Error(`--${k} is required\n${WORKER_USAGE}`);
    return v;
  };
  const num = (k: string, fallback: number): number => {
    const v = values[k];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(n) || n < 0)
      throw new Error(`--${k} must be a non-negative number, got ${JSON.stringify(v)}`);
    return n;
  };
  const fault = values['peer-fault'];
  if (fault !== undefined && !(PEER_FAULTS as readonly unknown[]).includes(fault))
    throw new Error(`--peer-fault must be one of ${PEER_FAULTS.join(', ')}`);
  const role = text('role');
  if (role !== 'master' && role !== 'backup')
    throw new Error(`--role must be master or backup, got ${JSON.stringify(role)}`);
  const nodeId = num('node-id', 0);
  const inc = num('inc', 0);
  if (!Number.isInteger(nodeId) || nodeId < 1 || nodeId > 255)
    throw new Error('--node-id must be an integer from 1 to 255');
  if (!Number.isInteger(inc) || inc < 1 || inc > 0xffff) throw new Error('--inc must be an integer from 1 to 65535');
  return {
    node: text('node'),
    nodeId,
    inc,
    role,
    listen: endpoint('listen', text('listen')),
    connect: endpoint('connect', text('connect')),
    admin: text('admin'),
    events: text('events'),
    log: text('log'),
    seed: num('seed', 1) >>> 0,
    tickMs: num('tick-ms', 10),
    maxBody: num('max-body', 1500),
    confirmFraction: num('confirm-fraction', 0.25),
    maxConfirming: num('max-confirming', 256),
    handshakeTimeoutMs: num('handshake-timeout-ms', 1000),
    deadConnectionMs: num('dead-connection-ms', 3000),
    lingerMs: num('linger-ms', 1000),
    backoffInitialMs: num('backoff-initial-ms', 50),
    backoffMaxMs: num('backoff-max-ms', 400),
    gcOnStats: values['gc-on-stats'] === true,
    peerFault: fault as keyof PeerFaults | undefined,
  };
}

/** Active resources by kind. */
function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** Kinds of which more are active now than in `baseline`, with how many more. */
function beyond(baseline: Map<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, n] of resourceCounts())
    if (n > (baseline.get(kind) ?? 0)) extra[kind] = n - (baseline.get(kind) ?? 0);
  return extra;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The worker's log: one synchronous write per line. */
class LineLog {
  private fd: number | undefined;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(line: LineInput): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify({ ts: Date.now(), ...line })}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Counters the worker adds to the admin `stats` answer, under `chaos`. */
export interface WorkerCounters {
  /** Sends made, with and without confirmation. */
  sent: number;
  /** Confirmed sends the other side accepted. */
  confirmed: number;
  /** Sends that failed, by code. */
  failed: Record<string, number>;
  /** Messages delivered whole. */
  delivered: number;
  /** Messages delivered damaged. */
  damaged: number;
  /** Peer `error` events, by code. */
  errors: Record<string, number>;
  /** `process.memoryUsage()` when the stats were asked for (after a full collection with `--gc-on-stats`). */
  memory?: NodeJS.MemoryUsage;
}

/** Runs the worker until SIGTERM or SIGINT. */
export async function runWorker(s: WorkerSettings): Promise<void> {
  // stdout and stderr are created lazily: touch them before the baseline, so that they count in it.
  void process.stdout.writable;
  void process.stderr.writable;
  const baseline = resourceCounts();
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const log = new LineLog(s.log);
  log.write({ t: 'start', node: s.node, nodeId: s.nodeId, inc: s.inc, role: s.role, pid: process.pid });

  const peer = new KkcmPeer({
    role: s.role,
    listen: s.listen,
    connect: s.connect,
    nodeId: s.nodeId,
    nodeName: s.node,
    handshakeTimeoutMs: s.handshakeTimeoutMs,
    deadConnectionMs: s.deadConnectionMs,
    lingerMs: s.lingerMs,
    backoff: { initialMs: s.backoffInitialMs, maxMs: s.backoffMaxMs },
    ...(s.peerFault !== undefined ? { faults: { [s.peerFault]: true } } : {}),
  });
  const counters: WorkerCounters = { sent: 0, confirmed: 0, failed: {}, delivered: 0, damaged: 0, errors: {} };
  peer.on('event', (e) => {
    if (e.event === 'error') counters.errors[e.code] = (counters.errors[e.code] ?? 0) + 1;
  });
  const sid = (): string | null => peer.sessionId?.toString() ?? null;
  for (const client of TRAFFIC_CLIENTS) {
    peer.register(client, {
      init: (id) => log.write({ t: 'init', c: client, sid: id.toString() }),
      message: (msg) => {
        const check = checkTrafficMessage(msg, s.maxBody);
        if (check.client === null) {
          log.write({ t: 'stray', c: client, name: check.name });
          return;
        }
        if (check.ok) counters.delivered++;
        else counters.damaged++;
        log.write({
          t: 'rx',
          c: check.client,
          n: check.node,
          i: check.inc,
          q: check.seq,
          sid: sid(),
          ok: check.ok,
          ...(check.why !== undefined ? { why: check.why } : {}),
        });
      },
      cleanup: (info) =>
        log.write({
          t: 'cleanup',
          c: client,
          sid: info.sessionId.toString(),
          reason: info.reason,
          detail: info.detail,
        }),
    });
  }
  const events = attachEventLog(peer, s.events, { filter: { events: EVENT_FILE_EVENTS } });
  const gc = (globalThis as { gc?: () => void }).gc;
  const admin = await startAdminServer(
    peer,
    { path: s.admin },
    {
      extraStats: () => {
        if (s.gcOnStats) gc?.();
        return { chaos: { ...counters, memory: process.memoryUsage() } };
      },
    },
  );

  // Traffic: one message per client per tick while the session is up.
  const prng = new Prng(s.seed);
  const nextSeq: Record<TrafficClient, number> = { iha: 0, sdrl: 0, psrm: 0, prl: 0 };
  let confirming = 0;
  let stopping = false;
  let tickTimer: NodeJS.Timeout | undefined;
  const sendOne = (client: TrafficClient, session: string): void => {
    const q = nextSeq[client]++;
    const confirm = confirming < s.maxConfirming && prng.chance(s.confirmFraction);
    const msg = makeTrafficMessage(client, { node: s.nodeId, inc: s.inc, seq: q }, s.maxBody);
    log.write({ t: 'tx', c: client, q, sid: session, cf: confirm ? 1 : 0 });
    counters.sent++;
    if (confirm) confirming++;
    peer.send(client, msg, { confirm }).then(
      () => {
        if (!confirm) return;
        confirming--;
        counters.confirmed++;
        log.write({ t: 'txr', c: client, q, r: 'confirmed' });
      },
      (err: unknown) => {
        if (confirm) confirming--;
        const code = (err as { code?: unknown }).code;
        const r = typeof code === 'string' ? code : `ERR_UNCODED: ${String(err)}`;
        counters.failed[r] = (counters.failed[r] ?? 0) + 1;
        log.write({ t: 'txr', c: client, q, r });
      },
    );
  };
  const tick = (): void => {
    tickTimer = undefined;
    if (stopping) return;
    const session = peer.sessionUp ? sid() : null;
    if (session !== null) for (const client of TRAFFIC_CLIENTS) sendOne(client, session);
    tickTimer = setTimeout(tick, s.tickMs);
  };

  await peer.configure();
  log.write({ t: 'ready' });
  process.stdout.write(`chaos-worker: ready node=${s.node} inc=${s.inc} pid=${process.pid}\n`);
  tick();

  const signal = await stopRequested;
  const started = Date.now();
  stopping = true;
  if (tickTimer !== undefined) clearTimeout(tickTimer);
  await peer.stop();
  await events.close();
  await admin.close();
  // Connections close after the other side answers our SHUTDOWN, or at the linger time.
  const deadline = Date.now() + s.lingerMs + 1000;
  while (Object.keys(beyond(baseline)).length > 0 && Date.now() < deadline) await sleep(20);
  log.write({
    t: 'exit',
    resources: process.getActiveResourcesInfo(),
    leaked: beyond(baseline),
    stopMs: Date.now() - started,
    signal,
  });
  log.close();
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  setTimeout(() => process.exit(EXIT_STUCK), EXIT_GRACE_MS).unref();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let settings: WorkerSettings;
  try {
    settings = parseWorkerArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  runWorker(settings).catch((err: unknown) => {
    process.stderr.write(`chaos-worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
