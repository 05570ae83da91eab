/**
 * `kkcm conformance`: runs the suite against the embedded reference peer (both roles), a
 * listening peer (`--connect`), a connecting peer (`--listen`) or a launched one (`--exec`).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tcpTransport } from '../../reference-impl/src/tcp-transport.js';
import { TlsTransport } from '../../reference-impl/src/tls-transport.js';
import { ExecTarget, ListenTarget, type PeerSide } from '../../conformance/src/harness/target.js';
import type { Topology } from '../../reference-impl/src/peer-options.js';
import { BOTH_SIDES, type ConformanceCase } from '../../conformance/src/cases/case.js';
import { CASES, selectCases } from '../../conformance/src/catalog.js';
import { ExpectationsError, loadBaseline, loadExpectedFailures } from '../../conformance/src/expectations.js';
import {
  colorEnabled,
  isReportFormat,
  LiveView,
  renderReport,
  type ReportFormat,
} from '../../conformance/src/reporters/index.js';
import {
  exitCodeOf as reportExitCode,
  type ConformanceReport,
  type Level,
  type PeerRole,
} from '../../conformance/src/report.js';
import { EmptySelectionError, runConformance, type TargetSpec } from '../../conformance/src/runner.js';
import type { Command, CommandArgs, OptionSpec } from './command.js';
import { runFleetCommand } from './conformance-fleet.js';
import { every, ExitCode, readInputFile, UsageError, type Io } from './io.js';
import { stopLaunchedPeersOnSignal } from './launched-peers.js';

const OPTIONS = {
  connect: {
    type: 'string',
    value: 'HOST:PORT',
    group: 'Target (at most one)',
    description:
      'the peer listens there and the suite connects, sending HELLO with the role the peer does not play (--role, default master)',
  },
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    group: 'Target (at most one)',
    description:
      'the suite listens there and prints "listening on HOST:PORT, start your peer" (port 0: a free port, the real one printed); the peer connects and sends HELLO (its role: --role, default backup); on a terminal, says every 5 s that it is still waiting; no connection during the first case ends the run (exit 3)',
  },
  exec: {
    type: 'string',
    value: '"CMD"',
    group: 'Target (at most one)',
    description:
      "launches the peer; {port} in CMD is replaced by the port to listen on (--side listen) or the suite's port to connect to (--side connect); restarted after a case that killed it; its whole process group is ended on every exit, SIGINT and SIGTERM included; a peer that connects (--role backup) and does not during the first case ends the run (exit 3)",
  },
  role: {
    type: 'string',
    value: 'master|backup',
    group: 'Target (at most one)',
    description:
      "the peer's protocol role (it does not say who listens: --connect, --listen or --side do): required with --exec; with no target, only this role",
  },
  side: {
    type: 'string',
    value: 'listen|connect',
    group: 'Target (at most one)',
    description:
      'with --exec or no target: whether the peer listens or connects, whatever its role (dual-re: RE0 listens); default: the master listens, the backup connects (cluster); the embedded peer runs in cluster topology on that default side, in dual-re on the other',
  },
  topology: {
    type: 'string',
    value: 'dual-re|cluster',
    group: 'Target (at most one)',
    description:
      "the peer's topology, when known (with --connect, --listen or --exec): dual-re runs the case that checks a listening RE0 refuses a HELLO nodeId other than 1 (slotConflict)",
  },
  'tls-cert': {
    type: 'string',
    value: 'FILE',
    group: 'Target (at most one)',
    description:
      "with --tls-key and --tls-ca: reach the peer over TLS with mutual authentication, showing this certificate (PEM); the peer's must be signed by the CA (with --connect, --listen or --exec)",
  },
  'tls-key': {
    type: 'string',
    value: 'FILE',
    group: 'Target (at most one)',
    description: "the suite's private key (PEM)",
  },
  'tls-ca': {
    type: 'string',
    value: 'FILE',
    group: 'Target (at most one)',
    description: "the CA that signs the peer's certificate (PEM)",
  },
  list: {
    type: 'boolean',
    group: 'Selection',
    description: 'print the case catalogue (with --format json: as JSON) and exit',
  },
  case: {
    type: 'string',
    multiple: true,
    value: 'ID|GLOB',
    group: 'Selection',
    description: 'run exactly these cases (repeatable; * matches anything)',
  },
  tag: {
    type: 'string',
    multiple: true,
    value: 'TAG',
    group: 'Selection',
    description: 'cases with this tag (repeatable)',
  },
  level: {
    type: 'string',
    multiple: true,
    value: 'MUST|SHOULD|MAY',
    group: 'Selection',
    description: 'cases of this level (repeatable)',
  },
  exclude: {
    type: 'string',
    multiple: true,
    value: 'ID|GLOB',
    group: 'Selection',
    description: 'leave these out (repeatable)',
  },
  seed: {
    type: 'string',
    value: 'N',
    group: 'Selection',
    description: 'shuffle the order with this seed (printed in the report)',
  },
  repeat: { type: 'string', value: 'N', group: 'Selection', description: 'run each case N times' },
  'timeout-scale': {
    type: 'string',
    value: 'F',
    group: 'Timing',
    description: 'multiply every timeout (slow machines or peers), default 1',
  },
  'case-timeout': {
    type: 'string',
    value: 'MS',
    group: 'Timing',
    description: 'budget of one case before it is judged, default 30000',
  },
  'run-timeout': { type: 'string', value: 'MS', group: 'Timing', description: 'budget of the whole run' },
  'handshake-timeout': {
    type: 'string',
    value: 'MS',
    group: 'Timing',
    description: "the peer's handshake timeout, default 5000 (spec)",
  },
  format: {
    type: 'string',
    value: 'human|json|junit|tap|html',
    group: 'Output',
    description: 'the report format, default human',
  },
  out: {
    type: 'string',
    value: 'FILE',
    group: 'Output',
    description:
      'write the report there, creating missing folders (the live view still goes to the terminal); if it cannot be written, the report goes to standard output and the exit code is 5',
  },
  'expected-failures': {
    type: 'string',
    value: 'FILE',
    group: 'Output',
    description:
      'one case-id[@role] per line (# comments): failing ones are xfail, passing ones xpass; entries matching no case fail the run',
  },
  baseline: {
    type: 'string',
    value: 'REPORT.json',
    group: 'Output',
    description: 'fail only on regressions against an earlier JSON report',
  },
  'no-color': { type: 'boolean', group: 'Output', description: 'no ANSI colours (NO_COLOR is honoured too)' },
  'allow-skipped-must': {
    type: 'boolean',
    group: 'Output',
    description: 'exit 0, not 4, when the only gap is skipped MUST cases',
  },
  targets: {
    type: 'string',
    value: 'FILE',
    group: 'Fleet (many endpoints in one run)',
    description:
      'judge every target of FILE (lines "name kind address role [key=value…]", or a JSON/YAML list) instead of one; prints the matrix (--format human, json, junit or html); with --out DIR, also writes each target\'s report (NAME.html, NAME.json) and matrix.html, matrix.json, matrix.xml (JUnit) into DIR; exit 1 if any target is not conforming, else 3 if any is unreachable or errored, else 4 if any is incomplete, else 0; 5 if DIR could not be written (the matrix still goes to standard output); SIGINT and SIGTERM end every peer it launched',
  },
  jobs: {
    type: 'string',
    value: 'N',
    group: 'Fleet (many endpoints in one run)',
    description: 'with --targets: how many targets run at once, default 1',
  },
} as const satisfies OptionSpec;

const DESCRIPTION = `Runs the conformance suite over real TCP sockets and judges the peer case by case.
Without a target it runs against the embedded reference peer in both roles.`;

const EPILOG = `Exit codes: 0 conforming, 1 not conforming, 2 usage error (also a selection that matches
no case), 3 harness error (also a target that cannot be reached at all: one line), 4
conforming but incomplete: MUST cases were skipped (the verdict reads "CONFORMING (N MUST
cases not run: …)"; with --allow-skipped-must, exit 0), 5 the run finished but --out could
not be written (the report went to standard output instead). On SIGINT or SIGTERM the
suite ends the peers it launched (--exec, exec targets), says so, and exits 130 or 143.

Examples:
  kkcm conformance
  kkcm conformance --connect 10.0.0.1:7000
  kkcm conformance --listen 0.0.0.0:7000 --format junit --out reports/kkcm-junit.xml
  kkcm conformance --exec "./my-peer --listen 127.0.0.1:{port}" --role master
  kkcm conformance --exec "kkcm peer --topology dual-re --slot 0 --role backup --listen 127.0.0.1:{port}" \\
    --role backup --side listen --topology dual-re
  kkcm conformance --side connect
  kkcm conformance --case 'framing.*' --case handshake.version.incompatible
  kkcm conformance --list --tag probe
`;

function endpoint(flag: string, value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === '' || port > 65535)
    throw new UsageError(`--${flag} wants HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function number(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(
      `--${flag} wants a ${integer ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** A bad expected-failures file or baseline is a bad argument of the command line: exit 2. */
