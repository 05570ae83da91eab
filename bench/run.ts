/**
 * `npm run bench`: the whole benchmark. The end-to-end cases (`e2e.ts`: two reference peers
 * in separate processes on loopback against a raw TCP baseline) and the codec benchmark
 * (`codec/bench/codec-bench.ts`, also `npm run bench:codec`), each baseline measured in the
 * same run. Prints a table, or with `--json` one object
 * `{ mode, cases, ratios, targets, met, machine, … }` whose `ratios` merge both benchmarks'.
 *
 * Options: `--json`; `--smoke` (every case tiny and short: checks the benchmark runs,
 * measures nothing); `--stall-seconds N` (default 30); `--rounds N` (default 5);
 * `--no-codec` (end-to-end cases only; the codec ratios are then absent).
 * Not part of `npm test`; `bench/test/bench-smoke.test.ts` runs the smoke mode.
 *
 * @module
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatReport as formatCodecReport,
  machine,
  runCodecBench,
  TARGETS as CODEC_TARGETS,
  type CodecBenchReport,
} from '../codec/bench/codec-bench.js';
import { E2E_TARGETS, runE2eBench, type E2eCase, type E2eReport, type Spread, type Target } from './e2e.js';
import { cpuSnapshot, machineLoad, type MachineLoad } from './machine-load.js';

/** Other work above this many cores on average during the run makes the run a busy one. */
const BUSY_OTHER_CORES = 0.1;

/** Options of {@link runBench}. */
export interface BenchOptions {
  readonly smoke?: boolean;
  /** Run the codec benchmark too (default true). */
  readonly codec?: boolean;
  readonly stallSeconds?: number;
  readonly rounds?: number;
  /** Progress lines go here (default nowhere). */
  readonly log?: (line: string) => void;
}

/** What `npm run bench -- --json` prints. */
export interface BenchReport {
  readonly mode: 'full' | 'smoke';
  /** End-to-end cases, then the codec's (`suite` says which). */
  readonly cases: readonly (
    (E2eCase & { readonly suite: 'e2e' }) | (CodecBenchReport['cases'][number] & { readonly suite: 'codec' })
  )[];
  /** Every ratio: the end-to-end ones and the codec's. */
  readonly ratios: Readonly<Record<string, number>>;
  /** Each ratio's smallest and largest per-round value (the ratio is their median). */
  readonly spreads: Readonly<Record<string, Spread>>;
  /**
   * Why the figures may not be those of a quiet machine: other work measured during the run,
   * a high load average at its start. Empty on a quiet machine.
   */
  readonly warnings: readonly string[];
  readonly targets: Readonly<Record<string, Target>>;
  /** Whether each targeted ratio meets its target (meaningless in smoke mode). */
  readonly met: Readonly<Record<string, boolean>>;
  readonly informational: Readonly<Record<string, number>>;
  readonly definitions: Readonly<Record<string, string>>;
  readonly machine: Readonly<Record<string, string | number>>;
  /** CPU used during the run by other work, by the benchmark, and stolen by the hypervisor, in cores (Linux; absent elsewhere). */
  readonly load?: MachineLoad;
  readonly settings: { readonly e2e: E2eReport['settings']; readonly codec?: CodecBenchReport['settings'] };
}

/** {@link machine} and the load average as the run starts. */
function machineNow(): Record<string, string | number> {
  return { ...machine(), loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100 };
}

