/**
 * Expected failures and baselines: the two ways to run the suite against a peer that is
 * known not to conform yet, and still fail on anything new.
 *
 * An expected-failures file lists the cases a peer is known to fail, one per line:
 *
 * ```text
 * # kkcm expected failures for my-peer
 * handshake.version.overlap            # we only speak version 1 (issue #12)
 * framing.split.*@backup               # backup role reassembles only whole frames
 * ```
 *
 * Each line holds one case id, or a glob over ids (`*` any run of characters, `?` one
 * character), optionally followed by `@master` or `@backup` to match one role only; `#`
 * starts a comment, which on an entry's line is its reason. A listed case that fails or
 * errors becomes `xfail`; one that passes becomes `xpass`, which makes the run
 * non-conforming; an entry that matches no case is stale, a problem that fails the run.
 *
 * A baseline is an earlier JSON report: with it, only regressions fail.
 *
 * The functions here are pure: they return new results and never change their input.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { packageRoot } from '../../spec/src/paths.js';
import {
  emptySummary,
  type CaseResult,
  type ConformanceReport,
  type PeerRole,
  type Summary,
  type Verdict,
} from './report.js';

/**
 * An expected-failures file or a baseline that cannot be used: unreadable, malformed, or
 * not a conformance report. The message names the file (and line, for an
 * expected-failures file). `kkcm conformance` reports it as a usage error (exit code 2).
 */
export class ExpectationsError extends Error {
  /** Always `ERR_BAD_EXPECTATIONS`. */
  readonly code = 'ERR_BAD_EXPECTATIONS';
  /** @param message - what is wrong, starting with the file (and line) it is in. */
  constructor(message: string) {
    super(message);
    this.name = 'ExpectationsError';
  }
}

/** One line of an expected-failures file. */
export interface ExpectedFailure {
  /** Case id, or a glob over ids (`*`: any run of characters, `?`: one character). */
  readonly pattern: string;
  /** Only this role, or both when absent. */
  readonly role?: PeerRole;
  /** The comment on the line (empty when there is none). */
  readonly reason: string;
  /** `file:line` of the entry, for messages. */
  readonly where: string;
}

/** A parsed expected-failures file. */
export interface ExpectedFailures {
  /** Name of the file (or `<text>`), for messages. */
  readonly source: string;
  /** The entries, in file order. */
  readonly entries: readonly ExpectedFailure[];
}

/** Results after expected failures or a baseline were applied. */
export interface ExpectationOutcome {
  /** The case results, in the same order, some with a new verdict. */
  readonly cases: readonly CaseResult[];
  /** Problems with the run to add to the report's `problems` (each one fails the run). */
  readonly problems: readonly string[];
}

/** A case that failed in the baseline and passes now. */
export interface Improvement {
  /** Case id. */
  readonly id: string;
  /** Role the peer played. */
  readonly role: PeerRole;
  /** Verdict in the baseline (fail, error or xfail). */
  readonly was: Verdict;
  /** Verdict now (pass or warn). */
  readonly now: Verdict;
}

/** Results after a baseline was applied, with the improvements found. */
export interface BaselineOutcome extends ExpectationOutcome {
  /** Cases that failed in the baseline and pass now (reported, never failing the run). */
  readonly improvements: readonly Improvement[];
}

/** Options of {@link applyExpectations}. */
export interface ApplyExpectationsOptions {
  /**
   * Ids of every case in the catalogue. When given, an entry that matched no case of this
   * run is stale only if it matches no catalogue id either, so a run of a selection of cases
   * does not call the entries for unselected cases stale.
   */
  readonly knownIds?: readonly string[];
}

const ROLES: readonly PeerRole[] = ['master', 'backup'];

