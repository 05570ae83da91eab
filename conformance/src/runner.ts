/**
 * Runs the conformance suite against a target, in one or both roles: fresh connections
 * per case, a health probe between cases, timeouts per expectation, per case and per run,
 * verdicts, and the report.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec, packageRoot } from '../../spec/src/index.js';
import { SPEC_VERSION, Timers } from '../../codec/src/index.js';
import type { Transport } from '../../reference-impl/src/transport.js';
import { BOTH_SIDES, type ConformanceCase } from './cases/case.js';
import { CASES, selectCases, type Selection } from './catalog.js';
import { CaseContext, CaseFailure, CaseSkip, type PeerFacts } from './harness/context.js';
import {
  ConnectTarget,
  EMBEDDED_TIMERS,
  EmbeddedTarget,
  ExecTarget,
  ListenTarget,
  type PeerCustomizer,
  type PeerSide,
  type Target,
} from './harness/target.js';
import type { Topology } from '../../reference-impl/src/peer-options.js';
import type { Violation } from './harness/oracle.js';
import { Transcript, WaitTimeout } from './harness/wire.js';
import { applyBaseline, applyExpectations, summarize, type ExpectedFailures } from './expectations.js';
import { mustCasesNotRun, type CaseResult, type ConformanceReport, type PeerRole, type Verdict } from './report.js';

/** Where the peer under test is. */
export type TargetSpec =
  | {
      /** The reference peer, run in this process. */
      readonly kind: 'embedded';
      /** Changes the peer before each case (mutant peers, faults). */
      readonly customize?: PeerCustomizer;
      /** Roles to judge it in (default both). */
      readonly roles?: readonly PeerRole[];
      /**
       * The side the peer takes in every role (default: the master listens, the backup
       * connects, in cluster topology); on the other side it runs in dual-re (RE0 listens).
       */
      readonly side?: PeerSide;
      /** Forces the embedded peer's topology (default: see `side`). */
      readonly topology?: Topology;
    }
  | ({
      /** A peer that listens: the suite connects. */
      readonly kind: 'connect';
      /** The peer's host. */
      readonly host: string;
      /** The peer's port. */
      readonly port: number;
      /** The peer's protocol role (default master). */
      readonly role?: PeerRole;
    } & TargetTransport)
  | ({
      /** A peer that connects: the suite listens. */
      readonly kind: 'listen';
      /** Address the suite listens on. */
      readonly host: string;
      /** Port the suite listens on. */
      readonly port: number;
      /** The peer's protocol role (default backup). */
      readonly role?: PeerRole;
    } & TargetTransport)
  | ({
      /** A peer the suite launches itself, and restarts after a case that killed it. */
      readonly kind: 'exec';
      /** Shell command; `{port}` is replaced by the port to listen on or connect to. */
      readonly command: string;
      /** The role the launched peer plays. */
      readonly role: PeerRole;
      /** Whether it listens or connects (default: the master listens, the backup connects). */
      readonly side?: PeerSide;
    } & TargetTransport);

