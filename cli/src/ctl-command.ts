/**
 * `kkcm ctl`: talks to a running `kkcm peer` over its admin socket — status, counters, and
 * the triggers of design 6.2.1 (switchover, peer down/up, NSR deconfigured/configured).
 *
 * @module
 */
import { ADMIN_ERRORS, adminRequest, type AdminRequest } from '../../reference-impl/src/admin.js';
import type { PeerStats, PeerStatus } from '../../reference-impl/src/index.js';
import { Feature } from '../../codec/src/index.js';
import { stringArg, type Command, type CommandArgs, type OptionSpec } from './command.js';
import { ExitCode, intOption, UsageError, type Io } from './io.js';

/** Commands of `kkcm ctl`, with what each does. */
export const CTL_COMMANDS = {
  status: 'session, roles, negotiated version, queue depths',
  stats: 'counters: channels, messages by name, errors, sessions, cleanups, clients',
  switchover:
    'manual mastership switchover (--to backup relinquishes, --to master acquires; a role already held does nothing)',
  deconfigure: 'NSR deconfigured: SHUTDOWN, cleanup with nsrDeconfigured, sockets closed',
  configure: 'NSR configured: the listening side listens, the connecting side connects',
  'peer-down': 'membership: the other side went offline (cleanup with peerDown)',
  'peer-up': 'membership: the other side is up again (the connecting side reconnects)',
  send: 'send one message on behalf of a client (--client, --message; --confirm, --wait)',
} as const;

const DESCRIPTION = `Talks to a running \`kkcm peer\` through its admin socket (its --admin option).

Commands:
${Object.entries(CTL_COMMANDS)
  .map(([name, text]) => `  ${name.padEnd(12)} ${text}`)
  .join('\n')}`;

const EPILOG = `Exit 1 with one line \`kkcm ctl: CODE: message\` when the peer cannot be reached or
answers an error: a peer error from the spec (ERR_NO_SESSION, ERR_NOT_CONFIGURED…, see
docs/errors.md) or one of the admin protocol's own:
${Object.entries(ADMIN_ERRORS)
  .map(([code, text]) => `  ${code.padEnd(31)} ${text}`)
  .join('\n')}

Examples:
  kkcm ctl status --admin 127.0.0.1:7100
  kkcm ctl stats --admin /tmp/kkcm-re0.sock --json | jq .clients.prl.messages
  kkcm ctl switchover --to backup --admin /tmp/kkcm-re0.sock    # the primary relinquishes
  kkcm ctl switchover --to master --admin /tmp/kkcm-re1.sock    # the secondary acquires
  kkcm ctl send --admin 127.0.0.1:7100 --client prl --confirm \\
      --message '{"name":"prl.packetDrop","body":{"handle":7,"count":3}}'
`;

const OPTIONS = {
  admin: { type: 'string', value: 'HOST:PORT|PATH', description: "the peer's admin address (required)" },
  json: { type: 'boolean', description: 'print the result as JSON' },
  to: {
    type: 'string',
    value: 'ROLE',
    description: 'switchover: the role this side takes (design 6.2.1.c); without it the role swaps whatever it is',
  },
  timeout: { type: 'string', value: 'MS', description: 'give up after MS milliseconds (default 10000)' },
  client: { type: 'string', value: 'NAME', description: 'send: the sending client (iha, sdrl, psrm, prl, probe)' },
  message: { type: 'string', value: 'JSON', description: 'send: the message, in the form `kkcm encode` takes' },
  confirm: { type: 'boolean', description: 'send: wait for delivery confirmation by the other side' },
  wait: { type: 'boolean', description: 'send: wait for room when the queue is full' },
} as const satisfies OptionSpec;

const sessionHex = (id: string): string => `0x${BigInt(id).toString(16).padStart(16, '0')}`;

function featureNames(bits: number): string {
  const names = Object.entries(Feature)
    .filter(([, bit]) => (bits & bit) !== 0)
    .map(([name]) => name);
  const unknown = Object.values(Feature).reduce((rest, bit) => rest & ~bit, bits);
  if (unknown !== 0) names.push(`0x${(unknown >>> 0).toString(16)}`);
  return names.length === 0 ? 'none' : names.join('+');
}

/** Readable lines of a peer's status. */
export function formatStatus(s: PeerStatus): string {
  const rows: [string, string][] = [
    [
      'role',
      `${s.role} (${s.configured ? 'configured' : 'not configured'}; other side ${s.peerAlive ? 'up' : 'down'})`,
    ],
    ['state', s.state],
    [
      'session',
      s.session === null
        ? 'none'
        : `${sessionHex(s.session.id)}, version ${s.session.version}, features ${featureNames(s.session.features)}, peer node ${JSON.stringify(s.session.peerNode)}`,
    ],
    ['listening', s.listening === null ? 'no' : `${s.listening.host}:${s.listening.port}`],
    ...Object.entries(s.queues).map(([ch, q]): [string, string] => [
      `${ch} queue`,
      `${q.depth} messages, ${q.bytes} bytes (high water ${q.highWater})`,
    ]),
    ['clients', s.clients.length === 0 ? 'none' : s.clients.join(', ')],
  ];
  return rows.map(([k, v]) => `${k.padEnd(14)} ${v}\n`).join('');
}

const counts = (r: Record<string, number>): string => {
  const entries = Object.entries(r);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
};

/** Client counters as `kkcm peer` adds them to `stats`. */
interface ClientsStats {
  readonly clients?: Record<
    string,
    {
      messages: number;
      periodic: number;
      cleanups: Record<string, number>;
      lastCleanup: null | { reason: string; detail: string };
    }
  >;
}