/** Characters of a case id or glob; `@` and `#` are the file's own syntax. */
const PATTERN = /^[A-Za-z0-9._:/*?-]+$/;

/** A glob over case ids as an anchored regular expression. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * Parses the text of an expected-failures file (format in the module comment).
 *
 * @param text - the file's content.
 * @param source - its name, used in `where` and in errors (default `<text>`).
 * @throws {@link ExpectationsError} (`ERR_BAD_EXPECTATIONS`) naming `source:line` for a line with
 *   more than one id, a bad character in an id, an unknown role, or a duplicate entry.
 */
export function parseExpectedFailures(text: string, source = '<text>'): ExpectedFailures {
  const entries: ExpectedFailure[] = [];
  const firstSeen = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const where = `${source}:${i + 1}`;
    // A comment starts at a `#` at the start of the line or after whitespace.
    const hash = /(^|\s)#/.exec(raw);
    const content = (hash === null ? raw : raw.slice(0, hash.index)).trim();
    const reason = hash === null ? '' : raw.slice(hash.index + hash[0].length).trim();
    if (content === '') return;
    const words = content.split(/\s+/);
    if (words.length > 1)
      throw new ExpectationsError(
        `${where}: one case id per line, got ${JSON.stringify(content)} (start comments with " #")`,
      );
    const [pattern = '', role, ...extra] = content.split('@');
    if (extra.length > 0 || pattern === '')
      throw new ExpectationsError(`${where}: expected CASE-ID[@ROLE], got ${JSON.stringify(content)}`);
    if (!PATTERN.test(pattern))
      throw new ExpectationsError(
        `${where}: ${JSON.stringify(pattern)} is not a case id or glob (letters, digits, . _ : / - * ?)`,
      );
    if (role !== undefined && !(ROLES as readonly string[]).includes(role)) {
      throw new ExpectationsError(`${where}: unknown role ${JSON.stringify(role)} (expected master or backup)`);
    }
    const key = `${pattern}@${role ?? '*'}`;
    const first = firstSeen.get(key);
    if (first !== undefined)
      throw new ExpectationsError(`${where}: duplicate entry ${JSON.stringify(content)} (first at ${first})`);
    firstSeen.set(key, where);
    entries.push(role === undefined ? { pattern, reason, where } : { pattern, role: role as PeerRole, reason, where });
  });
  return { source, entries };
}

/**
 * Reads and parses an expected-failures file.
 *
 * @throws {@link ExpectationsError} when the file cannot be read or a line is malformed (see
 *   {@link parseExpectedFailures}).
 */
