/**
 * One reference peer in its own process, for the chaos run and the soak: the peer with the
 * four illustrative clients, an admin server on a Unix socket path (it works across network
 * namespaces), the peer's event file, and a traffic generator on all four clients.
 *
 * Every traffic message carries its sender node, the sender's incarnation (process start
 * number), a sequence number per (sender, incarnation, client) and a body derived from the
 * three, so the receiver checks it whole (traffic.ts). A fraction is sent
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
 * `WORKER_USAGE` in worker-args.ts), possibly behind `ip netns exec NS`; prints
 * `chaos-worker: ready node=a inc=1 pid=N` once configured.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decodeClientMessage, type KnownMessage } from '../../../codec/src/index.js';
import { KkcmPeer, type PeerEventName, type Role } from '../../../reference-impl/src/index.js';
import { startAdminServer } from '../../../reference-impl/src/admin.js';
import { attachEventLog } from '../../../reference-impl/src/trace/event-log.js';
import { Prng } from '../prng.js';
import { checkTrafficMessage, makeTrafficMessage, TRAFFIC_CLIENTS, type TrafficClient } from './traffic.js';
import { parseWorkerArgs, type WorkerSettings } from './worker-args.js';

// The oracle (owned elsewhere) and the chaos test still import these from here.
export { checkTrafficMessage, makeTrafficMessage, TRAFFIC_CLIENTS };

/** Exit code of a worker whose event loop did not end after its clean stop (something still runs). */
export const EXIT_STUCK = 3;

/** Time the event loop gets to end by itself after the `exit` line, in ms. */
export const EXIT_GRACE_MS = 3000;

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
      message: (raw) => {
        // The body is the client's to decode (design 7.2.e); one that does not decode is
        // refused: the sender gets NACK ERR_HANDLER_FAILED when it asked for confirmation.
        let msg: KnownMessage;
        try {
          msg = decodeClientMessage(raw);
        } catch {
          counters.damaged++;
          return false;
        }
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
