/**
 * `npm run bench:flood [-- --json] [-- --seconds N]`: how much of a live session's
 * throughput survives a connection flood. Two reference peers in this process hold a
 * session over loopback TCP with echoes in flight (16 at once: the pump saturates the
 * process, so the figure is the share of the peers' CPU the flood leaves to the session).
 * The flood runs in another process: 1,000 connection attempts (half send a HELLO that is
 * refused, half connect and close) and 100 slow connections that send 10 bytes of a HELLO
 * and never the rest, closed by the master's 500 ms handshake timeout.
 *
 * Cases, each measured in the same run against the quiet baseline (the mean of the quiet
 * periods before and after):
 * - `flood/quiet`: no flood;
 * - `flood/burst`: the 1,000 attempts as fast as 20 concurrent clients go, plus the 100 slow;
 * - `flood/burst at a bystander (control)`: the same burst at a server in the flood process
 *   that closes every connection at once: the peers see no connection, so what the session
 *   loses is the machine's share (kernel TCP work on the same cores);
 * - `flood/paced 200/s`: the same attempts at 200 per second, plus the 100 slow.
 *
 * `--accept-rate N|off` sets the master's `acceptRateWhileUp` (default: the peer's default):
 * beyond it, connections are shed at accept instead of handshaken.
 *
 * Prints a table and a JSON object with the rates, the ratios and the heap after a
 * collection (run under `node --expose-gc`, as the npm script does).
 *
 * @module
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FloodJob, FloodResult } from './flood-worker.js';
import { DEFAULT_ACCEPT_RATE_WHILE_UP } from '../../reference-impl/src/index.js';
import { LiveSession } from './session.js';

const HANDSHAKE_MS = 500;

interface CaseResult {
  readonly name: string;
  readonly echoes: number;
  readonly ms: number;
  readonly perSec: number;
  readonly ratio?: number;
  readonly flood?: FloodResult;
  readonly heapMiB: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapMiB(): number {
  gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

/**
 * Starts the flood process and waits until it is loaded; `go()` starts the flood and
 * resolves with its result. The child is killed if it has not finished within two minutes.
 */
