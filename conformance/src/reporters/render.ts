/**
 * One entry point for every report format.
 *
 * @module
 */
import type { ConformanceReport } from '../report.js';
import { renderHtml } from './html.js';
import { renderHuman } from './human.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderTap } from './tap.js';

/** Names of the report formats, as `--format` accepts them. */
export const REPORT_FORMATS = ['human', 'json', 'junit', 'tap', 'html'] as const;

/** A report format. */
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Options of {@link renderReport}. */
export interface RenderOptions {
  /** ANSI colors in the `human` format (default false); the other formats ignore it. */
  readonly color?: boolean;
}

/** True when `name` is one of {@link REPORT_FORMATS}. */
export function isReportFormat(name: string): name is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(name);
}

/**
 * Renders a report in one format: `human` (text for people), `json` (the report, valid
 * against `conformance/report.schema.json`), `junit` (JUnit XML), `tap` (TAP version 14) or
 * `html` (one self-contained page). The text always ends with a newline.
 */
export function renderReport(report: ConformanceReport, format: ReportFormat, options: RenderOptions = {}): string {
  switch (format) {
    case 'human':
      return renderHuman(report, { color: options.color ?? false });
    case 'json':
      return renderJson(report);
    case 'junit':
      return renderJunit(report);
    case 'tap':
      return renderTap(report);
    case 'html':
      return renderHtml(report);
  }
}
