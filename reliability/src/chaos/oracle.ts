/**
 * The chaos oracle: pure functions over what one trial left behind — both sides' worker
 * logs and event files, every incarnation of each (a side killed with -9 is restarted as a
 * new incarnation), and the driver's record of the faults — to a list of violations. No
 * clock, no I/O: the tests feed it crafted records.
 *
 * Rules (numbered as in the issue):
 *
 * 1. **Delivery**: per sender stream (node, incarnation, client), the receiving side delivers
 *    strictly increasing sequence numbers (`duplicate`, `reorder`), with intact bodies
 *    (`partial`), only what was sent (`phantom`), in the session it was sent in
 *    (`cross-session`), and within one session a prefix of what was queued (`gap`: a message
 *    lost while a later one of the same stream and session arrived). Sends fail only as a
 *    fault allows (`send-error`), and nothing but traffic reaches a handler (`stray`).
 * 2. **Confirmation**: a send the other side confirmed was delivered there
 *    (`confirmed-not-delivered`); no confirmation is refused by a handler (`confirm-refused`).
 * 3. **Cleanup**: per side, every session that came up gets exactly one cleanup per client
 *    (`cleanup-count`; none on a side killed while it was up), all with one reason and
 *    detail, from the set the fault that ended it allows (`cleanup-reason`, see
 *    {@link expectedEnd}); a session that ends without a fault or stop aimed at it is
 *    `unexpected-cleanup`. The event file agrees with the cleanup handlers (`event-file`),
 *    and no handler throws and no message is undelivered (`handler-error`).
 * 4. **Recovery**: after a fault that ends the session, both sides are in one new session,
 *    reached in at most {@link MAX_ATTEMPTS_AFTER_CLEARING} connection attempts started after
 *    the fault was cleared (`no-new-session`), and after every fault each side delivers
 *    traffic from the other before the next step (`no-traffic`). The oracle counts attempts,
 *    not milliseconds: how long the recovery took depends on the machine's load, and is
 *    measured and reported by the chaos command (its recovery line and `boundMs`), never a
 *    verdict here.
 * 5. **Clean exit**: a side that was not killed exits 0 (`exit-code`) with no socket, server or
 *    timer left (`leak`).
 *
 * Logs: a killed process may leave its last line cut (`log` tolerates that one, nothing else).
 *
 * One concept past the usual length: the five rules over one trial record (the record's
 * types are in `trial-record.ts`). Each rule is one function here; they share the parsed
 * logs and the fault expectations ({@link expectedEnd}), which is why they stay together.
 *
 * Why one file past ~500 lines: the oracle is one concept, the set of rules a trial must keep;
 * each rule is a short pure function over the same record, and splitting them apart would spread
 * one checklist over several files.
 *
 * @module
 */
import {
  NODE_IDS,
  type FaultRecord,
  type IncarnationRecord,
  type NodeName,
  type StopRecord,
  type TrialRecord,
} from './trial-record.js';
import { TRAFFIC_CLIENTS, type WorkerLine } from './worker.js';

// The record types are the oracle's input: exported from here as well, under the same names.
export {
  FAULT_KINDS,
  NODE_IDS,
  PROCESS_FAULT_KINDS,
  PROXY_FAULT_KINDS,
  type FaultKind,
  type FaultRecord,
  type IncarnationRecord,
  type NodeName,
  type StopRecord,
  type TrialRecord,
} from './trial-record.js';

/** Rules of the oracle, by the issue's number. */
export const RULES = {
  duplicate: 1,
  reorder: 1,
  partial: 1,
  phantom: 1,
  'cross-session': 1,
  gap: 1,
  'send-error': 1,
  stray: 1,
  'confirmed-not-delivered': 2,
  'confirm-refused': 2,
  'cleanup-count': 3,
  'cleanup-reason': 3,
  'unexpected-cleanup': 3,
  'event-file': 3,
  'handler-error': 3,
  'no-new-session': 4,
  'no-traffic': 4,
  leak: 5,
  'exit-code': 5,
  log: 0,
  driver: 0,
} as const;

/** A rule name. */
export type Rule = keyof typeof RULES;

/** One violation. */
export interface Violation {
  /** Index of the trial. */
  readonly trial: number;
  /** The trial's seed (`npm run chaos -- --trials 1 --seed SEED --faults …` replays it). */
  readonly seed: number;
  /** The rule broken (its number in {@link RULES}). */
  readonly rule: Rule;
  /** What happened, naming the side, its incarnation, the stream or session. */
  readonly detail: string;
}