function asUsage<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ExpectationsError) throw new UsageError(err.message);
    throw err;
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

function sideOf(value: string | undefined): PeerSide | undefined {
  if (value === undefined) return undefined;
  if (value !== 'listen' && value !== 'connect')
    throw new UsageError(`--side wants listen or connect, got ${JSON.stringify(value)}`);
  return value;
}

function topologyOf(value: string | undefined): Topology | undefined {
  if (value === undefined) return undefined;
  if (value !== 'dual-re' && value !== 'cluster')
    throw new UsageError(`--topology wants dual-re or cluster, got ${JSON.stringify(value)}`);
  return value;
}

/** The roles, sides and topologies a case judges a peer in, for --list: `master,backup listening dual-re`. */
function playedBy(c: ConformanceCase): string {
  const sides = c.sides ?? BOTH_SIDES;
  const where = sides.length === 1 ? (sides[0] === 'listen' ? ' listening' : ' connecting') : '';
  return `${c.roles.join(',')}${where}${c.topologies === undefined ? '' : ` ${c.topologies.join(',')}`}`;
}

function roleOf(value: string | undefined): PeerRole | undefined {
  if (value === undefined) return undefined;
  if (value !== 'master' && value !== 'backup')
    throw new UsageError(`--role wants master or backup, got ${JSON.stringify(value)}`);
  return value;
}

