/**
 * Public surface of the reporters: rendering a {@link ConformanceReport} in every format,
 * and the live view of a running suite.
 *
 * @module
 */
export { caseLabel, isFailing, toJsonValue, VERDICT_SYMBOL, worstVerdict } from './common.js';
export { escapeHtml, renderHtml } from './html.js';
export {
  colorEnabled,
  renderCaseDetails,
  renderCaseLine,
  renderEnding,
  renderHuman,
  renderSummary,
  type HumanOptions,
} from './human.js';
export { renderJson } from './json.js';
export { renderJunit, xmlAttr, xmlText } from './junit.js';
export { LiveView, type LiveIo, type LiveOptions } from './live-view.js';
export { isReportFormat, renderReport, REPORT_FORMATS, type RenderOptions, type ReportFormat } from './render.js';
export { renderTap } from './tap.js';
