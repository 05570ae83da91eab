/**
 * Runs the suite against every target of a fleet, a bounded number at a time, and folds the
 * runs into a matrix report. One target that cannot be reached, or whose run crashes, is a
 * verdict of that target; the others are judged all the same.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPEC_VERSION } from '../../../codec/src/index.js';
import { packageRoot } from '../../../spec/src/index.js';
import { tcpTransport } from '../../../reference-impl/src/tcp-transport.js';
import { TlsTransport } from '../../../reference-impl/src/tls-transport.js';
import type { Transport } from '../../../reference-impl/src/transport.js';
import { CASES, selectCases, type Selection } from '../catalog.js';
import { loadExpectedFailures } from '../expectations.js';
import { ConformanceExit, type ConformanceReport } from '../report.js';
import { EmptySelectionError, runConformance, type TargetSpec } from '../runner.js';
import {
  countVerdicts,
  fleetExitCode,
  matrixRows,
  targetLine,
  targetVerdictOf,
  type FleetTargetResult,
  type MatrixReport,
} from './matrix-report.js';
import { parseEndpoint, type FleetTarget } from './targets-file.js';

/** Options of {@link runFleet}; the timing options are defaults that a target's own options override. */
export interface FleetOptions {
  /** The endpoints to judge (see `loadTargets`). */
  readonly targets: readonly FleetTarget[];
  /** How many targets run at once (default 1). */
  readonly jobs?: number;
  /** Which cases to run against each (default all the cases of its role). */
  readonly selection?: Selection;
  /** Shuffle each target's case order with this seed. */
  readonly seed?: number;
  /** Run each selected case this many times. */
  readonly repeat?: number;
  /** Multiplies every timeout (default 1). */
  readonly timeoutScale?: number;
  /** Budget of one case, ms before scaling (default 30000). */
  readonly caseTimeoutMs?: number;
  /** Budget of each target's run, ms before scaling (default none). */
  readonly runTimeoutMs?: number;
  /** The peers' handshake timeout, ms (default the spec's). */
  readonly handshakeTimeoutMs?: number;
  /** Time to open a first connection to a connect target before it is judged unreachable, ms before scaling (default 5000). */
  readonly reachTimeoutMs?: number;
  /** As `--allow-skipped-must`: skipped MUST cases do not make a target incomplete. */
  readonly allowSkippedMust?: boolean;
  /** Called when a target's run starts. */
  readonly onTargetStart?: (target: FleetTarget) => void;
  /** Called with each target's result (and its report, when the suite ran) as soon as it is known. */
  readonly onTargetEnd?: (result: FleetTargetResult, report: ConformanceReport | undefined) => void;
}

