/**
 * The matrix report of a fleet run: one verdict per target, and per requirement the verdict
 * of each target (the worst of its cases that check it). Its JSON form follows the published
 * schema `conformance/matrix.schema.json`.
 *
 * @module
 */
import { loadSpec } from '../../../spec/src/index.js';
import { worstVerdict } from '../reporters/common.js';
import {
  ConformanceExit,
  exitCodeOf,
  verdictLine,
  type ConformanceReport,
  type Level,
  type PeerRole,
  type Summary,
  type Verdict,
} from '../report.js';
import type { FleetTargetKind } from './targets-file.js';

/**
 * A target's verdict: `conforming` (exit 0), `incomplete` (MUST cases skipped, exit 4),
 * `not-conforming` (a fail, an xpass or a problem, exit 1), `unreachable` (no case could be
 * judged: refused, never connected, never started; exit 3), `error` (some cases could not be
 * judged, or the run crashed; exit 3).
 */
export type TargetVerdict = 'conforming' | 'incomplete' | 'not-conforming' | 'unreachable' | 'error';

/** Every target verdict, best first. */
export const TARGET_VERDICTS: readonly TargetVerdict[] = [
  'conforming',
  'incomplete',
  'not-conforming',
  'unreachable',
  'error',
];

/** What a fleet run found about one target. */
export interface FleetTargetResult {
  /** The target's name (from the targets file). */
  readonly name: string;
  /** How the suite reached it. */
  readonly kind: FleetTargetKind;
  /** `HOST:PORT`, or the command of an exec target. */
  readonly address: string;
  /** The role it played. */
  readonly role: PeerRole;
  /** Its verdict. */
  readonly verdict: TargetVerdict;
  /** The verdict in words (`CONFORMING`, `NOT CONFORMING`, `UNREACHABLE: …`). */
  readonly verdictLine: string;
  /** The exit code a single run against it would have had (0, 1, 3 or 4). */
  readonly exitCode: number;
  /** Why it is unreachable or errored (absent otherwise). */
  readonly reason?: string;
  /** Count of cases per verdict (absent when the suite never ran against it). */
  readonly summary?: Summary;
  /** How long its run took, in ms. */
  readonly durationMs: number;
  /** Its own report files, relative to the matrix report (with `--out DIR`). */
  readonly files?: readonly string[];
}

/** One requirement: each target's verdict for it. */
export interface MatrixRow {
  /** Requirement id (`KKCM-FRM-1`). */
  readonly id: string;
  /** Its level. */
  readonly level: Level;
  /** Its text, from the spec. */
  readonly text: string;
  /** Target name → the worst verdict of its cases that check (or, per the wire oracle, broke) the requirement. A target with no such case has no key. */
  readonly verdicts: Readonly<Record<string, Verdict>>;
}

/** A whole fleet run. */
export interface MatrixReport {
  /** The tool that wrote the report. */
  readonly tool: 'kkcm';
  /** kkcm version. */
  readonly version: string;
  /** Version of the spec the suite checks. */
  readonly specVersion: string;
  /** Start of the run, ISO 8601. */
  readonly startedAt: string;
  /** Duration of the whole fleet run, in ms. */
  readonly durationMs: number;
  /** How many targets ran at once. */
  readonly jobs: number;
  /** The fleet's exit code ({@link fleetExitCode}). */
  readonly exitCode: number;
  /** Count of targets per verdict. */
  readonly counts: Readonly<Record<TargetVerdict, number>>;
  /** Every target, in the order of the targets file. */
  readonly targets: readonly FleetTargetResult[];
  /** Every requirement some target's cases checked, in natural id order. */
  readonly requirements: readonly MatrixRow[];
}

/**
 * The verdict of one target's finished run.
 *
 * @param allowSkippedMust - as `--allow-skipped-must`: skipped MUST cases do not make it incomplete.
 */
