/**
 * The JUnit XML report, for CI servers: one `<testsuite>` per role the peer played, one
 * `<testcase>` per case (classname = the role and the id without its last part, name = the id
 * and the role, so that dashboards keep master and backup results apart), a `warnings` suite
 * that repeats each SHOULD not met as a skipped test case (a passed one is invisible on most
 * dashboards, a failed one would fail the build), and a `run` suite with one failing test
 * case per problem with the run itself.
 *
 * @module
 */
import { verdictLine, type CaseResult, type ConformanceReport } from '../report.js';
import { caseLabel, ROLES } from './common.js';
import { renderCaseDetails } from './human.js';

/**
 * Characters XML 1.0 cannot carry even as references (C0 controls other than tab, LF, CR;
 * U+FFFE, U+FFFF; unpaired surrogates).
 */
const NOT_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text content escaped for XML; characters XML cannot hold are written as `\xNN` / `\uNNNN`. */
export function xmlText(s: string): string {
  return s.replace(NOT_XML, visible).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value escaped for XML (double-quoted); line breaks and tabs survive as references. */
export function xmlAttr(s: string): string {
  return xmlText(s)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function attrs(pairs: Record<string, string | number>): string {
  return Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/**
 * The role and the id without its last dotted part (`backup.handshake.version` for
 * `handshake.version.overlap` run against a backup).
 */
function classname(r: Pick<CaseResult, 'id' | 'role'>): string {
  const dot = r.id.lastIndexOf('.');
  return `${r.role}.${dot > 0 ? r.id.slice(0, dot) : r.id}`;
}

/** JUnit's timestamp: ISO 8601 without fraction or zone, as the common XSD wants. */
function timestamp(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(iso);
  return m?.[1] ?? iso;
}

/**
 * One case as a JUnit `<testcase>`: pass, skip (`<skipped>`), xfail and warn (`<system-out>`),
 * fail and xpass (`<failure>`), error (`<error>`), with the case's details. `names` default to
 * the single run's (`ID [ROLE]`, `ROLE.GROUP`); the fleet report gives its own.
 */
export function junitTestcase(
  r: CaseResult,
  names: { readonly name: string; readonly classname: string } = { name: caseLabel(r), classname: classname(r) },
): string {
  const head = `    <testcase${attrs({ ...names, time: seconds(r.durationMs) })}`;
  const details = (): string => xmlText(renderCaseDetails(r, { color: false }));
  switch (r.verdict) {
    case 'pass':
      return `${head}/>`;
    case 'skip':
      return `${head}>\n      <skipped${attrs({ message: r.reason ?? 'skipped' })}/>\n    </testcase>`;
    case 'xfail':
      return `${head}>\n      <system-out>${xmlText(`expected failure: ${r.reason ?? ''}\n`)}${details()}</system-out>\n    </testcase>`;
    case 'warn':
      return `${head}>\n      <system-out>${xmlText(`warning (${r.level} not met)\n`)}${details()}</system-out>\n    </testcase>`;
    case 'fail':
      return `${head}>\n      <failure${attrs({ message: `expected ${r.expected ?? '?'}; observed ${r.observed ?? '?'}`, type: 'fail' })}>${details()}</failure>\n    </testcase>`;
    case 'xpass':
      return `${head}>\n      <failure${attrs({ message: `passed unexpectedly: ${r.reason ?? 'listed as an expected failure'}`, type: 'xpass' })}>${details()}</failure>\n    </testcase>`;
    case 'error':
      return `${head}>\n      <error${attrs({ message: r.reason ?? 'harness error', type: 'error' })}>${details()}</error>\n    </testcase>`;
  }
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
}

function count(cases: readonly CaseResult[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((r) => r.verdict === 'fail' || r.verdict === 'xpass').length,
    errors: cases.filter((r) => r.verdict === 'error').length,
    skipped: cases.filter((r) => r.verdict === 'skip').length,
    time: cases.reduce((t, r) => t + r.durationMs, 0),
  };
}

/**
 * The report as JUnit XML (UTF-8, XML 1.0). Verdicts map as: pass → passed; fail and xpass →
 * `<failure>`; error → `<error>`; skip → `<skipped message=reason>`; xfail and warn → passed,
 * with a `<system-out>` note and the details; each warn is also a skipped test case of the
 * `warnings` suite. Every text is escaped, control characters
 * included.
 */
export function renderJunit(report: ConformanceReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = count(report.cases);
  const problems = report.problems.length;
  const warnings = report.cases.filter((r) => r.verdict === 'warn');
  out.push(
    `<testsuites${attrs({
      name: 'kkcm conformance',
      tests: total.tests + warnings.length + problems,
      failures: total.failures + problems,
      errors: total.errors,
      skipped: total.skipped + warnings.length,
      time: seconds(report.durationMs),
      timestamp: timestamp(report.startedAt),
    })}>`,
  );
  const properties = [
    `    <properties>`,
    ...Object.entries({
      target: report.target,
      seed: String(report.seed),
      specVersion: report.specVersion,
      kkcmVersion: report.version,
      conforming: String(report.conforming),
      verdict: verdictLine(report),
      mustNotRun: String(report.mustNotRun.length),
    }).map(([name, value]) => `      <property${attrs({ name, value })}/>`),
    `    </properties>`,
  ];
  for (const role of ROLES) {
    const cases = report.cases.filter((r) => r.role === role);
    if (cases.length === 0) continue;
    const c = count(cases);
    out.push(
      `  <testsuite${attrs({ name: role, tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped, time: seconds(c.time), timestamp: timestamp(report.startedAt) })}>`,
    );
    out.push(...properties, ...cases.map((r) => junitTestcase(r)), '  </testsuite>');
  }
  if (warnings.length > 0) {
    out.push(
      `  <testsuite${attrs({ name: 'warnings', tests: warnings.length, failures: 0, errors: 0, skipped: warnings.length, time: '0.000', timestamp: timestamp(report.startedAt) })}>`,
    );
    for (const r of warnings) {
      const message = `${r.level} not met: expected ${r.expected ?? '?'}; observed ${r.observed ?? '?'}`;
      out.push(
        `    <testcase${attrs({ name: `warning: ${caseLabel(r)}`, classname: `warnings.${classname(r)}`, time: '0.000' })}>`,
        `      <skipped${attrs({ message })}/>`,
        '    </testcase>',
      );
    }
    out.push('  </testsuite>');
  }
  if (problems > 0) {
    out.push(
      `  <testsuite${attrs({ name: 'run', tests: problems, failures: problems, errors: 0, skipped: 0, time: '0.000', timestamp: timestamp(report.startedAt) })}>`,
    );
    report.problems.forEach((p, i) => {
      out.push(`    <testcase${attrs({ name: `problem ${i + 1}`, classname: 'run', time: '0.000' })}>`);
      out.push(`      <failure${attrs({ message: p, type: 'problem' })}>${xmlText(p)}</failure>`, '    </testcase>');
    });
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