/** How a side's session must end because of a fault. */
export type Expectation =
  /** The fault kills this side: no cleanup of it at all. */
  | { readonly end: 'killed' }
  /** The fault must not end the session. */
  | { readonly end: 'survive' }
  /** Every client cleans up once with one of these `reason/detail` pairs. */
  | { readonly end: 'cleanup'; readonly allowed: readonly string[] };

const LOST = ['socketIoError/endOfStream', 'socketIoError/connectionReset'];

/**
 * What a fault must do to the session of `node`, derived from the reference peer's
 * semantics (`reference-impl/src/peer.ts`, `link.ts`) and the spec's cleanup reasons:
 *
 * - kill -9 of a side: it runs no cleanup; the other sees the connections lost
 *   (`socketIoError`, `endOfStream` or `connectionReset`).
 * - switchover: both sides `switchover/manualSwitchover` (the SHUTDOWN carries it across).
 * - deconfigure: both sides `nsrDeconfigured/none` (the deconfigured side's trigger; its
 *   SHUTDOWN carries it to the other).
 * - peer-down: the told side `peerDown/clusterMemberLost`: the chaos peers run in the
 *   reference peer's default topology, cluster, where the membership source reports the other
 *   chassis lost (in dual-re it would be `masterOffline` or `backupOffline`); it closes without
 *   SHUTDOWN, so the other side sees the connections lost.
 * - reset, drop-channel: RSTs; each side sees a reset, or the other side's close of the
 *   channel that was not hit first.
 * - half-close, partial-close toward a side: that side reads the end of the stream (after half
 *   a message for partial-close, which must not be delivered); the other sees it lost.
 * - garbage toward a side: that side finds a protocol error; the other reads its ERROR, or
 *   its close first.
 * - stall-reader, stall-writer (shorter than the dead-connection time): the session survives.
 * - a fault that did not take effect: the session survives.
 */
export function expectedEnd(fault: FaultRecord, node: NodeName): Expectation {
  if (!fault.applied) return { end: 'survive' };
  const targeted = fault.target === node;
  switch (fault.kind) {
    case 'kill-master':
    case 'kill-backup':
      return targeted ? { end: 'killed' } : { end: 'cleanup', allowed: LOST };
    case 'switchover':
      return { end: 'cleanup', allowed: ['switchover/manualSwitchover'] };
    case 'deconfigure':
      return { end: 'cleanup', allowed: ['nsrDeconfigured/none'] };
    case 'peer-down':
      if (!targeted) return { end: 'cleanup', allowed: LOST };
      return { end: 'cleanup', allowed: ['peerDown/clusterMemberLost'] };
    case 'reset':
    case 'drop-channel':
      return { end: 'cleanup', allowed: LOST };
    case 'half-close':
    case 'partial-close':
      return { end: 'cleanup', allowed: targeted ? ['socketIoError/endOfStream'] : LOST };
    case 'garbage':
      return {
        end: 'cleanup',
        allowed: targeted ? ['socketIoError/protocolError'] : ['socketIoError/protocolError', ...LOST],
      };
    case 'stall-reader':
    case 'stall-writer':
      return { end: 'survive' };
  }
}

/** Expected cleanup of the clean stop: the first side stops, the second reads its SHUTDOWN. */
export function expectedStop(stop: StopRecord, node: NodeName): Expectation {
  return {
    end: 'cleanup',
    allowed: [stop.order[0] === node ? 'nsrDeconfigured/localShutdown' : 'peerDown/peerShutdown'],
  };
}

/** Failures of a send that mean it was never queued and that a fault may cause. */
const NOT_QUEUED_ALLOWED = new Set(['ERR_QUEUE_FULL']);
/** Failures of a send that was queued: the session ended before the confirmation (fate unknown). */
const QUEUED_UNKNOWN = 'ERR_SESSION_DOWN';
/** Refusals by the other side's handler or dispatcher: they must not happen (every handler accepts). */
const REFUSALS = new Set(['ERR_HANDLER_FAILED', 'ERR_NO_HANDLER']);
/**
 * Connection attempts (`connecting` events) that may start between the clearing of a fault
 * and the new session: the first may fail once (the other side still swapping roles, or not
 * yet listening behind the proxy), the second must succeed.
 */