/** Exit code of a finished run (see `exitCodeOf` in conformance/src/report.ts). */
export function exitCodeOf(report: ConformanceReport, allowSkippedMust = false): number {
  return reportExitCode(report, { allowSkippedMust });
}

/** Runs the suite, prints or writes the report; the exit code says whether the peer conforms. */
async function runConformanceCommand(args: CommandArgs, io: Io): Promise<number> {
  const v = args.values as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const format = str('format') ?? 'human';
  if (!isReportFormat(format))
    throw new UsageError(`--format wants human, json, junit, tap or html, got ${JSON.stringify(format)}`);
  const levels = strings(v.level).map((l) => l.toUpperCase());
  for (const l of levels)
    if (l !== 'MUST' && l !== 'SHOULD' && l !== 'MAY')
      throw new UsageError(`--level wants MUST, SHOULD or MAY, got ${JSON.stringify(l)}`);
  const role = roleOf(str('role'));
  const selection = {
    cases: strings(v.case),
    tags: strings(v.tag),
    levels: levels as Level[],
    exclude: strings(v.exclude),
    roles: role === undefined ? undefined : [role],
  };

  if (v.list === true) {
    const { cases } = selectCases(selection);
    if (format === 'json') {
      io.out(
        `${JSON.stringify(
          cases.map(({ id, title, requirements, level, roles, sides, channels, tags, allowedOutcomes }) => ({
            id,
            title,
            requirements,
            level,
            roles,
            sides: sides ?? BOTH_SIDES,
            channels,
            tags,
            allowedOutcomes,
          })),
          null,
          2,
        )}\n`,
      );
    } else {
      for (const c of cases)
        io.out(
          `${c.id.padEnd(42)} ${c.level.padEnd(6)} ${playedBy(c).padEnd(24)} ${c.requirements.join(',').padEnd(30)} ${c.title}\n`,
        );
      io.out(`${cases.length} of ${CASES.length} cases\n`);
    }
    return ExitCode.ok;
  }

  const { unknown } = selectCases(selection);
  if (unknown.length > 0) throw new UsageError(`no such case: ${unknown.join(', ')} (see --list)`);
  if (str('targets') !== undefined) return runFleetCommand(v, selection, io);
  if (str('jobs') !== undefined) throw new UsageError('--jobs goes with --targets FILE');
  const targets = ['connect', 'listen', 'exec'].filter((k) => str(k) !== undefined);
  if (targets.length > 1) throw new UsageError('give at most one of --connect, --listen, --exec');
  const side = sideOf(str('side'));
  const topology = topologyOf(str('topology'));
  if (side !== undefined && (str('connect') !== undefined || str('listen') !== undefined))
    throw new UsageError(
      '--side goes with --exec or no target: with --connect the peer listens, with --listen it connects',
    );
  if (topology !== undefined && targets.length === 0)
    throw new UsageError('--topology goes with --connect, --listen or --exec: the embedded peer knows its own');
  const known = { ...(role !== undefined ? { role } : {}), ...(topology !== undefined ? { topology } : {}) };
  let target: TargetSpec = { kind: 'embedded', ...(side !== undefined ? { side } : {}) };
  if (str('connect') !== undefined) target = { kind: 'connect', ...endpoint('connect', str('connect')!), ...known };
  if (str('listen') !== undefined) target = { kind: 'listen', ...endpoint('listen', str('listen')!), ...known };
  if (str('exec') !== undefined) {
    if (role === undefined) throw new UsageError('--exec needs --role master or --role backup');
    target = { kind: 'exec', command: str('exec')!, ...known, role, ...(side !== undefined ? { side } : {}) };
  }
  const tls = [str('tls-cert'), str('tls-key'), str('tls-ca')];
  if (tls.some((f) => f !== undefined)) {
    if (tls.some((f) => f === undefined)) throw new UsageError('TLS needs --tls-cert, --tls-key and --tls-ca together');
    if (target.kind === 'embedded') throw new UsageError('--tls-* need a target: --connect, --listen or --exec');
    const [cert, key, ca] = tls as [string, string, string];
    target = {
      ...target,
      transport: new TlsTransport({ cert: readInputFile(cert), key: readInputFile(key), ca: readInputFile(ca) }),
      transportFlags: ` --tls-cert ${cert} --tls-key ${key} --tls-ca ${ca}`,
    };
  }
  const expectedFailures = asUsage(() =>
    str('expected-failures') !== undefined ? loadExpectedFailures(str('expected-failures')!) : undefined,
  );
  const baseline = asUsage(() => (str('baseline') !== undefined ? loadBaseline(str('baseline')!) : undefined));
  const color = v['no-color'] !== true && colorEnabled(io.isTty);
  const out = str('out');
  const toTerminal = out === undefined && format === 'human';
  // Redrawing in place needs a terminal that understands cursor controls: not TERM=dumb.
  const redraw = io.isTty && process.env.TERM !== 'dumb';
  // A human report on stdout is the live view itself; any other report leaves stdout to
  // the report and puts the live view on stderr.
  const live = new LiveView(
    { out: toTerminal ? io.out : io.err, isTty: redraw },
    { color, total: selectCases(selection).cases.length * (target.kind === 'embedded' && role === undefined ? 2 : 1) },
  );
  const seed = number('seed', str('seed'), true);
  const stopSignals = stopLaunchedPeersOnSignal(io);
  let listening: ListenTarget | undefined;
  let launched: ExecTarget | undefined;
  let stopHeartbeat = (): void => undefined;
  let report: ConformanceReport;
  try {
    if (target.kind === 'connect') await reachable(target);
    report = await runConformance({
      target,
      selection,
      seed,
      repeat: number('repeat', str('repeat'), true),
      timeoutScale: number('timeout-scale', str('timeout-scale'), false),
      caseTimeoutMs: number('case-timeout', str('case-timeout'), true),
      runTimeoutMs: number('run-timeout', str('run-timeout'), true),
      handshakeTimeoutMs: number('handshake-timeout', str('handshake-timeout'), true),
      expectedFailures,
      baseline,
      onTargetStarted: (t) => {
        if (t instanceof ExecTarget) launched = t;
        if (!(t instanceof ListenTarget)) return;
        listening = t;
        const where = formatHostPort(t.host, t.port);
        io.err(`kkcm conformance: listening on ${where}, start your peer\n`);
        // Someone is watching a terminal: show that the run is alive until the peer comes.
        if (redraw) stopHeartbeat = heartbeat(io, live, t, where);
      },
      onCaseStart: (id) => live.caseStarted(id),
      onCaseEnd: (r) => {
        // The first case waited for the peer as long as it waits for anything: enough.
        if (listening !== undefined && !listening.connectedOnce)
          throw new UnreachableError(
            `no peer connected to ${formatHostPort(listening.host, listening.port)} during the first case`,
          );
        if (launched !== undefined && !launched.connectedOnce)
          throw new UnreachableError(
            'the peer launched by --exec never connected to the suite during the first case (does CMD pass it {port}?)',
          );
        live.caseFinished(r);
      },
    });
  } catch (err) {
    // An empty selection (in the roles the peer plays) would prove nothing: a usage error, exit 2.
    if (err instanceof EmptySelectionError) throw new UsageError(`${err.message} (see --list)`);
    if (err instanceof UnreachableError) {
      io.err(`kkcm conformance: ${err.message}; no case was judged\n`);
      return ExitCode.harness;
    }
    throw err;
  } finally {
    stopHeartbeat();
    stopSignals();
  }
  const notStarted = unstartable(report);
  if (notStarted !== undefined) {
    io.err(`kkcm conformance: ${notStarted}; no case was judged\n`);
    return ExitCode.harness;
  }
  live.finish(report);
  if (!toTerminal) {
    const text = renderReport(report, format as ReportFormat, { color: false });
    if (out === undefined) io.out(text.endsWith('\n') ? text : `${text}\n`);
    else {
      try {
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, text);
        io.err(`kkcm conformance: ${format} report written to ${out}\n`);
      } catch (err) {
        // The run is done: never lose it to an output error. The report goes to stdout.
        io.out(text.endsWith('\n') ? text : `${text}\n`);
        io.err(
          `kkcm conformance: could not write ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the ${format} report went to standard output\n`,
        );
        return ExitCode.outputFailed;
      }
    }
  }
  return exitCodeOf(report, v['allow-skipped-must'] === true);
}

