/**
 * The matrix report as text for people and as JUnit XML for CI servers (one `<testsuite>`
 * per target). The HTML form is in matrix-html.ts, the JSON form is the report itself.
 *
 * @module
 */
import { formatDuration, terminalSafe } from '../reporters/common.js';
import { junitTestcase, xmlAttr, xmlText } from '../reporters/junit.js';
import type { ConformanceReport } from '../report.js';
import { renderReport } from '../reporters/render.js';
import { renderMatrixHtml } from './matrix-html.js';
import { fleetLine, renderMatrixJson, type FleetTargetResult, type MatrixReport } from './matrix-report.js';
import type { FleetRun } from './run-fleet.js';

function counts(t: FleetTargetResult): string {
  const s = t.summary;
  if (s === undefined) return '';
  return Object.entries(s)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
}

/**
 * The fleet as text: one line per target (name, kind, role, verdict, counts, duration), the
 * requirements some target did not pass with those targets' verdicts, and the fleet line.
 * Terminal-safe; no colours.
 */
export function renderMatrixHuman(report: MatrixReport): string {
  const w = Math.max(4, ...report.targets.map((t) => t.name.length));
  const lines = [
    `kkcm conformance fleet: ${report.targets.length} targets, ${report.jobs} at a time, ${formatDuration(report.durationMs)}`,
    '',
  ];
  for (const t of report.targets)
    lines.push(
      terminalSafe(
        `  ${t.name.padEnd(w)}  ${t.kind.padEnd(7)}  ${t.role.padEnd(6)}  ${t.verdictLine}${t.summary !== undefined ? `  (${counts(t)})` : ''}  ${formatDuration(t.durationMs)}`,
      ),
    );
  const bad = report.requirements.filter((r) =>
    Object.values(r.verdicts).some((v) => v === 'fail' || v === 'xpass' || v === 'error' || v === 'warn'),
  );
  if (bad.length > 0) {
    lines.push('', 'Requirements not met everywhere:');
    for (const r of bad)
      lines.push(
        `  ${r.id.padEnd(14)} ${Object.entries(r.verdicts)
          .filter(([, v]) => v !== 'pass')
          .map(([name, v]) => `${name}: ${v}`)
          .join(', ')}`,
      );
  }
  lines.push('', `${fleetLine(report)} (exit ${report.exitCode})`);
  return `${lines.join('\n')}\n`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function attrs(pairs: Record<string, string | number>): string {
  return Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

/** JUnit's timestamp: ISO 8601 without fraction or zone. */
function timestamp(iso: string): string {
  return /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(iso)?.[1] ?? iso;
}

/**
 * The fleet as JUnit XML: one `<testsuite>` per target (named after it, its verdict in the
 * properties), one `<testcase>` per case with classname `TARGET.ROLE`; a target the suite
 * never ran against holds one `reachability` test case with an `<error>`; each problem of
 * a run is a failing `problem N` test case. Verdicts map as in the single-run JUnit report.
 */
export function renderMatrixJunit(report: MatrixReport, reports: ReadonlyMap<string, ConformanceReport>): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const t of report.targets) {
    const run = reports.get(t.name);
    const body: string[] = [];
    let n = { tests: 0, failures: 0, errors: 0, skipped: 0 };
    if (run === undefined) {
      n = { tests: 1, failures: 0, errors: 1, skipped: 0 };
      body.push(
        `    <testcase${attrs({ name: 'reachability', classname: `${t.name}.${t.role}`, time: seconds(t.durationMs) })}>`,
        `      <error${attrs({ message: t.verdictLine, type: t.verdict })}>${xmlText(t.reason ?? t.verdictLine)}</error>`,
        '    </testcase>',
      );
    } else {
      for (const r of run.cases) body.push(junitTestcase(r, { name: r.id, classname: `${t.name}.${r.role}` }));
      run.problems.forEach((p, i) => {
        body.push(
          `    <testcase${attrs({ name: `problem ${i + 1}`, classname: `${t.name}.run`, time: '0.000' })}>`,
          `      <failure${attrs({ message: p, type: 'problem' })}>${xmlText(p)}</failure>`,
          '    </testcase>',
        );
      });
      n = {
        tests: run.cases.length + run.problems.length,
        failures: run.summary.fail + run.summary.xpass + run.problems.length,
        errors: run.summary.error,
        skipped: run.summary.skip,
      };
    }
    tests += n.tests;
    failures += n.failures;
    errors += n.errors;
    skipped += n.skipped;
    const properties = Object.entries({
      kind: t.kind,
      address: t.address,
      role: t.role,
      verdict: t.verdict,
      verdictLine: t.verdictLine,
      exitCode: String(t.exitCode),
    }).map(([name, value]) => `      <property${attrs({ name, value })}/>`);
    suites.push(
      `  <testsuite${attrs({ name: t.name, ...n, time: seconds(t.durationMs), timestamp: timestamp(report.startedAt) })}>`,
      '    <properties>',
      ...properties,
      '    </properties>',
      ...body,
      '  </testsuite>',
    );
  }
  return `${[
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'kkcm conformance fleet', tests, failures, errors, skipped, time: seconds(report.durationMs), timestamp: timestamp(report.startedAt) })}>`,
    ...suites,
    '</testsuites>',
  ].join('\n')}\n`;
}

/**
 * Every file of a fleet run's `--out` folder, by name: each target's own report as
 * `NAME.json` and `NAME.html`, and the matrix as `matrix.json`, `matrix.html` and
 * `matrix.xml` (JUnit). The matrix names each target's files (`files`).
 */
export function fleetFiles(run: FleetRun): Map<string, string> {
  const files = new Map<string, string>();
  const targets = run.matrix.targets.map((t) => {
    const report = run.reports.get(t.name);
    if (report === undefined) return t;
    files.set(`${t.name}.json`, renderReport(report, 'json'));
    files.set(`${t.name}.html`, renderReport(report, 'html'));
    return { ...t, files: [`${t.name}.html`, `${t.name}.json`] };
  });
  const matrix: MatrixReport = { ...run.matrix, targets };
  files.set('matrix.json', renderMatrixJson(matrix));
  files.set('matrix.html', renderMatrixHtml(matrix));
  files.set('matrix.xml', renderMatrixJunit(matrix, run.reports));
  return files;
}