export function loadExpectedFailures(path: string): ExpectedFailures {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ExpectationsError(
      `cannot read expected failures ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseExpectedFailures(text, path);
}

function entryLabel(entry: ExpectedFailure): string {
  return entry.role === undefined ? entry.pattern : `${entry.pattern}@${entry.role}`;
}

/**
 * Applies an expected-failures list to a run's results. For the first entry matching a case
 * (id by glob, and role when the entry names one; entries are tried in file order): fail or error → `xfail` (reason: the
 * entry's reason and `file:line`, then an error's own reason), pass → `xpass`; warn, skip,
 * xfail and xpass stay. An entry that matched no case at all is stale: one problem each
 * (an entry shadowed by an earlier one still matched, so it is not stale).
 */
export function applyExpectations(
  results: readonly CaseResult[],
  expected: ExpectedFailures,
  options: ApplyExpectationsOptions = {},
): ExpectationOutcome {
  const matchers = expected.entries.map((entry) => ({ entry, re: globToRegExp(entry.pattern), used: false }));
  const cases = results.map((r) => {
    const matching = matchers.filter((x) => x.re.test(r.id) && (x.entry.role === undefined || x.entry.role === r.role));
    for (const x of matching) x.used = true;
    const m = matching[0];
    if (m === undefined) return r;
    const why = `${m.entry.reason === '' ? 'listed as an expected failure' : m.entry.reason} (${m.entry.where})`;
    if (r.verdict === 'fail' || r.verdict === 'error') {
      const own = r.verdict === 'error' && r.reason !== undefined ? `; error: ${r.reason}` : '';
      return { ...r, verdict: 'xfail' as const, reason: `${why}${own}` };
    }
    if (r.verdict === 'pass')
      return { ...r, verdict: 'xpass' as const, reason: `passed, but expected to fail: ${why}` };
    return r;
  });
  const problems = matchers
    .filter((m) => !m.used && !(options.knownIds ?? []).some((id) => m.re.test(id)))
    .map((m) => `stale expected failure ${entryLabel(m.entry)} (${m.entry.where}) matches no case: remove it`);
  return { cases, problems };
}

/** Verdicts that mean a case did not pass. */
function failed(verdict: Verdict): boolean {
  return verdict === 'fail' || verdict === 'error' || verdict === 'xfail';
}

/** Verdicts that mean a case passed (a warning is a pass of the MUSTs). */
function passed(verdict: Verdict): boolean {
  return verdict === 'pass' || verdict === 'warn' || verdict === 'xpass';
}

/**
 * Applies a baseline report, so that only regressions fail. A case (same id and role) that
 * failed, errored or was an expected failure in the baseline and fails or errors again
 * becomes `xfail` with reason `known in baseline` (followed by an error's own reason). One
 * that passed in the baseline and fails now stays as it is and adds a `regression` problem.
 * Cases absent from the baseline, or skipped there, are judged as they are. A case that
 * failed in the baseline and passes (or warns) now is an improvement.
 */
export function applyBaseline(
  results: readonly CaseResult[],
  baseline: Pick<ConformanceReport, 'cases'>,
): BaselineOutcome {
  const before = new Map<string, Verdict>();
  for (const b of baseline.cases) before.set(`${b.id}@${b.role}`, b.verdict);
  const problems: string[] = [];
  const improvements: Improvement[] = [];
  const cases = results.map((r) => {
    const was = before.get(`${r.id}@${r.role}`);
    if (was === undefined) return r;
    const failsNow = r.verdict === 'fail' || r.verdict === 'error';
    if (failsNow && failed(was)) {
      return {
        ...r,
        verdict: 'xfail' as const,
        reason:
          r.verdict === 'error' && r.reason !== undefined
            ? `known in baseline; error: ${r.reason}`
            : 'known in baseline',
      };
    }
    if (failsNow && passed(was))
      problems.push(`regression: ${r.id} [${r.role}] was ${was} in the baseline, is ${r.verdict} now`);
    if ((r.verdict === 'pass' || r.verdict === 'warn') && failed(was))
      improvements.push({ id: r.id, role: r.role, was, now: r.verdict });
    return r;
  });
  return { cases, problems, improvements };
}

/** Counts the verdicts of some case results. */
export function summarize(results: readonly CaseResult[]): Summary {
  const summary = emptySummary();
  for (const r of results) summary[r.verdict] += 1;
  return summary;
}

/** Path of the published JSON Schema of reports, `conformance/report.schema.json`. */
export function reportSchemaPath(): string {
  return join(packageRoot(), 'conformance', 'report.schema.json');
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
let reportValidator: Validator | undefined;

/**
 * Checks a value against the report schema.
 *
 * @returns the violations, as `path: message` lines; empty when the value is a valid report.
 */
export function reportViolations(data: unknown): string[] {
  if (reportValidator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strictTypes: false });
    reportValidator = ajv.compile(JSON.parse(readFileSync(reportSchemaPath(), 'utf8')) as object);
  }
  if (reportValidator(data)) return [];
  return (reportValidator.errors ?? []).map(
    (e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message ?? e.keyword}`,
  );
}

/**
 * Reads a baseline: a JSON report written by an earlier run (`--format json`).
 *
 * @throws {@link ExpectationsError} when the file cannot be read, is not JSON, or is not a valid
 *   report (the first violations are named).
 */
export function loadBaseline(path: string): ConformanceReport {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ExpectationsError(`cannot read baseline ${path}: ${code ?? (err as Error).message}`);
  }
  const violations = reportViolations(data);
  if (violations.length > 0)
    throw new ExpectationsError(
      `baseline ${path} is not a kkcm conformance report: ${violations.slice(0, 5).join('; ')}`,
    );
  return data as ConformanceReport;
}
