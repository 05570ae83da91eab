/**
 * Runs the suite inside a third party's own test runner: one subtest per case and role,
 * for tap or `node:test` (both accept `test(name, options, fn)`).
 *
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import { conformanceTests } from 'kkcm/conformance';
 * await conformanceTests(test, { target: { kind: 'connect', host: '127.0.0.1', port: 7000 } });
 * ```
 *
 * @module
 */
import type { CaseResult, ConformanceReport } from './report.js';
import { runConformance, type ConformanceOptions } from './runner.js';

/** The shape shared by `node:test`'s `test` and tap's `t.test`. */
export type TestFunction = (
  name: string,
  options: {
    /** Skip the test, with this reason. */
    skip?: string;
    /** Mark the test as a todo, with this reason. */
    todo?: string;
  },
  fn: () => void | Promise<void>,
) => unknown;

/** A case that did not conform, as a test failure. */
export class ConformanceCaseError extends Error {
  /** Always `ERR_NOT_CONFORMING`. */
  readonly code = 'ERR_NOT_CONFORMING';
  /** @param result - the case's result: verdict, expected, observed, rerun command. */
  constructor(readonly result: CaseResult) {
    const detail =
      result.expected !== undefined
        ? `expected ${result.expected}; observed ${result.observed ?? '?'}`
        : (result.reason ?? result.verdict);
    super(`${result.id} [${result.role}] ${result.verdict}: ${detail} (rerun: ${result.rerun})`);
    this.name = 'ConformanceCaseError';
  }
}

/**
 * Runs the suite, then registers one subtest per case and role: pass and warn pass (a warn
 * names the SHOULD in its message), skip is skipped with its reason, xfail is a todo, and
 * fail, error and xpass fail with expected, observed and the rerun command.
 *
 * @returns the report, for further checks or for writing it out.
 */
export async function conformanceTests(
  test: TestFunction,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const report = await runConformance(options);
  for (const r of report.cases) {
    const name = `${r.id} [${r.role}]`;
    switch (r.verdict) {
      case 'skip':
        test(name, { skip: r.reason ?? 'skipped' }, () => undefined);
        break;
      case 'xfail':
        test(name, { todo: `expected failure${r.reason !== undefined ? `: ${r.reason}` : ''}` }, () => undefined);
        break;
      case 'pass':
      case 'warn':
        test(name, {}, () => undefined);
        break;
      default:
        test(name, {}, () => {
          throw new ConformanceCaseError(r);
        });
    }
  }
  for (const problem of report.problems) {
    test(`run: ${problem}`, {}, () => {
      throw new Error(problem);
    });
  }
  return report;
}
