/**
 * The readable text report: one line per case, a block with everything needed to act on
 * each failure and warning (expected vs observed, allowed outcomes, requirement texts, the
 * transcript of both channels with hex, the rerun command), problems, and a summary line.
 * Colors are ANSI escapes, only when asked for.
 *
 * @module
 */
import {
  VERDICTS,
  verdictLine,
  type CaseResult,
  type ConformanceReport,
  type Summary,
  type Verdict,
} from '../report.js';
import {
  caseLabel,
  formatDuration,
  needsDetails,
  requirementPairs,
  terminalSafe,
  transcriptText,
  VERDICT_SYMBOL,
} from './common.js';

/** Options of the human renderer. */
export interface HumanOptions {
  /** Write ANSI colors (see {@link colorEnabled} for the usual decision). */
  readonly color: boolean;
  /** Pad case labels to this width so durations line up (default 0: no padding). */
  readonly labelWidth?: number;
}

/**
 * Whether text written to a stream should be colored: never when `NO_COLOR` is set to
 * anything non-empty (no-color.org) or `TERM=dumb`; always when `FORCE_COLOR` is set and
 * not `0`; otherwise only on a terminal.
 */
export function colorEnabled(isTty: boolean, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return isTty;
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36 } as const;
type Style = keyof typeof ANSI;

/** Wraps `text` in ANSI styles when `on`; the text itself is left as it is. */
export function paint(on: boolean, text: string, ...styles: Style[]): string {
  if (!on || styles.length === 0 || text === '') return text;
  return `\x1b[${styles.map((s) => ANSI[s]).join(';')}m${text}\x1b[0m`;
}

const VERDICT_STYLE: Readonly<Record<Verdict, Style[]>> = {
  pass: ['green'],
  fail: ['red', 'bold'],
  warn: ['yellow'],
  skip: ['cyan'],
  xfail: ['magenta'],
  xpass: ['red', 'bold'],
  error: ['red', 'bold'],
};

/** `✓ pass ` style tag of a verdict, padded so the ids after it line up. */
export function verdictTag(verdict: Verdict, color: boolean): string {
  return paint(color, `${VERDICT_SYMBOL[verdict]} ${verdict.padEnd(5)}`, ...VERDICT_STYLE[verdict]);
}

/**
 * One line for a case, without newline: `✓ pass  handshake.version.overlap [master]  12 ms`,
 * with the reason after a skip or an expected failure.
 */
export function renderCaseLine(result: CaseResult, options: HumanOptions): string {
  const label = terminalSafe(caseLabel(result)).padEnd(options.labelWidth ?? 0);
  let line = `${verdictTag(result.verdict, options.color)} ${label}  ${paint(options.color, formatDuration(result.durationMs), 'dim')}`;
  if ((result.verdict === 'skip' || result.verdict === 'xfail') && result.reason !== undefined) {
    line += `  ${paint(options.color, `(${terminalSafe(result.reason)})`, 'dim')}`;
  }
  return line;
}

/** Indents every line of a possibly multi-line text. */
function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/**
 * The block that explains a failure, an error, an unexpected pass or a warning, ending in a
 * newline: expected vs observed, allowed outcomes, requirement ids and texts, the decoded
 * transcript with abridged hex, and the rerun command. Every peer-controlled text is made
 * terminal-safe.
 */
