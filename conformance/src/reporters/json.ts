/**
 * The JSON report: the {@link ConformanceReport} itself, pretty-printed, valid against
 * `conformance/report.schema.json`.
 *
 * @module
 */
import type { ConformanceReport } from '../report.js';
import { toJsonValue } from './common.js';

/**
 * The report as indented JSON with a final newline. Values inside decoded transcripts that
 * JSON cannot hold are converted: bigints to decimal strings, bytes to hex.
 */
export function renderJson(report: ConformanceReport): string {
  return `${JSON.stringify(toJsonValue(report), null, 2)}\n`;
}
