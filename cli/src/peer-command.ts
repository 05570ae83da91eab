/**
 * `kkcm peer`: runs the reference peer as a process — master (listens) or backup
 * (connects) — with the four illustrative clients, optional event and pcapng files, an
 * admin socket for `kkcm ctl`, and a clean shutdown on SIGINT/SIGTERM.
 *
 * @module
 */
import {
  DEFAULT_ACCEPT_RATE_WHILE_UP,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  KkcmPeer,
  TlsTransport,
  type Endpoint,
  type PeerOptions,
  type Role,
} from '../../reference-impl/src/index.js';
import { parseAdminAddress, startAdminServer, type AdminServer } from '../../reference-impl/src/admin.js';
import { attachEventLog, type EventLog } from '../../reference-impl/src/trace/event-log.js';
import { parseTraceFilter, type TraceFilter } from '../../reference-impl/src/trace/filter.js';
import { attachPcapng } from '../../reference-impl/src/trace/pcapng.js';
import { Limits, Timers } from '../../codec/src/index.js';
import { stringArg, type Command, type CommandArgs, type OptionSpec } from './command.js';
import { registerCountingClients } from './clients.js';
import { ExitCode, intOption, readInputFile, UsageError, type Io } from './io.js';
import { attachLogger, LOG_LEVELS, logLevelOption, type LogLevel } from './peer-log.js';

const DESCRIPTION = `Runs a reference KKCM peer until SIGINT or SIGTERM. One side listens for the other's two
connections (send and receive channels), the other connects; which one is the topology's
rule (design 7.2.b.2), not the protocol role: with --topology cluster (the default) the
master listens and the backup connects, and the listener moves with mastership, so give both
--listen and --connect to let the roles swap after a switchover or a peer-down; with
--topology dual-re the RE in --slot 0 listens and the RE in --slot 1 connects, whatever their
roles, through every switchover. The four
illustrative clients (iha, sdrl, psrm, prl) are registered and count what they receive
(see \`kkcm ctl stats\`).

Once listening (master) or configured (backup) it prints one line on standard output:
  kkcm peer: ready role=master listen=127.0.0.1:41234 admin=127.0.0.1:41235
with the actual ports when port 0 was asked. On SIGINT/SIGTERM it stops: SHUTDOWN to the
other side, every client's cleanup, files flushed and closed, admin socket closed; exit 0.`;

const EPILOG = `Examples:
  kkcm peer --role master --listen 127.0.0.1:7000 --admin /tmp/kkcm-re0.sock
  kkcm peer --topology dual-re --slot 0 --role backup --listen 127.0.0.1:7000
  kkcm peer --topology dual-re --slot 1 --role master --connect 127.0.0.1:7000
  kkcm peer --role backup --connect 127.0.0.1:7000 --listen 127.0.0.1:7001 --node-name re1
  kkcm peer --role master --listen 127.0.0.1:0 --events events.jsonl --pcap kkcm.pcapng \\
      --trace-filter "type=prl" --log-level debug
`;