export const MAX_ATTEMPTS_AFTER_CLEARING = 2;
/** Violations kept per rule and trial; the rest are counted in one more line. */
const MAX_PER_RULE = 20;

type Line = WorkerLine;
type Ev = Record<string, unknown> & { readonly event: string; readonly ts: number };

/** A parsed incarnation. */
interface Parsed {
  readonly rec: IncarnationRecord;
  readonly lines: readonly Line[];
  readonly events: readonly Ev[];
}

/**
 * Splits JSON Lines. A killed process may have left its last line cut: that one line is
 * dropped; any other line that does not parse is reported.
 */
function parseLines<T>(text: string, tolerateCutTail: boolean, what: string, report: (detail: string) => void): T[] {
  const parts = text.split('\n');
  const tail = parts.pop() ?? '';
  if (tail !== '' && !tolerateCutTail) report(`${what}: the last line has no newline: ${tail.slice(0, 80)}`);
  const out: T[] = [];
  parts.forEach((line, i) => {
    if (line === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      report(`${what}: line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
    }
  });
  return out;
}

const streamKey = (node: number, inc: number, client: string): string => `${node}/${inc}/${client}`;
const otherNode = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');

/**
 * Checks one trial against the five rules.
 *
 * @returns the violations, at most {@link MAX_PER_RULE} per rule (then one line saying how
 *   many more).
 */
export function checkTrial(trial: TrialRecord): Violation[] {
  const found: Violation[] = [];
  const perRule = new Map<Rule, number>();
  const report = (rule: Rule, detail: string): void => {
    const n = (perRule.get(rule) ?? 0) + 1;
    perRule.set(rule, n);
    if (n <= MAX_PER_RULE) found.push({ trial: trial.trial, seed: trial.seed, rule, detail });
  };
  for (const e of trial.driverErrors) report('driver', e);

  const parsed: Parsed[] = trial.incarnations.map((rec) => {
    const name = `${rec.node}${rec.inc}`;
    const lines = parseLines<Line>(rec.logText, rec.killed, `${name} log`, (d) => report('log', d));
    const events = parseLines<Ev>(rec.eventsText, rec.killed, `${name} event file`, (d) => report('log', d));
    return { rec, lines, events };
  });

  checkDelivery(parsed, report);
  checkCleanups(trial, parsed, report);
  checkRecovery(trial, parsed, report);
  checkExit(parsed, report);

  for (const [rule, n] of perRule) {
    if (n > MAX_PER_RULE)
      found.push({
        trial: trial.trial,
        seed: trial.seed,
        rule,
        detail: `… and ${n - MAX_PER_RULE} more ${rule} violations`,
      });
  }
  return found;
}

type Report = (rule: Rule, detail: string) => void;

interface SendInfo {
  readonly sid: string;
  readonly confirm: boolean;
  result: string | undefined;
}

/** Rules 1 and 2. */
function checkDelivery(parsed: readonly Parsed[], report: Report): void {
  // Every send of every stream, by stream key and sequence number.
  const sends = new Map<string, Map<number, SendInfo>>();
  for (const p of parsed) {
    const id = NODE_IDS[p.rec.node];
    for (const l of p.lines) {
      if (l.t === 'tx') {
        const key = streamKey(id, p.rec.inc, l.c);
        let m = sends.get(key);
        if (m === undefined) sends.set(key, (m = new Map()));
        m.set(l.q, { sid: l.sid, confirm: l.cf === 1, result: undefined });
      } else if (l.t === 'txr') {
        const s = sends.get(streamKey(id, p.rec.inc, l.c))?.get(l.q);
        if (s !== undefined) s.result = l.r;
        if (REFUSALS.has(l.r))
          report(
            'confirm-refused',
            `${p.rec.node}${p.rec.inc} ${l.c} #${l.q}: the other side refused the confirmed message (${l.r})`,
          );
        else if (l.r !== 'confirmed' && l.r !== QUEUED_UNKNOWN && !NOT_QUEUED_ALLOWED.has(l.r))
          report('send-error', `${p.rec.node}${p.rec.inc} ${l.c} #${l.q}: send failed with ${l.r}`);
      }
    }
  }

  // Deliveries, per receiving side, in order (incarnations in start order).
  const delivered = new Set<string>();
  for (const node of ['a', 'b'] as const) {
    const last = new Map<string, number>();
    const seen = new Set<string>();
    const bySession = new Map<string, number[]>();
    for (const p of parsed.filter((x) => x.rec.node === node)) {
      const where = `${node}${p.rec.inc}`;
      for (const l of p.lines) {
        if (l.t === 'stray') report('stray', `${where}: ${l.name} reached the ${l.c} handler`);
        if (l.t !== 'rx') continue;
        const key = streamKey(l.n, l.i, l.c);
        const what = `${where} got ${l.c} #${l.q} of stream ${key}`;
        if (!l.ok) {
          report('partial', `${what} damaged (${l.why ?? '?'})`);
          continue;
        }
        const prev = last.get(key);
        if (seen.has(`${key}#${l.q}`)) report('duplicate', `${what} again`);
        else if (prev !== undefined && l.q < prev) report('reorder', `${what} after #${prev}`);
        seen.add(`${key}#${l.q}`);
        if (prev === undefined || l.q > prev) last.set(key, l.q);
        const send = l.n === NODE_IDS[node] ? undefined : sends.get(key)?.get(l.q);
        if (send === undefined) {
          report('phantom', `${what}, which was never sent`);
          continue;
        }
        if (send.sid !== l.sid)
          report('cross-session', `${what} in session ${String(l.sid)}; it was sent in ${send.sid}`);
        delivered.add(`${key}#${l.q}`);
        const sk = `${key}@${send.sid}`;
        const list = bySession.get(sk);
        if (list === undefined) bySession.set(sk, [l.q]);
        else if (l.q > list[list.length - 1]!) list.push(l.q);
      }
    }
    // Gaps: within one session, what arrived must be a prefix of what was queued.
    for (const [sk, got] of bySession) {
      const [key, sid] = sk.split('@') as [string, string];
      const queued = [...(sends.get(key) ?? new Map<number, SendInfo>()).entries()]
        .filter(([, s]) => s.sid === sid && (s.result === undefined || !NOT_QUEUED_ALLOWED.has(s.result)))
        .map(([q]) => q)
        .sort((x, y) => x - y);
      const lastGot = got[got.length - 1]!;
      const gotSet = new Set(got);
      const missing = queued.filter((q) => q < lastGot && !gotSet.has(q));
      if (missing.length > 0)
        report(
          'gap',
          `${node} lost ${missing.length} message(s) of stream ${key} in session ${sid} (first #${missing[0]}) but got #${lastGot}`,
        );
    }
  }

  for (const [key, m] of sends) {
    for (const [q, s] of m) {
      if (s.result === 'confirmed' && !delivered.has(`${key}#${q}`))
        report('confirmed-not-delivered', `stream ${key} #${q} was confirmed in session ${s.sid} but never delivered`);
    }
  }
}