/**
 * Runs the end-to-end benchmark, then the codec benchmark, and merges their reports.
 *
 * @throws Error when a self-check fails (a baseline computing something else than ours) or
 *   a worker process fails.
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchReport> {
  return (await runBoth(options)).report;
}

/** {@link runBench}, also returning the codec's own report (for its table). */
async function runBoth(options: BenchOptions): Promise<{ report: BenchReport; codec: CodecBenchReport | undefined }> {
  const smoke = options.smoke ?? false;
  const m = machineNow();
  const before = cpuSnapshot();
  const e2e = await runE2eBench({
    smoke,
    stallSeconds: options.stallSeconds,
    rounds: options.rounds,
    log: options.log,
  });
  let codec: CodecBenchReport | undefined;
  if (options.codec !== false) {
    options.log?.('codec benchmark');
    codec = runCodecBench({ smoke });
  }
  const targets: Record<string, Target> = { ...E2E_TARGETS };
  if (codec !== undefined) for (const [k, min] of Object.entries(CODEC_TARGETS)) targets[k] = { min };
  const ratios: Record<string, number> = { ...e2e.ratios, ...(codec?.ratios ?? {}) };
  const load = machineLoad(before, cpuSnapshot());
  const machineAtEnd = { ...m, loadAverageAtEnd: Math.round(loadavg()[0]! * 100) / 100 };
  const met = Object.fromEntries(
    Object.entries(targets).map(([k, t]) => {
      const v = ratios[k]!;
      return [k, (t.min === undefined || v >= t.min) && (t.max === undefined || v <= t.max)];
    }),
  );
  const report: BenchReport = {
    mode: smoke ? 'smoke' : 'full',
    cases: [
      ...e2e.cases.map((c) => ({ ...c, suite: 'e2e' as const })),
      ...(codec?.cases ?? []).map((c) => ({ ...c, suite: 'codec' as const })),
    ],
    ratios,
    spreads: { ...e2e.spreads, ...(codec?.spreads ?? {}) },
    warnings: busyWarnings(machineAtEnd, load),
    targets,
    met,
    informational: e2e.informational,
    definitions: { ...e2e.definitions, ...(codec?.definitions ?? {}) },
    machine: machineAtEnd,
    ...(load !== undefined ? { load } : {}),
    settings: { e2e: e2e.settings, ...(codec !== undefined ? { codec: codec.settings } : {}) },
  };
  return { report, codec };
}

/**
 * Why a run's figures may be a busy machine's: other work measured during it (the load
 * average cannot tell: it counts the benchmark's own processes, and a run started right after
 * another inherits that one's), steal, or a load average at the start above the cores.
 */
function busyWarnings(m: Readonly<Record<string, string | number>>, load: MachineLoad | undefined): string[] {
  const warnings: string[] = [];
  if (load === undefined)
    warnings.push('could not measure other work on this machine (no /proc): figures may be under load');
  else {
    if (load.otherCores > BUSY_OTHER_CORES)
      warnings.push(
        `busy machine: other work used ${load.otherCores.toFixed(2)} cores on average during the run (the benchmark ${load.benchCores.toFixed(2)}): figures taken under load`,
      );
    if (load.stealCores > BUSY_OTHER_CORES)
      warnings.push(
        `the hypervisor took ${load.stealCores.toFixed(2)} cores (steal) during the run: figures taken under load`,
      );
  }
  if (Number(m.loadAverageAtStart) > Number(m.cores))
    warnings.push(`load average ${String(m.loadAverageAtStart)} at the start, above the ${String(m.cores)} cores`);
  return warnings;
}

const fmt = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

function targetText(t: Target | undefined): string {
  if (t === undefined) return '';
  return t.min !== undefined ? `≥${t.min}` : `≤${String(t.max)}`;
}

