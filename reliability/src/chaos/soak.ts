/**
 * `npm run soak -- --seconds N [--interval S] [--tick-ms N] [--json]`: a master and a backup
 * in their own processes (the chaos worker, `worker.ts`) connected directly over loopback,
 * steady traffic on all four clients (a quarter confirmed) for N seconds, each side's heap
 * and RSS sampled through its admin `stats` (after a full collection: the workers run with
 * `--expose-gc --gc-on-stats`), then a clean stop and the chaos oracle over both sides' logs
 * and event files.
 *
 * Verdict **flat** ({@link flatness}): samples of the first {@link warmupSeconds} are left
 * out; the rest are split in two halves by time. For each side, heap-after-GC and RSS are
 * flat when the mean of the second half exceeds the mean of the first by no more than the
 * tolerance, and the least-squares slope over the second half, times the second half's
 * span, does not either. Tolerance: 10 % of the first half's mean, at least 1 MiB (heap) or
 * 4 MiB (RSS). The run passes when both sides are flat, no peer `error` event or failed
 * send occurred, and the oracle finds no violation. Exit 0 when it passes, 1 when not, 2 on
 * a usage error.
 *
 * @module
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { PeerStatus } from '../../../reference-impl/src/index.js';
import { checkTrial, type NodeName, type Violation } from './oracle.js';
import { CHAOS_TIMING, freePort, WorkerProcess } from './worker-process.js';
import type { WorkerCounters } from './worker.js';

/** Help text. */
export const SOAK_HELP = `Usage: npm run soak -- --seconds N [--interval S] [--tick-ms N] [--json]

A master and a backup in their own processes carry steady traffic on all four clients
(one message per client and side every --tick-ms, a quarter with delivery confirmation)
for N seconds. Each side's heap (after a full collection) and RSS are sampled every
--interval seconds. Verdict "flat": after a warm-up (the first 20 % of the run, at most
30 s), the second half's mean and its least-squares trend stay within 10 % (at least
1 MiB heap, 4 MiB RSS) of the first half's mean, on both sides. The run also needs no
peer error event, no failed send, and no violation of the chaos oracle's rules.

Options:
  --seconds N    length of the run (default 60)
  --interval S   seconds between samples (default: N/60, from 1 to 5)
  --tick-ms N    traffic tick, ms (default ${CHAOS_TIMING.tickMs})
  --json         one JSON object on standard output
  --help         this text

Exit: 0 flat and clean, 1 not, 2 usage error.
`;

/** One sample of both sides. */
export interface SoakSample {
  /** Seconds since the session came up. */
  readonly t: number;
  /** Side a (the master). */
  readonly a: SideSample;
  /** Side b (the backup). */
  readonly b: SideSample;
}

/** One side's numbers in a sample. */
export interface SideSample {
  /** Heap used after a full collection, bytes. */
  readonly heapUsed: number;
  /** Resident set size, bytes. */
  readonly rss: number;
  /** Messages delivered whole so far. */
  readonly delivered: number;
  /** Messages sent so far. */
  readonly sent: number;
}

/** The flatness of one metric of one side. */
export interface MetricVerdict {
  /** Mean of the first half (bytes). */
  readonly firstMean: number;
  /** Mean of the second half (bytes). */
  readonly secondMean: number;
  /** secondMean − firstMean. */
  readonly growth: number;
  /** Least-squares slope over the second half, bytes per minute. */
  readonly slopePerMin: number;
  /** The slope times the second half's span, bytes. */
  readonly projected: number;
  /** What growth and projected may reach, bytes. */
  readonly tolerance: number;
  /** growth and projected within the tolerance. */
  readonly flat: boolean;
}