export function targetVerdictOf(
  report: ConformanceReport,
  allowSkippedMust = false,
): {
  /** The target's verdict. */
  verdict: TargetVerdict;
  /** What `kkcm conformance` would exit with for this target alone. */
  exitCode: number;
} {
  const exitCode = exitCodeOf(report, { allowSkippedMust });
  switch (exitCode) {
    case ConformanceExit.conforming:
      return { verdict: 'conforming', exitCode };
    case ConformanceExit.incomplete:
      return { verdict: 'incomplete', exitCode };
    case ConformanceExit.harness:
      return {
        verdict: report.cases.every((c) => c.verdict === 'error') ? 'unreachable' : 'error',
        exitCode,
      };
    default:
      return { verdict: 'not-conforming', exitCode };
  }
}

/** The exit codes in the order the fleet's exit code picks them: the first one any target has wins. */
const EXIT_PRIORITY: readonly number[] = [
  ConformanceExit.notConforming,
  ConformanceExit.harness,
  ConformanceExit.incomplete,
];

/**
 * The fleet's exit code: the worst of its targets' exit codes, ranked as a single run ranks
 * its cases: 1 when any target is not conforming, else 3 when any is unreachable or errored,
 * else 4 when any is incomplete, else 0 (every target conforming).
 */
export function fleetExitCode(targets: readonly Pick<FleetTargetResult, 'exitCode'>[]): number {
  for (const code of EXIT_PRIORITY) if (targets.some((t) => t.exitCode === code)) return code;
  return ConformanceExit.conforming;
}

/** Counts of targets per verdict. */
export function countVerdicts(targets: readonly Pick<FleetTargetResult, 'verdict'>[]): Record<TargetVerdict, number> {
  const counts = { conforming: 0, incomplete: 0, 'not-conforming': 0, unreachable: 0, error: 0 };
  for (const t of targets) counts[t.verdict]++;
  return counts;
}

/** The fleet's verdict in one line: `3 of 5 targets conforming; 1 not conforming; 1 unreachable`. */
export function fleetLine(report: Pick<MatrixReport, 'counts' | 'targets'>): string {
  const parts = [`${report.counts.conforming} of ${report.targets.length} targets conforming`];
  for (const v of TARGET_VERDICTS.slice(1))
    if (report.counts[v] > 0) parts.push(`${report.counts[v]} ${v.replace('-', ' ')}`);
  return parts.join('; ');
}

/** The one-line verdict of a finished target run, as {@link FleetTargetResult.verdictLine}. */
export function targetLine(verdict: TargetVerdict, report: ConformanceReport | undefined, reason?: string): string {
  if (verdict === 'unreachable') return `UNREACHABLE${reason !== undefined ? `: ${reason}` : ''}`;
  if (verdict === 'error' && report === undefined) return `ERROR${reason !== undefined ? `: ${reason}` : ''}`;
  if (verdict === 'error') return `${verdictLine(report!)} (${report!.summary.error} cases could not be judged)`;
  return verdictLine(report!);
}

/**
 * The requirement rows: for each requirement any case checked (its `requirements`, or its
 * `violated` ones), each target's worst verdict over those cases.
 */
export function matrixRows(
  targets: readonly Pick<FleetTargetResult, 'name'>[],
  reports: ReadonlyMap<string, ConformanceReport>,
): MatrixRow[] {
  const spec = new Map(loadSpec().requirements.map((r) => [r.id, r]));
  const cells = new Map<string, Map<string, Verdict[]>>();
  for (const t of targets) {
    const report = reports.get(t.name);
    for (const c of report?.cases ?? [])
      for (const id of new Set([...c.requirements, ...(c.violated ?? [])])) {
        const row = cells.get(id) ?? new Map<string, Verdict[]>();
        cells.set(id, row);
        row.set(t.name, [...(row.get(t.name) ?? []), c.verdict]);
      }
  }
  return [...cells]
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([id, row]) => ({
      id,
      level: (spec.get(id)?.level ?? 'MUST') as Level,
      text: spec.get(id)?.text ?? '',
      verdicts: Object.fromEntries(
        targets.flatMap((t) => {
          const v = worstVerdict(row.get(t.name) ?? []);
          return v === undefined ? [] : [[t.name, v]];
        }),
      ),
    }));
}

/** The matrix report as JSON (valid against `conformance/matrix.schema.json`), ending with a newline. */
export function renderMatrixJson(report: MatrixReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