/** The cause a session's end is checked against. */
interface Cause {
  readonly what: string;
  readonly at: number;
  readonly expect: Expectation;
}

/** Rule 3. */
function checkCleanups(trial: TrialRecord, parsed: readonly Parsed[], report: Report): void {
  const clients: readonly string[] = TRAFFIC_CLIENTS;
  for (const p of parsed) {
    const where = `${p.rec.node}${p.rec.inc}`;
    const inits = new Map<string, Map<string, number>>();
    const cleanups = new Map<string, Extract<Line, { t: 'cleanup' }>[]>();
    for (const l of p.lines) {
      if (l.t === 'init') {
        let m = inits.get(l.sid);
        if (m === undefined) inits.set(l.sid, (m = new Map()));
        m.set(l.c, (m.get(l.c) ?? 0) + 1);
      } else if (l.t === 'cleanup') {
        const list = cleanups.get(l.sid) ?? [];
        list.push(l);
        cleanups.set(l.sid, list);
        if (!inits.has(l.sid))
          report('cleanup-count', `${where}: ${l.c} cleaned up session ${l.sid}, which never came up here`);
      }
    }
    for (const [sid, m] of inits) {
      for (const c of clients)
        if (m.get(c) !== 1)
          report('cleanup-count', `${where}: ${c} init ran ${m.get(c) ?? 0} times for session ${sid}`);
      const list = cleanups.get(sid) ?? [];
      const cause = causeOf(trial, p.rec, sid);
      const counts = new Map<string, number>();
      for (const l of list) counts.set(l.c, (counts.get(l.c) ?? 0) + 1);
      if (cause === undefined) {
        if (list.length > 0)
          report(
            'unexpected-cleanup',
            `${where}: session ${sid} ended (${list[0]!.reason}/${list[0]!.detail}) though no fault or stop was aimed at it`,
          );
        else if (p.rec.exit !== null && !p.rec.killed)
          report('cleanup-count', `${where}: session ${sid} never cleaned up`);
        continue;
      }
      if (cause.expect.end === 'killed' || cause.expect.end === 'survive') {
        if (list.length > 0) {
          report(
            cause.expect.end === 'killed' ? 'cleanup-count' : 'unexpected-cleanup',
            `${where}: session ${sid} cleaned up (${list[0]!.reason}/${list[0]!.detail}) though ${cause.what} ${cause.expect.end === 'killed' ? 'killed this side' : 'must not end it'}`,
          );
        }
        continue;
      }
      for (const c of clients) {
        const n = counts.get(c) ?? 0;
        if (n !== 1)
          report(
            'cleanup-count',
            `${where}: ${c} cleaned up session ${sid} ${n} times (expected once, after ${cause.what})`,
          );
      }
      const allowed = cause.expect.allowed;
      const seen = new Set(list.map((l) => `${l.reason}/${l.detail}`));
      for (const r of seen)
        if (!allowed.includes(r))
          report(
            'cleanup-reason',
            `${where}: session ${sid} cleaned up with ${r} after ${cause.what}; expected ${allowed.join(' or ')}`,
          );
      if (seen.size > 1)
        report(
          'cleanup-reason',
          `${where}: the clients of session ${sid} got different reasons: ${[...seen].join(', ')}`,
        );
      const early = list.find((l) => l.ts < cause.at);
      if (early !== undefined)
        report(
          'unexpected-cleanup',
          `${where}: session ${sid} ended (${early.reason}/${early.detail}) ${cause.at - early.ts} ms before ${cause.what}`,
        );
    }
    checkEventFile(p, where, report);
  }
}