/** What {@link runFleet} returns: the matrix, and each target's own report by name (absent for a target the suite never ran against). */
export interface FleetRun {
  /** The matrix report. */
  readonly matrix: MatrixReport;
  /** Each target's full report, by target name. */
  readonly reports: ReadonlyMap<string, ConformanceReport>;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Runs `work` over `items`, at most `jobs` at a time, starting them in `order` (indexes into
 * `items`, default their own order); results in the order of `items`.
 */
export async function boundedAll<T, R>(
  items: readonly T[],
  jobs: number,
  work: (item: T, index: number) => Promise<R>,
  order: readonly number[] = items.map((_, i) => i),
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      const i = order[next++]!;
      results[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

/**
 * What a target is expected to cost, for the start order: a launched peer (exec) has to start
 * first and is restarted after the cases that stop it; a peer that is already up (connect,
 * listen) does not; a connect target where nothing listens ends at the first attempt.
 */
const EXPECTED_COST: Readonly<Record<FleetTarget['kind'], number>> = { exec: 2, listen: 1, connect: 1 };

/**
 * The order in which {@link runFleet} starts the targets: the most expensive first (longest
 * processing time first), so that the short ones fill the gaps at the end instead of a long
 * one starting last while the other jobs sit idle; ties keep the file's order.
 *
 * @returns indexes into `targets`.
 */
export function startOrder(targets: readonly FleetTarget[]): number[] {
  return targets
    .map((t, i) => ({ i, cost: EXPECTED_COST[t.kind] }))
    .sort((a, b) => b.cost - a.cost || a.i - b.i)
    .map(({ i }) => i);
}

function transportOf(target: FleetTarget): { transport?: Transport; transportFlags?: string } {
  const tls = target.options.tls;
  if (tls === undefined) return {};
  return {
    transport: new TlsTransport({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: readFileSync(tls.ca) }),
    transportFlags: ` --tls-cert ${tls.cert} --tls-key ${tls.key} --tls-ca ${tls.ca}`,
  };
}

/** The single-run target a fleet target stands for. */
export function targetSpecOf(target: FleetTarget): TargetSpec {
  const transport = transportOf(target);
  if (target.kind === 'exec') return { kind: 'exec', command: target.address, role: target.role, ...transport };
  const { host, port } = parseEndpoint(target.address)!;
  return { kind: target.kind, host, port, ...transport };
}

/** Opens and drops one connection; rejects with why it could not, within `ms`. */
async function reach(transport: Transport, host: string, port: number, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = transport.connect(host, port);
  try {
    const c = await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${ms} ms`)), ms);
      }),
    ]);
    c.destroy();
  } catch (err) {
    // A connection that comes after the deadline is dropped as soon as it does.
    attempt.then((c) => c.destroy()).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function errorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code !== undefined && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : (e.message ?? String(err));
}

/** Judges one target; never throws. */
async function judge(
  target: FleetTarget,
  options: FleetOptions,
): Promise<{ result: FleetTargetResult; report?: ConformanceReport }> {
  const started = performance.now();
  const base = { name: target.name, kind: target.kind, address: target.address, role: target.role };
  const unjudged = (verdict: 'unreachable' | 'error', reason: string): { result: FleetTargetResult } => ({
    result: {
      ...base,
      verdict,
      verdictLine: targetLine(verdict, undefined, reason),
      exitCode: ConformanceExit.harness,
      reason,
      durationMs: Math.round(performance.now() - started),
    },
  });
  const scale = target.options.timeoutScale ?? options.timeoutScale ?? 1;
  try {
    const spec = targetSpecOf(target);
    // A listening peer that refuses connections is one line, not a run of errored cases.
    if (spec.kind === 'connect')
      await reach(spec.transport ?? tcpTransport, spec.host, spec.port, (options.reachTimeoutMs ?? 5000) * scale).catch(
        (err: unknown) => {
          throw new Unreachable(`cannot connect to ${target.address}: ${errorMessage(err)}`);
        },
      );
    const report = await runConformance({
      target: spec,
      selection: { ...options.selection, roles: [target.role] },
      seed: options.seed,
      repeat: options.repeat,
      timeoutScale: scale,
      caseTimeoutMs: target.options.caseTimeoutMs ?? options.caseTimeoutMs,
      runTimeoutMs: options.runTimeoutMs,
      handshakeTimeoutMs: target.options.handshakeTimeoutMs ?? options.handshakeTimeoutMs,
      ...(target.options.expectedFailures !== undefined
        ? { expectedFailures: loadExpectedFailures(target.options.expectedFailures) }
        : {}),
    });
    const { verdict, exitCode } = targetVerdictOf(report, options.allowSkippedMust);
    const reason =
      verdict === 'unreachable' || verdict === 'error'
        ? (report.problems[0] ?? report.cases.find((c) => c.verdict === 'error')?.reason)
        : undefined;
    return {
      result: {
        ...base,
        verdict,
        verdictLine: targetLine(verdict, report, reason),
        exitCode,
        ...(reason !== undefined ? { reason } : {}),
        summary: report.summary,
        durationMs: Math.round(performance.now() - started),
      },
      report,
    };
  } catch (err) {
    if (err instanceof Unreachable) return unjudged('unreachable', err.message);
    return unjudged('error', `the run crashed: ${errorMessage(err)}`);
  }
}

class Unreachable extends Error {}

/**
 * Runs the suite against every target, at most `jobs` at a time (exec targets started first,
 * see {@link startOrder}), and returns the matrix and each target's report, in the file's
 * order. Connect targets are reached once first: one that refuses is
 * `unreachable` at once. Listen targets need distinct addresses (the targets file checks);
 * exec targets each launch their own process on a free port.
 *
 * @throws EmptySelectionError (ERR_EMPTY_SELECTION) when the selection matches no case in the
 *   role of some target, before any target runs.
 */
export async function runFleet(options: FleetOptions): Promise<FleetRun> {
  for (const t of options.targets) {
    const { cases, unknown } = selectCases({ ...options.selection, roles: [t.role] }, CASES);
    if (!cases.some((c) => c.roles.includes(t.role)))
      throw new EmptySelectionError(
        unknown.length > 0 ? ` (unknown case ids: ${unknown.join(', ')})` : ` in the role of ${t.name} (${t.role})`,
      );
  }
  const jobs = Math.max(1, options.jobs ?? 1);
  const startedAt = new Date();
  const started = performance.now();
  const reports = new Map<string, ConformanceReport>();
  const results = await boundedAll(
    options.targets,
    jobs,
    async (target) => {
      options.onTargetStart?.(target);
      const { result, report } = await judge(target, options);
      if (report !== undefined) reports.set(target.name, report);
      options.onTargetEnd?.(result, report);
      return result;
    },
    startOrder(options.targets),
  );
  return {
    matrix: {
      tool: 'kkcm',
      version: packageVersion(),
      specVersion: SPEC_VERSION,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - started),
      jobs,
      exitCode: fleetExitCode(results),
      counts: countVerdicts(results),
      targets: results,
      requirements: matrixRows(results, reports),
    },
    reports,
  };
}