/** Readable lines of a peer's counters. */
export function formatStats(s: PeerStats & ClientsStats): string {
  const lines: string[] = [];
  lines.push(
    `${'channel'.padEnd(10)}${'tx msgs'.padStart(10)}${'tx bytes'.padStart(12)}${'rx msgs'.padStart(10)}${'rx bytes'.padStart(12)}${'queue'.padStart(8)}${'high water'.padStart(12)}`,
  );
  for (const [ch, c] of Object.entries(s.channels)) {
    lines.push(
      `${ch.padEnd(10)}${String(c.txMessages).padStart(10)}${String(c.txBytes).padStart(12)}${String(c.rxMessages).padStart(10)}${String(c.rxBytes).padStart(12)}${String(c.queueDepth).padStart(8)}${String(c.queueHighWater).padStart(12)}`,
    );
  }
  lines.push('');
  lines.push(`sessions     up ${s.sessions.up}, down ${s.sessions.down}`);
  lines.push(`cleanups     ${counts(s.cleanups)}`);
  lines.push(`errors       ${counts(s.errors)}`);
  lines.push(
    `other        handler errors ${s.handlerErrors}, undelivered ${s.undelivered}, ignored ${s.ignored}, connections accepted ${s.connectionsAccepted}, refused ${s.connectionsRefused}`,
  );
  const types = Object.entries(s.types);
  if (types.length > 0) {
    lines.push('');
    lines.push(
      `${'message'.padEnd(24)}${'tx'.padStart(8)}${'rx'.padStart(8)}${'tx bytes'.padStart(12)}${'rx bytes'.padStart(12)}`,
    );
    for (const [name, t] of types.sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(
        `${name.padEnd(24)}${String(t.tx).padStart(8)}${String(t.rx).padStart(8)}${String(t.txBytes).padStart(12)}${String(t.rxBytes).padStart(12)}`,
      );
    }
  }
  if (s.clients !== undefined) {
    lines.push('');
    for (const [name, c] of Object.entries(s.clients)) {
      const last = c.lastCleanup === null ? '' : `; last cleanup ${c.lastCleanup.reason} (${c.lastCleanup.detail})`;
      lines.push(
        `client ${name.padEnd(6)} ${c.messages} messages, ${c.periodic} periodic ticks, cleanups: ${counts(c.cleanups)}${last}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function request(command: string, args: CommandArgs): AdminRequest {
  if (command === 'switchover') {
    const to = stringArg(args, 'to');
    if (to !== undefined && to !== 'master' && to !== 'backup')
      throw new UsageError(`--to must be master or backup, got ${JSON.stringify(to)}`);
    return to === undefined ? { cmd: command } : { cmd: command, to };
  }
  if (command !== 'send') return { cmd: command };
  const client = stringArg(args, 'client');
  const text = stringArg(args, 'message');
  if (client === undefined || text === undefined) throw new UsageError('send needs --client NAME and --message JSON');
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--message is not JSON: ${(err as Error).message}`);
  }
  return {
    cmd: 'send',
    client,
    message,
    options: { confirm: args.values.confirm === true, wait: args.values.wait === true },
  };
}

/** Sends one request to the peer's admin socket and prints the answer. */
async function runCtl(args: CommandArgs, io: Io): Promise<number> {
  const [command, ...extra] = args.positionals;
  if (command === undefined) throw new UsageError(`a command is required: ${Object.keys(CTL_COMMANDS).join(', ')}`);
  if (!(command in CTL_COMMANDS))
    throw new UsageError(
      `unknown ctl command ${JSON.stringify(command)}; known: ${Object.keys(CTL_COMMANDS).join(', ')}`,
    );
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const admin = stringArg(args, 'admin');
  if (admin === undefined) throw new UsageError('--admin HOST:PORT|PATH is required');
  const timeoutMs = intOption('timeout', stringArg(args, 'timeout'));
  const req = request(command, args);
  let response;
  try {
    response = await adminRequest(admin, req, timeoutMs === undefined ? {} : { timeoutMs });
  } catch (err) {
    io.err(`kkcm ctl: ${(err as { code?: string }).code ?? 'ERR_ADMIN_UNREACHABLE'}: ${(err as Error).message}\n`);
    return ExitCode.failure;
  }
  if (!response.ok) {
    io.err(`kkcm ctl: ${response.error.code}: ${response.error.message}\n`);
    return ExitCode.failure;
  }
  if (args.values.json === true) {
    io.out(`${JSON.stringify(response.result, null, 2)}\n`);
  } else if (command === 'stats') {
    io.out(formatStats(response.result as PeerStats & ClientsStats));
  } else if (command === 'send') {
    io.out(req.options?.confirm === true ? 'sent; the other side confirmed delivery\n' : 'sent (queued)\n');
  } else {
    if (command !== 'status') io.out(`${command}: done\n`);
    io.out(formatStatus(response.result as PeerStatus));
  }
  return ExitCode.ok;
}

/** `kkcm ctl COMMAND --admin ADDR [--json]`. */
export const ctlCommand: Command = {
  summary: 'control a running peer through its admin socket',
  usage: 'kkcm ctl COMMAND --admin HOST:PORT|PATH [--json] [--timeout MS]',
  description: DESCRIPTION,
  positionals: [{ name: 'COMMAND' }],
  options: OPTIONS,
  epilog: EPILOG,
  run: runCtl,
};
