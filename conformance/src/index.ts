/**
 * The conformance suite as a library: run it, select cases, render reports, or run it
 * inside your own test runner.
 *
 * @module kkcm/conformance
 */
export { conformanceTests, ConformanceCaseError, type TestFunction } from './adapter.js';
export { BOTH, CHANNELS, defineCase, type CaseNeed, type ConformanceCase } from './cases/case.js';
export { CASES, casesFor, globToRegExp, selectCases, uncoveredMusts, type Selection } from './catalog.js';
export {
  applyBaseline,
  applyExpectations,
  ExpectationsError,
  loadBaseline,
  loadExpectedFailures,
  parseExpectedFailures,
  type ApplyExpectationsOptions,
  type BaselineOutcome,
  type ExpectationOutcome,
  type ExpectedFailure,
  type ExpectedFailures,
  type Improvement,
} from './expectations.js';
export { renderMatrixHtml } from './fleet/matrix-html.js';
export {
  fleetExitCode,
  renderMatrixJson,
  TARGET_VERDICTS,
  targetVerdictOf,
  type FleetTargetResult,
  type MatrixReport,
  type MatrixRow,
  type TargetVerdict,
} from './fleet/matrix-report.js';
export { fleetFiles, renderMatrixHuman, renderMatrixJunit } from './fleet/render-matrix.js';
export { runFleet, startOrder, type FleetOptions, type FleetRun } from './fleet/run-fleet.js';
export {
  loadTargets,
  parseTargets,
  TargetsFileError,
  type FleetTarget,
  type FleetTargetKind,
  type FleetTargetOptions,
} from './fleet/targets-file.js';
export {
  CaseContext,
  CaseFailure,
  CaseSkip,
  type HelloConnection,
  type PeerFacts,
  type SuiteSession,
} from './harness/context.js';
export type { PeerCustomizer, PeerSide, Target } from './harness/target.js';
export { Transcript, Wire, WaitTimeout, type Incoming } from './harness/wire.js';
export { WireOracle, type Violation, type ViolationSink } from './harness/oracle.js';
export {
  LiveView,
  renderReport,
  REPORT_FORMATS,
  type LiveIo,
  type LiveOptions,
  type RenderOptions,
  type ReportFormat,
} from './reporters/index.js';
export {
  emptySummary,
  VERDICTS,
  type CaseResult,
  type ConformanceReport,
  type Level,
  type PeerRole,
  type Summary,
  type TranscriptEntry,
  type Verdict,
  verdictLine,
} from './report.js';
export { runConformance, type ConformanceOptions, type TargetSpec, type TargetTransport } from './runner.js';