/**
 * What should end session `sid` of this incarnation: the first fault aimed at it that does
 * not let it survive, or the stop; undefined when neither (the session must not end).
 */
function causeOf(trial: TrialRecord, rec: IncarnationRecord, sid: string): Cause | undefined {
  for (const [i, f] of trial.faults.entries()) {
    if (f.sessionBefore[rec.node] !== sid) continue;
    const expect = expectedEnd(f, rec.node);
    if (expect.end !== 'survive')
      return {
        what: `fault ${i + 1} (${f.kind}${f.target !== null ? ` aimed at ${f.target}` : ''})`,
        at: f.startedAt,
        expect,
      };
  }
  if (trial.stop !== null && trial.stop.sessionBefore[rec.node] === sid && !rec.killed) {
    return {
      what: `the stop (${trial.stop.order.join(' then ')})`,
      at: trial.stop.startedAt,
      expect: expectedStop(trial.stop, rec.node),
    };
  }
  return undefined;
}

/** The event file says what the cleanup handlers saw: same cleanups, same sessions; no handler error. */
function checkEventFile(p: Parsed, where: string, report: Report): void {
  const fromLog = p.lines.filter((l) => l.t === 'cleanup').map((l) => `${l.sid} ${l.c} ${l.reason}/${l.detail}`);
  const fromEvents = p.events
    .filter((e) => e.event === 'cleanup')
    .map((e) => `${String(e.sessionId)} ${String(e.client)} ${String(e.reason)}/${String(e.detail)}`);
  const upLog = [...new Set(p.lines.filter((l) => l.t === 'init').map((l) => l.sid))];
  const upEvents = p.events.filter((e) => e.event === 'session-up').map((e) => String(e.sessionId));
  const count = (xs: readonly string[]): Map<string, number> =>
    xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const logCounts = count(fromLog);
  const evCounts = count(fromEvents);
  // A killed process may lose the tail of its event file (it is written asynchronously): then
  // the file holds a part of what the handlers saw; a clean exit flushed it whole.
  const exact = !p.rec.killed;
  for (const [k, n] of evCounts)
    if (n > (logCounts.get(k) ?? 0))
      report(
        'event-file',
        `${where}: the event file has cleanup ${k} ${n} times, the handlers saw it ${logCounts.get(k) ?? 0} times`,
      );
  if (exact)
    for (const [k, n] of logCounts)
      if (n > (evCounts.get(k) ?? 0))
        report(
          'event-file',
          `${where}: a cleanup handler ran for ${k}, the event file has ${evCounts.get(k) ?? 0} of ${n}`,
        );
  for (const sid of upEvents)
    if (!upLog.includes(sid))
      report('event-file', `${where}: session-up ${sid} in the event file, no client init for it`);
  if (exact)
    for (const sid of upLog)
      if (!upEvents.includes(sid))
        report('event-file', `${where}: clients were initialised for session ${sid}, the event file has no session-up`);
  for (const e of p.events) {
    if (e.event === 'handler-error')
      report(
        'handler-error',
        `${where}: the ${String(e.client)} ${String(e.handler)} handler threw: ${String(e.error)}`,
      );
    if (e.event === 'undelivered')
      report('handler-error', `${where}: ${String(e.name)} was not delivered (${String(e.client)} not registered)`);
  }
}