export function renderCaseDetails(result: CaseResult, options: HumanOptions): string {
  const c = options.color;
  const label = (s: string): string => paint(c, s, 'bold');
  const out: string[] = [];
  out.push(
    `${verdictTag(result.verdict, c)} ${paint(c, terminalSafe(caseLabel(result)), 'bold')} — ${terminalSafe(result.title)} (${result.level}, ${formatDuration(result.durationMs)})`,
  );
  if (result.reason !== undefined) out.push(`  ${label('reason:')}   ${terminalSafe(result.reason)}`);
  if (result.expected !== undefined)
    out.push(`  ${label('expected:')} ${indent(terminalSafe(result.expected, true), '            ').trimStart()}`);
  if (result.observed !== undefined)
    out.push(`  ${label('observed:')} ${indent(terminalSafe(result.observed, true), '            ').trimStart()}`);
  if (result.allowedOutcomes !== undefined && result.allowedOutcomes.length > 0) {
    out.push(`  ${label('allowed outcomes:')}`);
    for (const o of result.allowedOutcomes) out.push(`    - ${terminalSafe(o)}`);
  }
  if (result.violated !== undefined && result.violated.length > 0) {
    out.push(`  ${label('breaks:')}`);
    result.violated.forEach((id, i) => {
      const text = result.violatedTexts?.[i] ?? '';
      out.push(`    ${terminalSafe(id)}${text === '' ? '' : `  ${terminalSafe(text)}`}`);
    });
  }
  if (result.requirements.length > 0) {
    out.push(`  ${label('requirements:')}`);
    for (const { id, text } of requirementPairs(result))
      out.push(`    ${terminalSafe(id)}${text === '' ? '' : `  ${terminalSafe(text)}`}`);
  }
  if (result.transcript !== undefined && result.transcript.length > 0) {
    out.push(`  ${label('transcript:')}`);
    for (const line of transcriptText(result.transcript)) out.push(`    ${line}`);
  }
  out.push(`  ${label('rerun:')}    ${terminalSafe(result.rerun)}`);
  return `${out.join('\n')}\n`;
}

/** `48 cases: 40 pass, 2 fail, …` for a summary. */
export function summaryCounts(summary: Summary, color: boolean): string {
  const total = VERDICTS.reduce((n, v) => n + summary[v], 0);
  const parts = VERDICTS.map((v) => paint(color && summary[v] > 0, `${summary[v]} ${v}`, ...VERDICT_STYLE[v]));
  return `${total} case${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/**
 * The end of a report, ending in a newline: problems with the run (if any), the target
 * line, and the summary line with the counts per verdict and the verdict line
 * ({@link verdictLine}: never a bare CONFORMING when MUST cases did not run).
 */
export function renderSummary(report: ConformanceReport, options: HumanOptions): string {
  const c = options.color;
  const out: string[] = [];
  if (report.problems.length > 0) {
    out.push(paint(c, 'Problems with the run:', 'bold', 'red'));
    for (const p of report.problems) out.push(`  - ${terminalSafe(p)}`);
    out.push('');
  }
  out.push(
    paint(
      c,
      `target ${terminalSafe(report.target)} · seed ${report.seed} · spec ${terminalSafe(report.specVersion)} · kkcm ${terminalSafe(report.version)} · ${formatDuration(report.durationMs)}`,
      'dim',
    ),
  );
  const line = verdictLine(report);
  const verdict = !report.conforming
    ? paint(c, line, 'bold', 'red')
    : report.mustNotRun.length > 0
      ? paint(c, line, 'bold', 'yellow')
      : paint(c, line, 'bold', 'green');
  out.push(`${summaryCounts(report.summary, c)} — ${verdict}`);
  return `${out.join('\n')}\n`;
}

/**
 * Everything after the case lines: the detail blocks of the cases that need them (fail,
 * error, xpass, warn), then {@link renderSummary}. This is what the live view prints when a
 * run ends.
 */
export function renderEnding(report: ConformanceReport, options: HumanOptions): string {
  const detailed = report.cases.filter((r) => needsDetails(r.verdict));
  let out = '';
  if (detailed.length > 0) {
    out += `\n${paint(options.color, 'Failures and warnings:', 'bold')}\n\n`;
    out += detailed.map((r) => renderCaseDetails(r, options)).join('\n');
  }
  return `${out}\n${renderSummary(report, options)}`;
}

/** The whole human-readable report: a line per case, then {@link renderEnding}. */
export function renderHuman(report: ConformanceReport, options: HumanOptions): string {
  const width = Math.min(60, Math.max(0, ...report.cases.map((r) => caseLabel(r).length)));
  const lines = report.cases.map((r) => renderCaseLine(r, { ...options, labelWidth: width }));
  return (lines.length > 0 ? `${lines.join('\n')}\n` : '') + renderEnding(report, options);
}