const OPTIONS = {
  role: { type: 'string', value: 'ROLE', description: 'protocol role at start: master or backup (required)' },
  topology: {
    type: 'string',
    value: 'NAME',
    description: 'who listens: cluster (the master; default) or dual-re (the RE in slot 0)',
  },
  slot: { type: 'string', value: '0|1', description: 'dual-re: this RE slot (required there; 0 listens, 1 connects)' },
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'where to listen when this side listens (port 0: any free port)',
  },
  connect: { type: 'string', value: 'HOST:PORT', description: 'where the other side listens, when this side connects' },
  'node-id': { type: 'string', value: 'N', description: 'node id sent in HELLO (default the slot in dual-re, else 0)' },
  'node-name': { type: 'string', value: 'NAME', description: 'node name sent in HELLO (default empty)' },
  admin: {
    type: 'string',
    value: 'HOST:PORT|PATH',
    description: 'admin socket for `kkcm ctl` (TCP or a Unix socket path)',
  },
  events: { type: 'string', value: 'FILE', description: 'write every event as JSON Lines to FILE' },
  pcap: { type: 'string', value: 'FILE', description: 'write every message to FILE (pcapng)' },
  'trace-filter': {
    type: 'string',
    value: 'EXPR',
    description:
      'keep only some events/messages in --events and --pcap: clauses key=value[,value…] with key event, type, name or channel, e.g. "type=prl,0x7f" or "name=prl.* event=tx,rx,session-up"',
  },
  'periodic-ms': { type: 'string', value: 'N', description: 'periodic timer interval in ms (default 1000)' },
  'max-message': {
    type: 'string',
    value: 'N',
    description: `largest message accepted, header included (default ${Limits.defaultMaxMessage})`,
  },
  'queue-messages': {
    type: 'string',
    value: 'N',
    description: `output queue bound per channel, in messages (default ${Limits.defaultQueueMessages}); a send finds the queue full beyond it (ERR_QUEUE_FULL, or waits)`,
  },
  'handshake-timeout-ms': {
    type: 'string',
    value: 'N',
    description: `time for a connection's handshake and for a session's two channels to come up, in ms (default ${Timers.handshakeTimeoutMs})`,
  },
  'backoff-max-ms': {
    type: 'string',
    value: 'N',
    description: `largest delay between the backup's connection attempts, in ms (default ${Timers.reconnectMaxMs})`,
  },
  allow: { type: 'string', value: 'HOST[,HOST]', description: 'hosts allowed to connect (default any)' },
  'max-pending': {
    type: 'string',
    value: 'N',
    description: `connections that may be handshaking at once (default ${DEFAULT_MAX_PENDING_CONNECTIONS}); one more is closed as soon as it is accepted (ERR_TOO_MANY_CONNECTIONS)`,
  },
  'accept-rate': {
    type: 'string',
    value: 'N',
    description: `connections per second taken into the handshake while a session is up (default ${DEFAULT_ACCEPT_RATE_WHILE_UP}); beyond it a connection is closed as soon as it is accepted (ERR_TOO_MANY_CONNECTIONS), not answered`,
  },
  'tls-cert': {
    type: 'string',
    value: 'FILE',
    description:
      "this peer's certificate (PEM). With --tls-key and --tls-ca, every connection uses TLS with mutual authentication: each side's certificate must be signed by the CA, and cleartext is refused (ERR_TLS_REQUIRED); a refused certificate is ERR_TLS_HANDSHAKE",
  },
  'tls-key': { type: 'string', value: 'FILE', description: "this peer's private key (PEM)" },
  'tls-ca': { type: 'string', value: 'FILE', description: "the CA that signs the other side's certificate (PEM)" },
  'tls-required': { type: 'boolean', description: 'refuse to start unless the three --tls-* files are given' },
  'conformance-probe': {
    type: 'boolean',
    description: 'register the conformance probe client (for `kkcm conformance`)',
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    description: `${LOG_LEVELS.join(', ')} (default info): human log lines on standard error; info shows session up/down, cleanups, errors`,
  },
} as const satisfies OptionSpec;

/**
 * Parses a `HOST:PORT` option (`[v6]:PORT` for IPv6).
 *
 * @throws UsageError when the value is not HOST:PORT with a port from 0 to 65535.
 */
