/**
 * The live view of a run on a terminal: a single progress line redrawn in place, with
 * failures printed above it as they happen; elsewhere (a pipe, a CI log) one plain line per
 * finished case. It only writes when told something happened: no timers.
 *
 * @module
 */
import {
  VERDICTS,
  emptySummary,
  type CaseResult,
  type ConformanceReport,
  type Summary,
  type Verdict,
} from '../report.js';
import { needsDetails, terminalSafe, truncate, VERDICT_SYMBOL } from './common.js';
import { paint, renderCaseLine, renderEnding } from './human.js';

/** Where the live view writes. */
export interface LiveIo {
  /** Writes text as it is (no newline added). */
  out(text: string): void;
  /** True when the output is a terminal: redraw a progress line instead of printing lines. */
  readonly isTty: boolean;
}

/** Options of the {@link LiveView}. */
export interface LiveOptions {
  /** ANSI colors (decide with `colorEnabled`). */
  readonly color: boolean;
  /** How many case runs the run will have (for `[n/total]`). */
  readonly total: number;
  /** Terminal width; the progress line is cut to fit so that redrawing works (default 80). */
  readonly columns?: number;
}

/** Clears the current terminal line and returns the cursor to its start. */
const CLEAR_LINE = '\r\x1b[2K';

const COUNT_STYLE: Readonly<Record<Verdict, 'green' | 'yellow' | 'red' | 'dim'>> = {
  pass: 'green',
  fail: 'red',
  warn: 'yellow',
  skip: 'dim',
  xfail: 'dim',
  xpass: 'red',
  error: 'red',
};

/**
 * Shows the progress of a run. On a TTY: one line `[12/48] handshake.version.overlap …
 * ✓11 ✗1` redrawn in place (`\r\x1b[2K`), fail, error, xpass and warn lines printed above it
 * as they come. Otherwise: one line per finished case. {@link LiveView.finish} prints the
 * detail blocks of failures and warnings, problems and the summary line.
 */
export class LiveView {
  readonly #io: LiveIo;
  readonly #options: LiveOptions;
  readonly #counts: Summary = emptySummary();
  #finished = 0;
  #current: string | undefined;
  #progressShown = false;

  constructor(io: LiveIo, options: LiveOptions) {
    this.#io = io;
    this.#options = options;
  }

  /** A case began: on a TTY, the progress line now names it. */
  caseStarted(id: string): void {
    this.#current = id;
    if (this.#io.isTty) this.#drawProgress();
  }

  /** A case ended: counts it, prints its line (TTY: only when it needs attention), redraws. */
  caseFinished(result: CaseResult): void {
    this.#finished += 1;
    this.#counts[result.verdict] += 1;
    this.#current = undefined;
    const line = `${renderCaseLine(result, { color: this.#options.color })}\n`;
    if (!this.#io.isTty) {
      this.#io.out(line);
      return;
    }
    this.#io.out(CLEAR_LINE + (needsDetails(result.verdict) ? line : ''));
    this.#progressShown = false;
    this.#drawProgress();
  }

  /** A line that is not a case (a heartbeat while waiting for the peer): on a TTY above the progress line, which is redrawn. */
  note(text: string): void {
    if (!this.#io.isTty) {
      this.#io.out(`${text}\n`);
      return;
    }
    this.#io.out(`${CLEAR_LINE}${text}\n`);
    if (this.#progressShown) this.#drawProgress();
  }

  /** The run ended: removes the progress line, prints details of failures and warnings, problems, and the summary. */
  finish(report: ConformanceReport): void {
    if (this.#progressShown) this.#io.out(CLEAR_LINE);
    this.#progressShown = false;
    this.#io.out(renderEnding(report, { color: this.#options.color }));
  }

  #drawProgress(): void {
    const { total, color } = this.#options;
    const columns = Math.max(20, this.#options.columns ?? 80);
    const n = this.#current === undefined ? this.#finished : this.#finished + 1;
    const head = `[${n}/${total}]${this.#current === undefined ? '' : ` ${terminalSafe(this.#current)} …`}`;
    const counts = VERDICTS.filter((v) => this.#counts[v] > 0).map((v) => ({
      v,
      text: `${VERDICT_SYMBOL[v]}${this.#counts[v]}`,
    }));
    const countsWidth = counts.reduce((w, c) => w + c.text.length + 1, counts.length > 0 ? 1 : 0);
    // One column stays free: writing the last column makes some terminals wrap, and a
    // wrapped line can no longer be redrawn with \r.
    const text = truncate(head, Math.max(10, columns - 1 - countsWidth));
    const painted = counts.map(({ v, text: t }) => paint(color, t, COUNT_STYLE[v])).join(' ');
    this.#io.out(`${CLEAR_LINE}${text}${painted === '' ? '' : `  ${painted}`}`);
    this.#progressShown = true;
  }
}