/** Rule 4. */
function checkRecovery(trial: TrialRecord, parsed: readonly Parsed[], report: Report): void {
  const inits = { a: [] as { sid: string; ts: number }[], b: [] as { sid: string; ts: number }[] };
  const rx = { a: [] as number[], b: [] as number[] };
  // Only a backup connects: the attempts of either side, in one list.
  const attempts: number[] = [];
  for (const p of parsed) {
    for (const e of p.events) if (e.event === 'connecting') attempts.push(e.ts);
    for (const l of p.lines) {
      if (l.t === 'init' && l.c === TRAFFIC_CLIENTS[0]) inits[p.rec.node].push({ sid: l.sid, ts: l.ts });
      if (l.t === 'rx' && l.ok) rx[p.rec.node].push(l.ts);
    }
  }
  trial.faults.forEach((f, i) => {
    const label = `fault ${i + 1} (${f.kind})`;
    const endsSession = (['a', 'b'] as const).some((n) => expectedEnd(f, n).end !== 'survive');
    if (endsSession) {
      const next = {
        a: inits.a.find((x) => x.ts >= f.startedAt && x.sid !== f.sessionBefore.a),
        b: inits.b.find((x) => x.ts >= f.startedAt && x.sid !== f.sessionBefore.b),
      };
      if (next.a === undefined || next.b === undefined) {
        report('no-new-session', `${label}: no new session on ${next.a === undefined ? 'a' : 'b'} after it`);
      } else if (next.a.sid !== next.b.sid) {
        report('no-new-session', `${label}: the first sessions after it differ: a ${next.a.sid}, b ${next.b.sid}`);
      } else {
        const upAt = Math.max(next.a.ts, next.b.ts);
        const tries = attempts.filter((ts) => ts >= f.clearedAt && ts <= upAt).length;
        if (tries > MAX_ATTEMPTS_AFTER_CLEARING)
          report(
            'no-new-session',
            `${label}: the new session took ${tries} connection attempts after the fault was cleared, at most ${MAX_ATTEMPTS_AFTER_CLEARING} allowed`,
          );
      }
    }
    const until = trial.faults[i + 1]?.startedAt ?? trial.stop?.startedAt ?? Infinity;
    for (const n of ['a', 'b'] as const) {
      if (!rx[n].some((ts) => ts > f.settledAt && ts < until))
        report(
          'no-traffic',
          `${label}: ${n} delivered nothing from ${otherNode(n)} between the recovery and the next step`,
        );
    }
  });
}

/** Rule 5. */
function checkExit(parsed: readonly Parsed[], report: Report): void {
  for (const p of parsed) {
    const where = `${p.rec.node}${p.rec.inc}`;
    if (p.rec.killed) continue;
    const exit = p.rec.exit;
    if (exit === null) report('exit-code', `${where}: never exited`);
    else if (exit.code !== 0)
      report(
        'exit-code',
        `${where}: exited with ${exit.code === null ? `signal ${String(exit.signal)}` : `code ${exit.code}`}`,
      );
    const last = p.lines.find((l) => l.t === 'exit');
    if (last === undefined) report('leak', `${where}: no exit report (the clean stop did not finish)`);
    else if (Object.keys(last.leaked).length > 0)
      report(
        'leak',
        `${where}: still active after the stop: ${Object.entries(last.leaked)
          .map(([k, n]) => `${k} ×${n}`)
          .join(', ')}`,
      );
  }
}
