/**
 * The chaos worker's command line: its usage, its settings, and their parsing and checks.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { Endpoint, PeerFaults, Role } from '../../../reference-impl/src/index.js';

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