export function endpointOption(name: string, value: string | undefined): Endpoint | undefined {
  if (value === undefined) return undefined;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  if (m === null || Number(m[2]) > 65535)
    throw new UsageError(`--${name} must be HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

const formatEndpoint = (e: Endpoint): string =>
  e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;

/** A stop request: resolves with the signal name; `dispose` removes the handlers. */
export interface StopSignal {
  readonly promise: Promise<string>;
  dispose(): void;
}

/** Resolves on the first SIGINT or SIGTERM; a second one gets Node's default (exit). */
export function processStopSignal(): StopSignal {
  let dispose = (): void => undefined;
  const promise = new Promise<string>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      dispose();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    dispose = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  });
  return { promise, dispose: () => dispose() };
}

interface PeerSettings {
  readonly options: PeerOptions;
  readonly admin: string | undefined;
  readonly events: string | undefined;
  readonly pcap: string | undefined;
  readonly filter: TraceFilter | undefined;
  readonly logLevel: LogLevel;
}

/**
 * The TLS transport of `--tls-cert`, `--tls-key` and `--tls-ca` (all three or none).
 *
 * @throws UsageError when only some are given, a file cannot be read, or `--tls-required`
 *   is given without them.
 */
function tlsOption(args: CommandArgs, handshakeTimeoutMs: number | undefined): TlsTransport | undefined {
  const files = { cert: stringArg(args, 'tls-cert'), key: stringArg(args, 'tls-key'), ca: stringArg(args, 'tls-ca') };
  const given = Object.entries(files)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => `--tls-${k}`);
  if (given.length === 0) {
    if (args.values['tls-required'] === true)
      throw new UsageError('--tls-required needs --tls-cert, --tls-key and --tls-ca');
    return undefined;
  }
  if (given.length < 3)
    throw new UsageError(`TLS needs --tls-cert, --tls-key and --tls-ca together; got only ${given.join(', ')}`);
  return new TlsTransport({
    cert: readInputFile(files.cert!),
    key: readInputFile(files.key!),
    ca: readInputFile(files.ca!),
    ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
  });
}

function settings(args: CommandArgs): PeerSettings {
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const role = stringArg(args, 'role');
  if (role !== 'master' && role !== 'backup')
    throw new UsageError(
      role === undefined
        ? '--role is required (master or backup)'
        : `--role must be master or backup, got ${JSON.stringify(role)}`,
    );
  const listen = endpointOption('listen', stringArg(args, 'listen'));
  const connect = endpointOption('connect', stringArg(args, 'connect'));
  const topology = stringArg(args, 'topology') ?? 'cluster';
  if (topology !== 'cluster' && topology !== 'dual-re')
    throw new UsageError(`--topology must be cluster or dual-re, got ${JSON.stringify(topology)}`);
  const slotText = stringArg(args, 'slot');
  if (slotText !== undefined && slotText !== '0' && slotText !== '1')
    throw new UsageError(`--slot must be 0 or 1, got ${JSON.stringify(slotText)}`);
  const slot = slotText === undefined ? undefined : slotText === '0' ? 0 : 1;
  if (topology === 'dual-re' && slot === undefined) throw new UsageError('--topology dual-re needs --slot 0 or 1');
  if (topology === 'cluster' && slot !== undefined) throw new UsageError('--slot belongs to --topology dual-re');
  const listens = topology === 'dual-re' ? slot === 0 : role === 'master';
  if (listens && listen === undefined)
    throw new UsageError(`${topology === 'dual-re' ? 'RE0' : 'the master'} listens: it needs --listen HOST:PORT`);
  if (!listens && connect === undefined)
    throw new UsageError(`${topology === 'dual-re' ? 'RE1' : 'the backup'} connects: it needs --connect HOST:PORT`);
  const nodeId = intOption('node-id', stringArg(args, 'node-id'));
  if (nodeId !== undefined && nodeId > 0xffffffff) throw new UsageError('--node-id must fit in 32 bits');
  const periodicMs = intOption('periodic-ms', stringArg(args, 'periodic-ms'));
  if (periodicMs === 0) throw new UsageError('--periodic-ms must be at least 1');
  const maxMessage = intOption('max-message', stringArg(args, 'max-message'));
  if (maxMessage !== undefined && (maxMessage < Limits.minMaxMessage || maxMessage > Limits.absoluteMaxMessage)) {
    throw new UsageError(`--max-message must be from ${Limits.minMaxMessage} to ${Limits.absoluteMaxMessage}`);
  }
  const queueMessages = intOption('queue-messages', stringArg(args, 'queue-messages'));
  if (queueMessages === 0) throw new UsageError('--queue-messages must be at least 1');
  const handshakeTimeoutMs = intOption('handshake-timeout-ms', stringArg(args, 'handshake-timeout-ms'));
  if (handshakeTimeoutMs === 0) throw new UsageError('--handshake-timeout-ms must be at least 1');
  const backoffMaxMs = intOption('backoff-max-ms', stringArg(args, 'backoff-max-ms'));
  if (backoffMaxMs === 0) throw new UsageError('--backoff-max-ms must be at least 1');
  const allowText = stringArg(args, 'allow');
  const allow = allowText
    ?.split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (allowText !== undefined && allow!.length === 0) throw new UsageError('--allow needs at least one host');
  const maxPendingConnections = intOption('max-pending', stringArg(args, 'max-pending'));
  if (maxPendingConnections === 0) throw new UsageError('--max-pending must be at least 1');
  const acceptRateWhileUp = intOption('accept-rate', stringArg(args, 'accept-rate'));
  if (acceptRateWhileUp === 0) throw new UsageError('--accept-rate must be at least 1');
  const tls = tlsOption(args, handshakeTimeoutMs);
  const admin = stringArg(args, 'admin');
  if (admin !== undefined) {
    try {
      parseAdminAddress(admin);
    } catch (err) {
      throw new UsageError(`--admin: ${(err as Error).message}`);
    }
  }
  const filterText = stringArg(args, 'trace-filter');
  let filter: TraceFilter | undefined;
  if (filterText !== undefined) {
    try {
      filter = parseTraceFilter(filterText);
    } catch (err) {
      throw new UsageError(`--trace-filter: ${(err as Error).message}`);
    }
  }
  const nodeName = stringArg(args, 'node-name');
  return {
    options: {
      role: role as Role,
      topology,
      ...(slot !== undefined ? { slot } : {}),
      ...(listen !== undefined ? { listen } : {}),
      ...(connect !== undefined ? { connect } : {}),
      ...(nodeId !== undefined ? { nodeId } : {}),
      ...(nodeName !== undefined ? { nodeName } : {}),
      ...(periodicMs !== undefined ? { periodicMs } : {}),
      ...(maxMessage !== undefined ? { maxMessage } : {}),
      ...(queueMessages !== undefined ? { queueMessages } : {}),
      ...(handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs } : {}),
      ...(backoffMaxMs !== undefined ? { backoff: { maxMs: backoffMaxMs } } : {}),
      ...(allow !== undefined ? { allow } : {}),
      ...(maxPendingConnections !== undefined ? { maxPendingConnections } : {}),
      ...(acceptRateWhileUp !== undefined ? { acceptRateWhileUp } : {}),
      ...(tls !== undefined ? { transport: tls } : {}),
      conformanceProbe: args.values['conformance-probe'] === true,
    },
    admin,
    events: stringArg(args, 'events'),
    pcap: stringArg(args, 'pcap'),
    filter,
    logLevel: logLevelOption(stringArg(args, 'log-level')),
  };
}

/** Anything with an async close: trace files, the admin server. */
interface Closable {
  close(): Promise<void>;
}

const describe = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`;
};

/**
 * Runs a peer until `stop` resolves (the CLI passes SIGINT/SIGTERM).
 *
 * @returns 0 after a clean stop; 1 when it could not start (address in use, a file that
 *   cannot be created…) or a file failed while closing.
 * @throws UsageError for bad options.
 */
export async function runPeer(args: CommandArgs, io: Io, stop: StopSignal): Promise<number> {
  let s: PeerSettings;
  try {
    s = settings(args);
  } catch (err) {
    stop.dispose();
    throw err;
  }
  const say = (level: LogLevel, text: string): void => {
    if (LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(s.logLevel))
      io.err(`${new Date().toISOString()} ${level.padEnd(5)} ${text}\n`);
  };
  const peer = new KkcmPeer(s.options);
  const counters = registerCountingClients(peer);
  const detachLogger = attachLogger(peer, s.logLevel, io.err);
  const closables: Closable[] = [];
  let events: EventLog | undefined;
  let admin: AdminServer | undefined;
  let code: number = ExitCode.ok;
  try {
    try {
      if (s.events !== undefined) {
        events = attachEventLog(peer, s.events, { filter: s.filter });
        closables.push(events);
      }
      if (s.pcap !== undefined) closables.push(attachPcapng(peer, s.pcap, { filter: s.filter }));
      if (s.admin !== undefined) {
        admin = await startAdminServer(peer, s.admin, { extraStats: () => ({ clients: counters }) });
        closables.push(admin);
      }
      await peer.configure();
    } catch (err) {
      io.err(`kkcm peer: ${describe(err)}\n`);
      return ExitCode.failure;
    }
    const parts = [`role=${peer.role}`];
    if (s.options.topology === 'dual-re') parts.push(`topology=dual-re slot=${s.options.slot}`);
    const listening = peer.listenAddress;
    if (listening !== undefined) parts.push(`listen=${formatEndpoint(listening)}`);
    if (s.options.connect !== undefined) parts.push(`connect=${formatEndpoint(s.options.connect)}`);
    if (s.options.transport instanceof TlsTransport) parts.push('tls=mutual');
    if (admin !== undefined) parts.push(`admin=${admin.address}`);
    if (s.events !== undefined) parts.push(`events=${s.events}`);
    if (s.pcap !== undefined) parts.push(`pcap=${s.pcap}`);
    io.out(`kkcm peer: ready ${parts.join(' ')}\n`);
    const signal = await stop.promise;
    say('info', `${signal}: stopping`);
  } finally {
    stop.dispose();
    await peer.stop();
    detachLogger();
    // Files last: they hold the SHUTDOWN and cleanup lines that stop() just produced.
    for (const c of closables.reverse()) {
      try {
        await c.close();
      } catch (err) {
        io.err(`kkcm peer: ${describe(err)}\n`);
        code = ExitCode.failure;
      }
    }
  }
  if (events !== undefined && events.dropped > 0)
    say('warn', `${events.dropped} event lines were dropped (the disk could not keep up)`);
  say('info', 'stopped');
  return code;
}

/** `kkcm peer …`: runs a peer until SIGINT or SIGTERM. */
export const peerCommand: Command = {
  summary: 'run a reference peer (master or backup) until SIGINT/SIGTERM',
  usage: `kkcm peer --role master --listen HOST:PORT [options]
       kkcm peer --role backup --connect HOST:PORT [options]`,
  description: DESCRIPTION,
  options: OPTIONS,
  epilog: EPILOG,
  run: (args, io) => runPeer(args, io, processStopSignal()),
};