/** The soak's report: the `--json` object. */
export interface SoakReport {
  /** Length of the run, s. */
  readonly seconds: number;
  /** Time between samples, s. */
  readonly intervalS: number;
  /** Samples before this time (s) are left out of the verdict. */
  readonly warmupS: number;
  readonly samples: readonly SoakSample[];
  /** Per side and metric. */
  readonly sides: Record<NodeName, { readonly heapUsed: MetricVerdict; readonly rss: MetricVerdict }>;
  /** Both sides flat. */
  readonly flat: boolean;
  /** The criterion, in words. */
  readonly criterion: string;
  /** Peer error events and failed sends, per side, by code. */
  readonly errors: Record<NodeName, Record<string, number>>;
  /** The chaos oracle's findings over both sides' logs and event files (no fault: rules 1, 2, 3, 5). */
  readonly violations: readonly Violation[];
  /** Traffic of both sides; `perSecond`: delivered per second of the run. */
  readonly messages: {
    readonly sent: number;
    readonly delivered: number;
    readonly confirmed: number;
    readonly perSecond: number;
  };
  /** Flat, no error, no violation. */
  readonly ok: boolean;
}

/** The criterion, as the report states it. */
export const FLAT_CRITERION =
  'after the warm-up, second-half mean − first-half mean ≤ tolerance and second-half least-squares slope × its span ≤ tolerance; tolerance = max(10 % of the first-half mean, 1 MiB heap / 4 MiB RSS); both sides, heap after a full GC and RSS';

const MIB = 1024 * 1024;

