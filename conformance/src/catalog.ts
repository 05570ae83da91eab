/**
 * The case catalogue: every case, selection by id, glob, tag and level, and the
 * requirement coverage check.
 *
 * @module
 */
import { loadSpec } from '../../spec/src/index.js';
import type { ConformanceCase } from './cases/case.js';
import { framingCases } from './cases/framing.js';
import { handshakeCases } from './cases/handshake.js';
import { sessionCases } from './cases/session.js';
import type { Level, PeerRole } from './report.js';

/** Every case, in catalogue order. */
export const CASES: readonly ConformanceCase[] = [...handshakeCases, ...framingCases, ...sessionCases];

/** What to run. */
export interface Selection {
  /** Case ids or globs (`framing.*`); when given, exactly these cases run. */
  readonly cases?: readonly string[];
  /** Only cases with one of these tags. */
  readonly tags?: readonly string[];
  /** Only cases of these levels. */
  readonly levels?: readonly Level[];
  /** Ids or globs to leave out. */
  readonly exclude?: readonly string[];
  /** Only cases the peer can play in one of these roles. */
  readonly roles?: readonly PeerRole[];
}

/** A glob over case ids: `*` matches any run of characters (dots included), `?` one. */
export function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*+/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

const matchesAny = (id: string, patterns: readonly string[]): boolean =>
  patterns.some((p) => (p.includes('*') || p.includes('?') ? globToRegExp(p).test(id) : p === id));

/** Cases chosen by a selection, in catalogue order. Unknown exact ids are returned as `unknown`. */
export function selectCases(
  selection: Selection,
  catalogue: readonly ConformanceCase[] = CASES,
): {
  /** The selected cases, in catalogue order. */
  cases: ConformanceCase[];
  /** Exact ids of the selection that name no case. */
  unknown: string[];
} {
  const unknown = (selection.cases ?? []).filter(
    (p) => !p.includes('*') && !p.includes('?') && !catalogue.some((c) => c.id === p),
  );
  const cases = catalogue.filter(
    (c) =>
      (selection.cases === undefined || selection.cases.length === 0 || matchesAny(c.id, selection.cases)) &&
      (selection.tags === undefined ||
        selection.tags.length === 0 ||
        c.tags.some((t) => selection.tags!.includes(t))) &&
      (selection.levels === undefined || selection.levels.length === 0 || selection.levels.includes(c.level)) &&
      (selection.exclude === undefined || !matchesAny(c.id, selection.exclude)) &&
      (selection.roles === undefined || c.roles.some((r) => selection.roles!.includes(r))),
  );
  return { cases, unknown };
}

/** Requirement ids of level MUST that no case checks. */
export function uncoveredMusts(catalogue: readonly ConformanceCase[] = CASES): string[] {
  const covered = new Set(catalogue.flatMap((c) => c.requirements));
  return loadSpec()
    .requirements.filter((r) => r.level === 'MUST' && !covered.has(r.id))
    .map((r) => r.id);
}

/** Case ids that check a requirement. */
export function casesFor(requirement: string, catalogue: readonly ConformanceCase[] = CASES): string[] {
  return catalogue.filter((c) => c.requirements.includes(requirement)).map((c) => c.id);
}

/**
 * Wire error codes and HELLO-REJECT reasons that no case can provoke over the wire, with
 * the reason. The coverage test keeps this list exact: a code that a case starts to
 * provoke must leave it.
 */
export const UNPROVOKED: Readonly<Record<string, string>> = {
  ERR_BAD_COUNT:
    'only client bodies (PSRM STATE-BATCH) have count fields, and client bodies are opaque to KKCM (KKCM-DISP-3): a conforming peer accepts a wrong count and hands it to its client; the codec raises it when a tool decodes the illustrative layout',
  notAllowed:
    "the allow-list is the peer's local configuration: a peer that lets the suite in at all has the suite's address on it, and the suite has no second source address to be refused from (reference-impl/test/peer-protocol.test.ts covers it)",
  nsrNotConfigured:
    'no message asks a peer to deconfigure NSR, and the reference peer never sends this reason (it does not listen while NSR is not configured)',
};

/** Every wire error code and HELLO-REJECT reason of the spec, with the cases that provoke it. */
export function provokedBy(catalogue: readonly ConformanceCase[] = CASES): Map<string, string[]> {
  const spec = loadSpec();
  const keys = [
    ...spec.errors.filter((e) => e.wire).map((e) => e.code),
    ...(spec.enums.rejectReason?.values ?? []).map((v) => v.name),
  ];
  return new Map(keys.map((k) => [k, catalogue.filter((c) => c.provokes?.includes(k) === true).map((c) => c.id)]));
}