function floodProcess(job: FloodJob): Promise<{ go: () => Promise<FloodResult> }> {
  const worker = fileURLToPath(new URL('./flood-worker.ts', import.meta.url));
  const child = fork(worker, [JSON.stringify(job)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
  let result: FloodResult | undefined;
  const ended = new Promise<FloodResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else
        reject(new Error(`the flood process ended without a result (code ${String(code)}, signal ${String(signal)})`));
    });
  });
  return new Promise((resolve, reject) => {
    ended.catch(reject);
    child.on('message', (m) => {
      if (m === 'ready') {
        resolve({
          go: () => {
            child.send('go');
            return ended;
          },
        });
      } else {
        result = m as FloodResult;
      }
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean' }, seconds: { type: 'string' }, 'accept-rate': { type: 'string' } },
  });
  const quietMs = Number(values.seconds ?? 3) * 1000;
  const rateText = values['accept-rate'] ?? String(DEFAULT_ACCEPT_RATE_WHILE_UP);
  const acceptRateWhileUp = rateText === 'off' ? Infinity : Number(rateText);
  if (!(acceptRateWhileUp > 0)) throw new Error(`--accept-rate must be a positive number or off, got ${rateText}`);
  const s = await LiveSession.start({
    master: { handshakeTimeoutMs: HANDSHAKE_MS, maxPendingConnections: 1024, acceptRateWhileUp },
  });
  const results: CaseResult[] = [];
  try {
    const host = '127.0.0.1';
    const port = s.master.listenAddress!.port;
    s.startPump(16);
    // Warm-up: until the JIT has settled, the first seconds run slower than the rest.
    await s.deliveredDuring(quietMs);
    const quiet = async (name: string): Promise<CaseResult> => {
      const r = await s.deliveredDuring(quietMs);
      return {
        name,
        echoes: r.delivered,
        ms: Math.round(r.ms),
        perSec: Math.round((r.delivered / r.ms) * 1000),
        heapMiB: heapMiB(),
      };
    };
    const flood = async (name: string, ratePerSec: number | undefined, bystander = false): Promise<CaseResult> => {
      let f: FloodResult | undefined;
      const child = await floodProcess({
        host,
        port,
        attempts: 1000,
        slow: 100,
        concurrency: 20,
        slowTimeoutMs: 30000,
        bystander,
        ...(ratePerSec !== undefined ? { ratePerSec } : {}),
      });
      const r = await s.deliveredDuring(0, async () => {
        f = await child.go();
      });
      return {
        name,
        echoes: r.delivered,
        ms: Math.round(r.ms),
        perSec: Math.round((r.delivered / r.ms) * 1000),
        flood: f!,
        heapMiB: heapMiB(),
      };
    };
    results.push(await quiet('flood/quiet (before)'));
    results.push(await flood('flood/burst 1000+100 slow', undefined));
    results.push(await flood('flood/burst at a bystander (control)', undefined, true));
    results.push(await flood('flood/paced 200/s 1000+100 slow', 200));
    results.push(await quiet('flood/quiet (after)'));
    await s.stopPump();
    if (s.pumpError !== undefined) throw s.pumpError;
    if (s.sessionDrops > 0 || !s.intact) throw new Error('the session went down during the bench');
  } finally {
    await s.stop();
  }
  const baseline = (results[0]!.perSec + results[results.length - 1]!.perSec) / 2;
  const rows = results.map((r) => ({ ...r, ratio: Math.round((r.perSec / baseline) * 100) / 100 }));
  const report = {
    machine: { node: process.version, cpus: cpus().length, model: cpus()[0]?.model ?? '?', gc: gc !== undefined },
    acceptRateWhileUp: acceptRateWhileUp === Infinity ? 'off' : acceptRateWhileUp,
    baselinePerSec: Math.round(baseline),
    cases: rows,
    sessionMasterStats: {
      accepted: s.master.stats().connectionsAccepted,
      shed: s.master.stats().connectionsShed,
      sessionsUp: s.master.stats().sessions.up,
    },
  };
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const line = (c: string[]): string =>
    `${c[0]!.padEnd(34)} ${c[1]!.padStart(8)} ${c[2]!.padStart(8)} ${c[3]!.padStart(9)} ${c[4]!.padStart(6)} ${c[5]!.padStart(9)}  ${c[6]}`;
  const out = [
    line(['case', 'echoes', 'ms', 'echoes/s', 'ratio', 'heap MiB', 'flood']),
    line(['----', '------', '--', '--------', '-----', '--------', '-----']),
  ];
  for (const r of rows) {
    const f =
      r.flood === undefined
        ? ''
        : `hello ${JSON.stringify(r.flood.hello)}, closed at once ${r.flood.closedAtOnce}, slow ${JSON.stringify(r.flood.slow)} (last closed at ${r.flood.slowMaxMs} ms), ${r.flood.ms} ms`;
    out.push(
      line([r.name, String(r.echoes), String(r.ms), String(r.perSec), r.ratio.toFixed(2), String(r.heapMiB), f]),
    );
  }
  out.push(
    `master: ${report.sessionMasterStats.accepted} connections taken, ${report.sessionMasterStats.shed} shed at accept (accept rate while up: ${String(report.acceptRateWhileUp)})`,
  );
  out.push(
    `baseline ${Math.round(baseline)} echoes/s; node ${process.version}, ${report.machine.cpus} × ${report.machine.model}${gc === undefined ? ' (run with --expose-gc for a collected heap)' : ''}`,
  );
  process.stdout.write(`${out.join('\n')}\n\n${JSON.stringify(report)}\n`);
}

await main();