/** Formats a report as the plain-text tables `npm run bench` prints. */
export function formatReport(report: BenchReport, codec?: CodecBenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  const s = report.settings.e2e;
  lines.push(
    `end-to-end benchmark (${report.mode}) — ${String(m.cpu)}, ${String(m.cores)} cores, node ${String(m.node)}, load average ${String(m.loadAverageAtStart)} → ${String(m.loadAverageAtEnd)}`,
  );
  if (report.load !== undefined)
    lines.push(
      `CPU during the run, in cores: the benchmark ${report.load.benchCores.toFixed(2)}, other work ${report.load.otherCores.toFixed(2)}, steal ${report.load.stealCores.toFixed(2)}`,
    );
  for (const warning of report.warnings) lines.push(`WARNING: ${warning}`);
  lines.push(
    `median of ${s.rounds} rounds: throughput runs of ${s.runMs} ms after ${s.warmupMs} ms, round trips in ${s.rttBlocks} alternating blocks of ${s.rttBlockPings} pings; stall ${s.stallSeconds} s; workers: node ${s.nodeArgs.join(' ')}, ${s.pinned ? 'sender on CPU 0, receiver on CPU 1' : 'not pinned'}`,
  );
  lines.push('');
  const e2e = report.cases.filter((c): c is E2eCase & { suite: 'e2e' } => c.suite === 'e2e');
  const w = Math.max(...e2e.map((c) => c.name.length));
  lines.push(
    `${'case'.padEnd(w)}  ${'impl'.padEnd(5)} ${'msg/s'.padStart(9)} ${'MiB/s'.padStart(8)} ${'cpu ns/msg'.padStart(10)} ${'spread'.padStart(7)}  ${'send/recv ns'.padStart(13)} ${'gc ms/s'.padStart(9)}`,
  );
  for (const c of e2e) {
    if (c.type === 'throughput') {
      const rounds = c.rounds;
      const mid = (f: (r: (typeof rounds)[number]) => number): number => {
        const v = rounds.map(f).sort((x, y) => x - y);
        return v[Math.floor((v.length - 1) / 2)]!;
      };
      lines.push(
        `${c.name.padEnd(w)}  ${c.impl.padEnd(5)} ${fmt(c.msgsPerSec).padStart(9)} ${c.mibPerSec.toFixed(1).padStart(8)} ${c.cpuNsPerMsg.toFixed(0).padStart(10)} ${`${(c.spread * 100).toFixed(1)}%`.padStart(7)}  ${`${mid((r) => r.senderCpuNsPerMsg).toFixed(0)}/${mid((r) => r.receiverCpuNsPerMsg).toFixed(0)}`.padStart(13)} ${`${mid((r) => r.senderGcMsPerSec).toFixed(0)}/${mid((r) => r.receiverGcMsPerSec).toFixed(0)}`.padStart(9)}`,
      );
    } else if (c.type === 'rtt') {
      lines.push(
        `${c.name.padEnd(w)}  ${c.impl.padEnd(5)} p50 ${c.p50Us.toFixed(1)} µs, p99 ${c.p99Us.toFixed(1)} µs, max ${c.maxUs.toFixed(0)} µs (${c.samples} pings); slowest 1%: ${c.tail.withGc} of ${c.tail.pings} overlap a collection`,
      );
      for (const side of ['a', 'b'] as const) {
        const x = c.sides[side];
        lines.push(
          `${''.padEnd(w)}  ${''.padEnd(5)}   side ${side}: ${x.minorGcs} minor + ${x.majorGcs} major collections, ${x.gcMs.toFixed(1)} ms (longest ${x.longestGcMs.toFixed(2)}); loop delay p99 ${(x.loopDelay.p99Us / 1000).toFixed(2)} ms; flush scheduling p50 ${x.immediate.p50Us.toFixed(1)} µs, p99 ${x.immediate.p99Us.toFixed(1)} µs`,
        );
      }
    } else {
      lines.push(
        `${c.name.padEnd(w)}  ${c.impl.padEnd(5)} rss idle ${c.rssIdleMiB.toFixed(1)}, loaded ≤ ${c.rssLoadMaxMiB.toFixed(1)}, stalled ≤ ${c.rssMaxMiB.toFixed(1)} (+${c.growthMiB.toFixed(1)}; heap ${c.memoryMiB.atMax.heapTotal.toFixed(1)}, buffers ${c.memoryMiB.atMax.arrayBuffers.toFixed(1)}), end ${c.rssStallEndMiB.toFixed(1)} MiB, queue ≤ ${c.queueMaxMiB.toFixed(1)} of ${c.queueLimitMiB} MiB, ${c.sentDuringStall} sent while stalled, ${c.survived ? 'link survived' : 'LINK LOST'}`,
      );
    }
  }
  lines.push('');
  if (codec !== undefined) {
    lines.push(formatCodecReport(codec));
    lines.push('');
  }
  lines.push('ratios');
  const kw = Math.max(...[...Object.keys(report.ratios), ...Object.keys(report.informational)].map((k) => k.length));
  lines.push(`${''.padEnd(kw)} ${'median'.padStart(7)} ${'rounds'.padStart(11)} ${'target'.padStart(7)}`);
  for (const [k, v] of Object.entries(report.ratios)) {
    const t = report.targets[k];
    const sp = report.spreads[k];
    const spread = sp === undefined ? '' : `${sp.min.toFixed(2)}–${sp.max.toFixed(2)}`;
    lines.push(
      `${k.padEnd(kw)} ${v.toFixed(2).padStart(7)} ${spread.padStart(11)} ${targetText(t).padStart(7)}  ${t === undefined ? '' : report.met[k] === true ? 'ok' : 'MISSED'}`,
    );
  }
  for (const [k, v] of Object.entries(report.informational))
    lines.push(`${k.padEnd(kw)} ${v.toFixed(2).padStart(7)} ${''.padStart(11)}          (informational)`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      'no-codec': { type: 'boolean', default: false },
      'stall-seconds': { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const { report, codec } = await runBoth({
    smoke: values.smoke,
    codec: !values['no-codec'],
    stallSeconds: num(values['stall-seconds'], 'stall-seconds'),
    rounds: num(values.rounds, 'rounds'),
    log: (line) => process.stderr.write(`bench: ${line}\n`),
  });
  console.log(values.json ? JSON.stringify(report) : formatReport(report, codec));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  });
}