/** How the suite reaches a peer that is not embedded. */
export interface TargetTransport {
  /**
   * The peer's topology, when known: the cases that check its HELLO rules in dual-re
   * (slotConflict) run only when it is `dual-re` (`kkcm conformance --topology`).
   */
  readonly topology?: Topology;
  /** Default TCP; a `TlsTransport` for a peer that requires TLS (`kkcm conformance --tls-*`). */
  readonly transport?: Transport;
  /** Options that make the same transport on a rerun command line (` --tls-cert … --tls-ca …`). */
  readonly transportFlags?: string;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Default: the embedded reference peer, both roles. */
  readonly target?: TargetSpec;
  /** Which cases to run (default all). */
  readonly selection?: Selection;
  /** Cases to choose from (default: the whole catalogue); for extensions and self-tests. */
  readonly catalogue?: readonly ConformanceCase[];
  /** Shuffle the case order with this seed (0 or absent: catalogue order). */
  readonly seed?: number;
  /** Run each selected case this many times. */
  readonly repeat?: number;
  /** Multiplies every timeout (slow machines, slow peers). Default 1. */
  readonly timeoutScale?: number;
  /** Budget of one case, ms before scaling (default 30000). */
  readonly caseTimeoutMs?: number;
  /** Budget of the whole run, ms before scaling (default none). */
  readonly runTimeoutMs?: number;
  /** The peer's handshake timeout, ms (default the spec's; the embedded peer's is shorter). */
  readonly handshakeTimeoutMs?: number;
  /** Prefix of the rerun command printed for each case. */
  readonly rerunPrefix?: string;
  /** Expected failures: a failing listed case is xfail, a passing one xpass; stale entries fail the run. */
  readonly expectedFailures?: ExpectedFailures;
  /** A previous report: fail only on regressions against it. */
  readonly baseline?: Pick<ConformanceReport, 'cases'>;
  /** Called when a case starts and ends (live view). */
  readonly onCaseStart?: (id: string, role: PeerRole) => void;
  /**
   * Called with each result as soon as its case is judged, expected failures and baseline
   * applied (the verdict the report will carry). Throwing from it ends the run: what the
   * target started is stopped and the error propagates.
   */
  readonly onCaseEnd?: (result: CaseResult) => void;
  /** Called once a role's target has started (a listening target knows its real port). */
  readonly onTargetStarted?: (target: Target) => void;
}

/** A result as the report will carry it: expected failures and baseline applied (both map one result at a time). */
function finalVerdict(r: CaseResult, options: ConformanceOptions): CaseResult {
  let judged = r;
  if (options.expectedFailures !== undefined) judged = applyExpectations([judged], options.expectedFailures).cases[0]!;
  if (options.baseline !== undefined) judged = applyBaseline([judged], options.baseline).cases[0]!;
  return judged;
}

/** Deterministic PRNG (mulberry32) for the case order. */
function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* c8 ignore next */
    return '0.0.0';
  }
}

function targetsFor(spec: TargetSpec): Target[] {
  switch (spec.kind) {
    case 'embedded':
      return (spec.roles ?? ['master', 'backup']).map(
        (role) => new EmbeddedTarget(role, spec.customize, spec.side, spec.topology),
      );
    case 'connect':
      return [new ConnectTarget(spec.host, spec.port, spec.transport, spec.role, spec.topology)];
    case 'listen':
      return [new ListenTarget(spec.host, spec.port, spec.transport, spec.role, spec.topology)];
    case 'exec':
      return [new ExecTarget(spec.command, spec.role, 30000, spec.transport, spec.side, spec.topology)];
  }
}

function describeTarget(spec: TargetSpec, targets: readonly Target[]): string {
  switch (spec.kind) {
    case 'embedded':
      // Each role's side and topology, when the run chose the side.
      return spec.side === undefined && spec.topology === undefined
        ? 'embedded reference peer'
        : `embedded reference peer (${targets.map((t) => t.description.replace(/^embedded reference peer \((.*)\)$/, '$1')).join('; ')})`;
    case 'connect':
      return `connect ${spec.host}:${spec.port}${spec.role === undefined || spec.role === 'master' ? '' : ` (${spec.role})`}`;
    case 'listen':
      return `listen ${spec.host}:${spec.port}${spec.role === undefined || spec.role === 'backup' ? '' : ` (${spec.role})`}`;
    case 'exec':
      return `exec ${spec.command} (${spec.role}${spec.side === undefined ? '' : `, ${spec.side === 'listen' ? 'listening' : 'connecting'}`})`;
  }
}

/** ` --topology T` when the run was told the peer's topology. */
function topologyFlag(spec: TargetSpec): string {
  return spec.kind !== 'embedded' && spec.topology !== undefined ? ` --topology ${spec.topology}` : '';
}

function rerunFlags(spec: TargetSpec): string {
  switch (spec.kind) {
    case 'embedded':
      return spec.side === undefined ? '' : ` --side ${spec.side}`;
    case 'connect':
      return ` --connect ${spec.host}:${spec.port}${spec.role === undefined ? '' : ` --role ${spec.role}`}${topologyFlag(spec)}${spec.transportFlags ?? ''}`;
    case 'listen':
      return ` --listen ${spec.host}:${spec.port}${spec.role === undefined ? '' : ` --role ${spec.role}`}${topologyFlag(spec)}${spec.transportFlags ?? ''}`;
    case 'exec':
      return ` --exec ${JSON.stringify(spec.command)} --role ${spec.role}${spec.side === undefined ? '' : ` --side ${spec.side}`}${topologyFlag(spec)}${spec.transportFlags ?? ''}`;
  }
}

