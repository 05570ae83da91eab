/**
 * The TAP report (TAP version 14): one test point per case, `# SKIP reason` for skips,
 * `# TODO` for expected failures, a YAML diagnostic block for failures, errors, unexpected
 * passes and warnings, and one failing test point per problem with the run itself.
 *
 * @module
 */
import { verdictLine, type CaseResult, type ConformanceReport } from '../report.js';
import { caseLabel, isFailing, needsDetails, terminalSafe, toJsonValue } from './common.js';
import { summaryCounts } from './human.js';

/** A test point description: one line, with `#` and `\` escaped as TAP 14 asks. */
function description(s: string): string {
  return terminalSafe(s).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/** Text after a `# SKIP` / `# TODO` directive: one line. */
function directiveText(s: string): string {
  return terminalSafe(s).replace(/\r/g, ' ');
}

/**
 * A string as a YAML double-quoted scalar: JSON's escapes, which YAML reads the same, plus
 * escapes for DEL and the C1 controls that YAML streams may not carry raw.
 */
function yamlString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A scalar as YAML. */
function yamlScalar(v: unknown): string {
  if (typeof v === 'string') return yamlString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : yamlString(String(v));
  if (typeof v === 'boolean' || v === null) return String(v);
  return yamlString(String(v));
}

/** YAML lines for a JSON-like value under `key`, indented by `pad`. */
function yamlEntry(key: string | undefined, v: unknown, pad: string): string[] {
  const lead = key === undefined ? `${pad}- ` : `${pad}${key}:`;
  const inner = `${pad}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${lead}${key === undefined ? '' : ' '}[]`];
    const items = v.flatMap((x) => yamlEntry(undefined, x, inner));
    return key === undefined ? [`${pad}-`, ...items] : [lead, ...items];
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return [`${lead}${key === undefined ? '' : ' '}{}`];
    const lines = entries.flatMap(([k, x]) =>
      yamlEntry(/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : yamlString(k), x, inner),
    );
    return key === undefined ? [`${pad}-`, ...lines] : [lead, ...lines];
  }
  return [`${lead}${key === undefined ? '' : ' '}${yamlScalar(v)}`];
}

/** The YAML diagnostic of a case, between `---` and `...`, indented two spaces. */
function diagnostic(r: CaseResult): string[] {
  const data: Record<string, unknown> = {
    verdict: r.verdict,
    level: r.level,
    role: r.role,
    duration_ms: r.durationMs,
    reason: r.reason,
    expected: r.expected,
    observed: r.observed,
    allowed_outcomes: r.allowedOutcomes,
    violated: r.violated,
    requirements: r.requirements,
    requirement_texts: r.requirementTexts,
    transcript: r.transcript,
    rerun: r.rerun,
  };
  const json = toJsonValue(data) as Record<string, unknown>;
  return ['  ---', ...Object.entries(json).flatMap(([k, v]) => yamlEntry(k, v, '  ')), '  ...'];
}

function testPoint(r: CaseResult, n: number): string[] {
  const desc = description(caseLabel(r));
  const diag = needsDetails(r.verdict) ? diagnostic(r) : [];
  switch (r.verdict) {
    case 'skip':
      return [`ok ${n} - ${desc} # SKIP ${directiveText(r.reason ?? '')}`.trimEnd()];
    case 'xfail':
      return [
        `not ok ${n} - ${desc} # TODO ${directiveText(`expected failure${r.reason === undefined ? '' : `: ${r.reason}`}`)}`,
      ];
    default:
      return [`${isFailing(r.verdict) ? 'not ok' : 'ok'} ${n} - ${desc}`, ...diag];
  }
}

/**
 * The report as TAP version 14. pass and warn are `ok` (warn with a diagnostic); fail,
 * error and xpass are `not ok` with a diagnostic; skip is `ok … # SKIP reason`; xfail is
 * `not ok … # TODO`. Each problem with the run is one more `not ok` point after the cases.
 * Ends with comments: the counts and the verdict line ({@link verdictLine}).
 */
export function renderTap(report: ConformanceReport): string {
  const out: string[] = ['TAP version 14', `1..${report.cases.length + report.problems.length}`];
  report.cases.forEach((r, i) => out.push(...testPoint(r, i + 1)));
  report.problems.forEach((p, i) =>
    out.push(`not ok ${report.cases.length + i + 1} - ${description(`run problem: ${p}`)}`),
  );
  out.push(`# target ${terminalSafe(report.target)}, seed ${report.seed}, spec ${terminalSafe(report.specVersion)}`);
  out.push(`# ${summaryCounts(report.summary, false)}`);
  out.push(`# ${terminalSafe(verdictLine(report))}`);
  return `${out.join('\n')}\n`;
}