/** Warm-up left out of the verdict: 20 % of the run, at most 30 s. */
export function warmupSeconds(seconds: number): number {
  return Math.min(30, seconds * 0.2);
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Least-squares slope of y over t (per unit of t); 0 with fewer than two points. */
function slope(ts: readonly number[], ys: readonly number[]): number {
  if (ts.length < 2) return 0;
  const mt = mean(ts);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ts.length; i++) {
    num += (ts[i]! - mt) * (ys[i]! - my);
    den += (ts[i]! - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The verdict of one metric over `samples` (t in seconds, y in bytes), per the module's
 * criterion. Pure: the tests feed it made-up series.
 */
export function flatness(
  samples: readonly { t: number; y: number }[],
  warmupS: number,
  floorBytes: number,
): MetricVerdict {
  const kept = samples.filter((s) => s.t >= warmupS);
  const t0 = kept[0]?.t ?? 0;
  const t1 = kept[kept.length - 1]?.t ?? 0;
  const mid = (t0 + t1) / 2;
  const first = kept.filter((s) => s.t < mid);
  const second = kept.filter((s) => s.t >= mid);
  const firstMean = mean(first.map((s) => s.y));
  const secondMean = mean(second.map((s) => s.y));
  const perSecond = slope(
    second.map((s) => s.t),
    second.map((s) => s.y),
  );
  const span = second.length < 2 ? 0 : second[second.length - 1]!.t - second[0]!.t;
  const tolerance = Math.max(0.1 * firstMean, floorBytes);
  const growth = secondMean - firstMean;
  const projected = perSecond * span;
  return {
    firstMean,
    secondMean,
    growth,
    slopePerMin: perSecond * 60,
    projected,
    tolerance,
    flat: first.length > 0 && second.length > 0 && growth <= tolerance && projected <= tolerance,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface ChaosStats {
  readonly chaos: WorkerCounters & { readonly memory: NodeJS.MemoryUsage };
}

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Length of the run, s. */
  readonly seconds: number;
  /** Seconds between samples. */
  readonly intervalS?: number;
  /** Traffic tick, ms (default {@link CHAOS_TIMING}'s). */
  readonly tickMs?: number;
  /** Called after each sample (the CLI prints a row). */
  readonly onSample?: (s: SoakSample) => void;
}

/**
 * Runs the soak.
 *
 * @throws Error when a side does not start or the session does not come up.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const intervalS = options.intervalS ?? Math.min(5, Math.max(1, options.seconds / 60));
  const timing = { ...CHAOS_TIMING, tickMs: options.tickMs ?? CHAOS_TIMING.tickMs };
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-soak-'));
  const ports = { a: await freePort(), b: await freePort() };
  const listen = { a: `127.0.0.1:${ports.a}`, b: `127.0.0.1:${ports.b}` };
  const start = (node: NodeName): Promise<WorkerProcess> =>
    WorkerProcess.start({
      node,
      inc: 1,
      role: node === 'a' ? 'master' : 'backup',
      listen: listen[node],
      connect: listen[node === 'a' ? 'b' : 'a'],
      dir,
      prefix: [],
      seed: node === 'a' ? 1 : 2,
      timing,
      nodeArgs: ['--expose-gc'],
      workerArgs: ['--gc-on-stats'],
    });
  const sides: Partial<Record<NodeName, WorkerProcess>> = {};
  try {
    sides.a = await start('a');
    sides.b = await start('b');
    const a = sides.a;
    const b = sides.b;
    const deadline = Date.now() + 15_000;
    let sid: string | undefined;
    while (sid === undefined) {
      const [sa, sb] = await Promise.all([a.status(), b.status()]);
      if (sa?.session !== undefined && sa.session !== null && sa.session.id === sb?.session?.id) sid = sa.session.id;
      else if (Date.now() > deadline) throw new Error('the session did not come up within 15 s');
      else await sleep(20);
    }
    const stats = async (w: WorkerProcess): Promise<ChaosStats['chaos']> =>
      ((await w.admin('stats')) as ChaosStats).chaos;
    const samples: SoakSample[] = [];
    const began = Date.now();
    let last: Record<NodeName, ChaosStats['chaos']> | undefined;
    for (let k = 0; ; k++) {
      const due = began + k * intervalS * 1000;
      if (due > began + options.seconds * 1000) break;
      await sleep(Math.max(0, due - Date.now()));
      const [ca, cb] = await Promise.all([stats(a), stats(b)]);
      last = { a: ca, b: cb };
      const side = (c: ChaosStats['chaos']): SideSample => ({
        heapUsed: c.memory.heapUsed,
        rss: c.memory.rss,
        delivered: c.delivered,
        sent: c.sent,
      });
      const sample = { t: Math.round((Date.now() - began) / 100) / 10, a: side(ca), b: side(cb) };
      samples.push(sample);
      options.onSample?.(sample);
    }
    const statusBefore = async (w: WorkerProcess): Promise<string | null> =>
      ((await w.admin('status')) as PeerStatus).session?.id ?? null;
    const sessionBefore = { a: await statusBefore(a), b: await statusBefore(b) };
    const stopAt = Date.now();
    const clean = (await a.stop()) && (await b.stop());
    const record = {
      trial: 0,
      seed: 0,
      boundMs: 0,
      faults: [],
      incarnations: [a.record(), b.record()],
      stop: { order: ['a', 'b'] as const, startedAt: stopAt, sessionBefore },
      driverErrors: clean ? [] : ['a side did not exit within 15 s of SIGTERM'],
    };
    const violations = checkTrial(record);
    const errors = { a: errorCounts(a, last?.a), b: errorCounts(b, last?.b) };
    const warmupS = warmupSeconds(options.seconds);
    const verdict = (n: NodeName): SoakReport['sides'][NodeName] => ({
      heapUsed: flatness(
        samples.map((s) => ({ t: s.t, y: s[n].heapUsed })),
        warmupS,
        MIB,
      ),
      rss: flatness(
        samples.map((s) => ({ t: s.t, y: s[n].rss })),
        warmupS,
        4 * MIB,
      ),
    });
    const sidesVerdict = { a: verdict('a'), b: verdict('b') };
    const flat = (['a', 'b'] as const).every((n) => sidesVerdict[n].heapUsed.flat && sidesVerdict[n].rss.flat);
    const counts = { sent: 0, delivered: 0, confirmed: 0 };
    for (const c of [last?.a, last?.b]) {
      counts.sent += c?.sent ?? 0;
      counts.delivered += c?.delivered ?? 0;
      counts.confirmed += c?.confirmed ?? 0;
    }
    const noErrors = Object.keys(errors.a).length === 0 && Object.keys(errors.b).length === 0;
    return {
      seconds: options.seconds,
      intervalS,
      warmupS,
      samples,
      sides: sidesVerdict,
      flat,
      criterion: FLAT_CRITERION,
      errors,
      violations,
      messages: { ...counts, perSecond: Math.round(counts.delivered / Math.max(1, options.seconds)) },
      ok: flat && noErrors && violations.length === 0,
    };
  } finally {
    for (const w of Object.values(sides)) {
      w.kill9();
      await w.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peer error events (from the event file) and failed sends (from the last stats) of one side. */
function errorCounts(w: WorkerProcess, last: ChaosStats['chaos'] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const path = w.files.events;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (!line.includes('"event":"error"')) continue;
    const code = String((JSON.parse(line) as { code?: unknown }).code);
    out[code] = (out[code] ?? 0) + 1;
  }
  for (const [code, n] of Object.entries(last?.failed ?? {})) out[`send ${code}`] = n;
  if ((last?.damaged ?? 0) > 0) out.damaged = last!.damaged;
  return out;
}

const mib = (n: number): string => (n / MIB).toFixed(1);
const kib = (n: number): string => `${n >= 0 ? '+' : ''}${Math.round(n / 1024)}`;

/** A table row of one sample. */
export function sampleRow(s: SoakSample): string {
  return `${s.t.toFixed(1).padStart(7)}  ${mib(s.a.heapUsed).padStart(8)} ${mib(s.a.rss).padStart(8)}  ${mib(s.b.heapUsed).padStart(8)} ${mib(s.b.rss).padStart(8)}  ${String(s.a.delivered).padStart(9)} ${String(s.b.delivered).padStart(9)}\n`;
}

/** The table's header. */
export const SAMPLE_HEADER = `      t   a heap    a rss    b heap    b rss  a deliv'd b deliv'd\n      s      MiB      MiB       MiB      MiB\n`;

/** The verdict in words. */
export function verdictText(r: SoakReport): string {
  const lines = [`criterion: ${r.criterion}`];
  for (const n of ['a', 'b'] as const) {
    for (const m of ['heapUsed', 'rss'] as const) {
      const v = r.sides[n][m];
      lines.push(
        `${n} ${m.padEnd(8)} first ${mib(v.firstMean)} MiB, second ${mib(v.secondMean)} MiB, growth ${kib(v.growth)} KiB, trend ${kib(v.slopePerMin)} KiB/min (${kib(v.projected)} KiB over the half), tolerance ${mib(v.tolerance)} MiB: ${v.flat ? 'flat' : 'NOT FLAT'}`,
      );
    }
  }
  lines.push(
    `messages: ${r.messages.sent} sent, ${r.messages.delivered} delivered (${r.messages.perSecond}/s), ${r.messages.confirmed} confirmed`,
    `errors: a ${JSON.stringify(r.errors.a)}, b ${JSON.stringify(r.errors.b)}`,
    `violations: ${r.violations.length}${r.violations
      .slice(0, 20)
      .map((v) => `\n  ${v.rule}: ${v.detail}`)
      .join('')}`,
    `verdict: ${r.flat ? 'flat' : 'NOT FLAT'}; ${r.ok ? 'ok' : 'FAILED'}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the command.
 *
 * @returns the exit code.
 */
export async function soakMain(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        seconds: { type: 'string' },
        interval: { type: 'string' },
        'tick-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    err(`${(e as Error).message}\n\n${SOAK_HELP}`);
    return 2;
  }
  if (values.help === true) {
    out(SOAK_HELP);
    return 0;
  }
  const num = (name: string, fallback: number | undefined): number | undefined => {
    const v = values[name];
    if (v === undefined) return fallback;
    const n = Number(v);
    return typeof v === 'string' && Number.isFinite(n) && n > 0 ? n : Number.NaN;
  };
  const seconds = num('seconds', 60)!;
  const intervalS = num('interval', undefined);
  const tickMs = num('tick-ms', undefined);
  for (const [name, v] of [
    ['seconds', seconds],
    ['interval', intervalS],
    ['tick-ms', tickMs],
  ] as const) {
    if (v !== undefined && Number.isNaN(v)) {
      err(`--${name} wants a positive number\n\n${SOAK_HELP}`);
      return 2;
    }
  }
  const json = values.json === true;
  if (!json) out(`soak: ${seconds} s\n${SAMPLE_HEADER}`);
  const report = await runSoak({
    seconds,
    ...(intervalS !== undefined ? { intervalS } : {}),
    ...(tickMs !== undefined ? { tickMs } : {}),
    onSample: json ? undefined : (s) => out(sampleRow(s)),
  });
  out(json ? `${JSON.stringify(report)}\n` : verdictText(report));
  return report.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  soakMain(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