/** How often `--listen` says it is still waiting for the peer, on a terminal. */
const HEARTBEAT_MS = 5000;

/**
 * Every {@link HEARTBEAT_MS} until the peer first connects, a line "still waiting for your
 * peer on HOST:PORT (N s)" above the live view's progress line.
 *
 * @returns the function that stops it (safe twice).
 */
function heartbeat(io: Io, live: LiveView, target: ListenTarget, where: string): () => void {
  let beats = 0;
  const stop = (io.every ?? every)(HEARTBEAT_MS, () => {
    if (target.connectedOnce) return stop();
    beats += 1;
    live.note(`kkcm conformance: still waiting for your peer on ${where} (${(beats * HEARTBEAT_MS) / 1000} s)`);
  });
  return stop;
}

/** A target that cannot be reached at all: one line, exit 3. */
class UnreachableError extends Error {}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One connection attempt before the run: a peer that is not there is one line, not a failure per case. */
async function reachable(target: Extract<TargetSpec, { kind: 'connect' }>): Promise<void> {
  const transport = target.transport ?? tcpTransport;
  try {
    const c = await transport.connect(target.host, target.port);
    c.destroy();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UnreachableError(`cannot reach the peer at ${formatHostPort(target.host, target.port)} (${why})`);
  }
}

/** The reason, when the target never started (a launched peer that did not come up). */
function unstartable(report: ConformanceReport): string | undefined {
  const start = report.problems.find((p) => p.startsWith('could not start the target'));
  const judged = report.cases.some((c) => !(c.verdict === 'error' && c.reason?.startsWith('target did not start')));
  return start !== undefined && !judged ? start : undefined;
}

/** `kkcm conformance [target] [selection] [output]`. */
export const conformanceCommand: Command = {
  summary: 'run the conformance suite against a peer (default: the embedded reference peer)',
  usage: 'kkcm conformance [target] [selection] [output]',
  description: DESCRIPTION,
  options: OPTIONS,
  epilog: EPILOG,
  run: runConformanceCommand,
};