/** True when the case can judge the target's peer: its protocol role, its side and, for topology rules, its topology. */
function playsIn(c: ConformanceCase, target: Target): boolean {
  return (
    c.roles.includes(target.role) &&
    (c.sides ?? BOTH_SIDES).includes(target.side) &&
    (c.topologies === undefined || (target.topology !== undefined && c.topologies.includes(target.topology)))
  );
}

/** A result without the heavy fields for passing cases. */
function result(
  c: ConformanceCase,
  role: PeerRole,
  verdict: Verdict,
  durationMs: number,
  rerun: string,
  extra: Partial<CaseResult> = {},
): CaseResult {
  return {
    id: c.id,
    title: c.title,
    requirements: c.requirements,
    level: c.level,
    role,
    channels: c.channels,
    tags: c.tags,
    verdict,
    durationMs: Math.round(durationMs),
    rerun,
    ...(c.allowedOutcomes !== undefined ? { allowedOutcomes: c.allowedOutcomes } : {}),
    ...extra,
  };
}

/**
 * Runs one case with its budget. Converts what the case threw into a verdict.
 */
async function runCase(
  c: ConformanceCase,
  role: PeerRole,
  target: Target,
  scale: number,
  facts: PeerFacts,
  budgetMs: number,
  rerun: string,
): Promise<CaseResult> {
  if (c.needs?.includes('deliberateStop') === true && target.stopPeer === undefined)
    return result(c, role, 'skip', 0, rerun, {
      reason: 'the suite cannot ask the peer to stop (it can with the embedded target, or --exec: it sends SIGTERM)',
    });
  const transcript = new Transcript();
  const ctx = new CaseContext(role, target, transcript, scale, facts, c.needs ?? []);
  const started = performance.now();
  // Aligned with c.requirements, index by index (reporters zip the two).
  const specReqs = loadSpec().requirements;
  const texts = c.requirements.map((id) => {
    const r = specReqs.find((x) => x.id === id);
    return r === undefined ? '' : `${r.level}: ${r.text}`;
  });
  let budget: ReturnType<typeof setTimeout> | undefined;
  let outcome: CaseResult;
  try {
    await Promise.race([
      c.run(ctx),
      new Promise<never>((_, reject) => {
        budget = setTimeout(() => reject(new WaitTimeout(`the whole case (${c.id})`, budgetMs)), budgetMs);
      }),
    ]);
    outcome = result(c, role, 'pass', performance.now() - started, rerun);
  } catch (err) {
    const elapsed = performance.now() - started;
    const soft = c.level !== 'MUST';
    if (err instanceof CaseSkip) outcome = result(c, role, 'skip', elapsed, rerun, { reason: err.reason });
    else if (err instanceof CaseFailure || err instanceof WaitTimeout) {
      const expected = err instanceof CaseFailure ? err.expected : 'a reaction from the peer';
      const observed = err instanceof CaseFailure ? err.observed : err.message;
      const broken = err instanceof CaseFailure ? err.requirement : undefined;
      outcome = result(c, role, soft && broken === undefined ? 'warn' : 'fail', elapsed, rerun, {
        expected,
        observed,
        ...(broken !== undefined ? { violated: [broken] } : {}),
        requirementTexts: texts,
        transcript: transcript.entries,
      });
    } else {
      const reason = target.alive()
        ? `harness error: ${(err as Error).message}`
        : 'the peer is gone (its process exited)';
      outcome = result(c, role, 'error', elapsed, rerun, {
        reason,
        requirementTexts: texts,
        transcript: transcript.entries,
      });
    }
  } finally {
    clearTimeout(budget);
    ctx.dispose();
  }
  return judgeViolations(outcome, ctx.violations, transcript);
}

/**
 * What the wire oracle saw overrides the case's own verdict: a violation is a fail of the
 * requirement it breaks (every oracle rule is a MUST), whatever the case was checking and
 * whether it passed, skipped, failed or could not judge (a defect often makes a case stall).
 */
function judgeViolations(r: CaseResult, violations: readonly Violation[], transcript: Transcript): CaseResult {
  if (violations.length === 0) return r;
  const first = violations[0]!;
  const broken = [...new Set([...violations.map((v) => v.requirement), ...(r.violated ?? [])])];
  const specReqs = loadSpec().requirements;
  const caseSaid =
    r.verdict === 'fail' || r.verdict === 'warn'
      ? `; the case itself expected ${r.expected ?? '?'} and observed ${r.observed ?? '?'}`
      : r.verdict === 'error' || r.verdict === 'skip'
        ? `; the case itself: ${r.reason ?? r.verdict}`
        : '';
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more violation(s), see the transcript)` : '';
  const { reason: _reason, ...rest } = r;
  return {
    ...rest,
    verdict: 'fail',
    violated: broken,
    expected: `${first.requirement}: ${first.expected}`,
    observed: `${first.observed}${more}${caseSaid}`,
    requirementTexts: r.requirements.map((id) => {
      const x = specReqs.find((q) => q.id === id);
      return x === undefined ? '' : `${x.level}: ${x.text}`;
    }),
    violatedTexts: broken.map((id) => {
      const x = specReqs.find((q) => q.id === id);
      return x === undefined ? '' : `${x.level}: ${x.text}`;
    }),
    transcript: transcript.entries,
  };
}

/**
 * The health probe between cases, judged as a case: a session on both channels answers
 * ECHO, then ends with SHUTDOWN. Its requirements are those the probe exercises; when the
 * peer breaks one of them (or the oracle sees any other rule broken) the run records a fail
 * of that requirement under this id, not a harness error naming none.
 */
export const HEALTH_PROBE: ConformanceCase = {
  id: 'harness.health-probe',
  title: 'Between cases, a new session on both channels answers ECHO and ends with SHUTDOWN',
  requirements: ['KKCM-SESS-2', 'KKCM-SESS-4', 'KKCM-SESS-5', 'KKCM-CTL-1'],
  level: 'MUST',
  roles: ['master', 'backup'],
  channels: ['send', 'receive'],
  tags: ['harness'],
  async run(ctx) {
    const s = await ctx.session();
    await ctx.barrier(s.send);
    await ctx.barrier(s.receive);
    ctx.endSession(s);
    await ctx.sessionOver(s);
  },
};

/** Runs the health probe: its result, with `after` (the case it followed) in the rerun hint. */
async function healthy(
  role: PeerRole,
  target: Target,
  scale: number,
  facts: PeerFacts,
  after: string,
): Promise<CaseResult> {
  return runCase(HEALTH_PROBE, role, target, scale, facts, 30000 * scale, `(health probe after ${after})`);
}

/** A selection that matches no case: nothing would run, and the run would prove nothing. */
export class EmptySelectionError extends Error {
  /** Always `ERR_EMPTY_SELECTION`: a usage error (`kkcm conformance` exits 2). */
  readonly code = 'ERR_EMPTY_SELECTION';
  constructor(detail: string) {
    super(`the selection matches no case${detail}`);
    this.name = 'EmptySelectionError';
  }
}

/**
 * Runs the suite and returns the report. Never throws for a misbehaving peer: every
 * problem becomes a verdict.
 *
 * @throws EmptySelectionError (code ERR_EMPTY_SELECTION) when the selection, in the roles
 *   the target plays, matches no case.
 */
export async function runConformance(options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const spec = options.target ?? { kind: 'embedded' };
  const scale = options.timeoutScale ?? 1;
  const facts: PeerFacts = {
    handshakeTimeoutMs:
      options.handshakeTimeoutMs ??
      (spec.kind === 'embedded' ? EMBEDDED_TIMERS.handshakeTimeoutMs : Timers.handshakeTimeoutMs),
  };
  const seed = options.seed ?? 0;
  const { cases, unknown } = selectCases(options.selection ?? {}, options.catalogue ?? CASES);
  const targets = targetsFor(spec).filter(
    (t) => options.selection?.roles === undefined || options.selection.roles.includes(t.role),
  );
  if (!targets.some((t) => cases.some((c) => playsIn(c, t))))
    throw new EmptySelectionError(
      unknown.length > 0
        ? ` (unknown case ids: ${unknown.join(', ')})`
        : ` in the role(s) and side the peer plays (${targets.map((t) => `${t.role} ${t.side === 'listen' ? 'listening' : 'connecting'}`).join(', ') || 'none selected'})`,
    );
  const startedAt = new Date();
  const started = performance.now();
  const results: CaseResult[] = [];
  const problems: string[] = [];
  const runDeadline = options.runTimeoutMs === undefined ? Infinity : started + options.runTimeoutMs * scale;
  const prefix = options.rerunPrefix ?? 'npx kkcm conformance';

  for (const target of targets) {
    const role = target.role;
    let list = cases.filter((c) => playsIn(c, target));
    const repeat = Math.max(1, options.repeat ?? 1);
    list = Array.from({ length: repeat }, () => list).flat();
    if (seed !== 0) list = shuffle([...list], seed + (role === 'backup' ? 1 : 0));
    try {
      await target.start();
      options.onTargetStarted?.(target);
    } catch (err) {
      problems.push(`could not start the target for role ${role}: ${(err as Error).message}`);
      for (const c of list)
        results.push(result(c, role, 'error', 0, '', { reason: `target did not start: ${(err as Error).message}` }));
      continue;
    }
    try {
      let unhealthy: string | undefined;
      for (const c of list) {
        const rerun = `${prefix} --case ${c.id}${spec.kind === 'embedded' ? ` --role ${role}` : ''}${rerunFlags(spec)}`;
        if (performance.now() > runDeadline) {
          results.push(result(c, role, 'error', 0, rerun, { reason: 'the run timeout expired before this case' }));
          continue;
        }
        if (unhealthy !== undefined) {
          results.push(result(c, role, 'error', 0, rerun, { reason: unhealthy }));
          continue;
        }
        options.onCaseStart?.(c.id, role);
        const r = await runCase(
          c,
          role,
          target,
          scale,
          facts,
          (c.timeoutMs ?? options.caseTimeoutMs ?? 30000) * scale,
          rerun,
        );
        results.push(r);
        options.onCaseEnd?.(finalVerdict(r, options));
        if (target.needsRestart() || !target.alive()) await target.restart().catch(() => undefined);
        const probe = await healthy(role, target, scale, facts, c.id);
        if (probe.verdict !== 'pass') {
          // A peer defect the probe saw is a fail of what it breaks, reported once per role.
          if (probe.verdict === 'fail' && !results.some((x) => x.id === HEALTH_PROBE.id && x.role === role))
            results.push(probe);
          await target.restart().catch(() => undefined);
          const again = await healthy(role, target, scale, facts, c.id);
          if (again.verdict !== 'pass')
            unhealthy = `not run: the peer failed the health probe after ${c.id} (${
              again.verdict === 'fail'
                ? `${(again.violated ?? HEALTH_PROBE.requirements).join(', ')}: ${again.observed ?? ''}`
                : (again.reason ?? again.verdict)
            })`;
        }
      }
    } finally {
      await target.close();
    }
  }

  let judged: readonly CaseResult[] = results;
  if (options.expectedFailures !== undefined) {
    const applied = applyExpectations(judged, options.expectedFailures, { knownIds: CASES.map((c) => c.id) });
    judged = applied.cases;
    problems.push(...applied.problems);
  }
  if (options.baseline !== undefined) {
    const applied = applyBaseline(judged, options.baseline);
    judged = applied.cases;
    problems.push(...applied.problems);
  }
  const summary = summarize(judged);
  return {
    tool: 'kkcm',
    version: packageVersion(),
    specVersion: SPEC_VERSION,
    target: describeTarget(spec, targets),
    seed,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    summary,
    conforming: summary.fail === 0 && summary.error === 0 && summary.xpass === 0 && problems.length === 0,
    mustNotRun: mustCasesNotRun(judged),
    cases: judged,
    problems,
  };
}
