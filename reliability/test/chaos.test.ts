/**
 * The chaos harness: the oracle catches every class of violation in crafted logs (so that
 * it can fail), the traffic check catches damaged bodies, the CLI's options and exit codes,
 * a run with a deliberately faulty peer fails and prints its replay, the CI run of 50 trials
 * with a fixed seed finds no violation and exercises every fault kind, and a few trials with
 * the two sides in two network namespaces (skipped, with the reason, where namespaces are
 * not permitted).
 *
 * One subject, the chaos command and its oracle, in one file past the usual length: the
 * crafted trial records serve the oracle's tests, and the runs end in the same oracle. The
 * verdicts are deterministic: the recovery is judged by connection attempts, and its
 * duration is only reported.
 */
import t from 'tap';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage, decodeMessage, type KnownMessage } from '../../codec/src/index.js';
import {
  checkTrial,
  expectedEnd,
  FAULT_KINDS,
  MAX_ATTEMPTS_AFTER_CLEARING,
  type FaultRecord,
  type IncarnationRecord,
  type Rule,
  type TrialRecord,
} from '../src/chaos/oracle.js';
import { chaosMain, trialLine } from '../src/chaos/cli.js';
import { recoveryBoundMs, CHAOS_TIMING, runChaos, trialKinds, trialSeed } from '../src/chaos/run.js';
import { checkTrafficMessage, makeTrafficMessage, TRAFFIC_CLIENTS } from '../src/chaos/worker.js';

// The 50-trial run takes about three minutes on two cores.
t.setTimeout(20 * 60_000);

const S1 = '1001';
const S2 = '2002';
const BOUND = 2460;

type Line = Record<string, unknown> & { t: string; ts: number };

/** The log of one side over a clean trial: session S1, a switchover at 1900, session S2, the stop at 2900. */
function sideLog(node: 'a' | 'b', firstStopped: boolean): Line[] {
  const me = node === 'a' ? 1 : 2;
  const other = node === 'a' ? 2 : 1;
  const lines: Line[] = [
    { ts: 900, t: 'start', node, nodeId: me, inc: 1, role: node === 'a' ? 'master' : 'backup', pid: 1 },
    { ts: 950, t: 'ready' },
  ];
  const session = (sid: string, from: number, qs: readonly number[], cleanup: string, at: number): void => {
    for (const c of TRAFFIC_CLIENTS) lines.push({ ts: from, t: 'init', c, sid });
    qs.forEach((q, k) => {
      lines.push({ ts: from + 10 + k, t: 'tx', c: 'sdrl', q, sid, cf: q === 1 ? 1 : 0 });
      lines.push({ ts: from + 20 + k, t: 'rx', c: 'sdrl', n: other, i: 1, q, sid, ok: true });
      if (q === 1) lines.push({ ts: from + 30 + k, t: 'txr', c: 'sdrl', q, r: 'confirmed' });
    });
    const [reason, detail] = cleanup.split('/');
    for (const c of TRAFFIC_CLIENTS) lines.push({ ts: at, t: 'cleanup', c, sid, reason, detail });
  };
  session(S1, 1000, [0, 1, 2, 3], 'switchover/manualSwitchover', 1901);
  session(S2, 2000, [4, 5, 6], firstStopped ? 'nsrDeconfigured/localShutdown' : 'peerDown/peerShutdown', 2901);
  lines.push({ ts: 3000, t: 'exit', resources: ['PipeWrap'], leaked: {}, stopMs: 20, signal: 'SIGTERM' });
  return lines;
}

/** The event file that goes with a log: session-up and cleanup lines. */
function eventsOf(lines: readonly Line[]): Line[] {
  const out: Line[] = [];
  for (const l of lines) {
    if (l.t === 'init' && l.c === 'iha')
      out.push({
        ts: l.ts,
        event: 'session-up',
        sessionId: l.sid,
        version: 1,
        role: 'master',
        features: 1,
      } as unknown as Line);
    if (l.t === 'cleanup')
      out.push({
        ts: l.ts,
        event: 'cleanup',
        client: l.c,
        reason: l.reason,
        detail: l.detail,
        sessionId: l.sid,
      } as unknown as Line);
  }
  return out;
}

/** The backup's `connecting` events at `times`. */
function connecting(times: readonly number[]): Line[] {
  return times.map(
    (ts, attempt) => ({ ts, event: 'connecting', host: '127.0.0.1', port: 7000, attempt }) as unknown as Line,
  );
}

const jsonl = (lines: readonly object[]): string => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

interface Sides {
  a: Line[];
  b: Line[];
  events?: { a?: Line[]; b?: Line[] };
  exit?: Partial<Record<'a' | 'b', IncarnationRecord['exit']>>;
  fault?: Partial<FaultRecord>;
  extra?: IncarnationRecord[];
}

/** A trial record around the two logs (a stopped first). */
function trial(s: Sides): TrialRecord {
  const inc = (node: 'a' | 'b', lines: Line[]): IncarnationRecord => ({
    node,
    inc: 1,
    role: node === 'a' ? 'master' : 'backup',
    logText: jsonl(lines),
    eventsText: jsonl(s.events?.[node] ?? eventsOf(lines)),
    killed: false,
    exit: s.exit?.[node] !== undefined ? s.exit[node] : { code: 0, signal: null },
  });
  const fault: FaultRecord = {
    kind: 'switchover',
    target: 'a',
    params: {},
    rolesBefore: { a: 'master', b: 'backup' },
    sessionBefore: { a: S1, b: S1 },
    applied: true,
    text: 'switchover on a',
    startedAt: 1900,
    clearedAt: 1950,
    settledAt: 2005,
    ...s.fault,
  };
  return {
    trial: 7,
    seed: 1234,
    boundMs: BOUND,
    incarnations: [inc('a', s.a), inc('b', s.b), ...(s.extra ?? [])],
    faults: [fault],
    stop: { order: ['a', 'b'], startedAt: 2900, sessionBefore: { a: S2, b: S2 } },
    driverErrors: [],
  };
}

const clean = (): Sides => ({ a: sideLog('a', true), b: sideLog('b', false) });
const rules = (r: TrialRecord): Rule[] => [...new Set(checkTrial(r).map((v) => v.rule))];

t.test('the oracle', async (t) => {
  t.test('finds nothing wrong in a clean trial', async (t) => {
    t.same(checkTrial(trial(clean())), []);
  });

  t.test('judges the recovery by connection attempts after the clearing, not by its duration', async (t) => {
    const allowed = clean();
    // Attempts before the clearing (1950) do not count; two after it are allowed.
    allowed.events = { b: [...eventsOf(allowed.b), ...connecting([1910, 1920, 1930, 1960, 1980])] };
    t.same(checkTrial(trial(allowed)), [], `${MAX_ATTEMPTS_AFTER_CLEARING} attempts after the clearing`);
    const late = clean();
    for (const l of late.b) if (l.t === 'init' && l.sid === S2) l.ts = 1950 + BOUND + 1;
    t.same(rules(trial(late)), [], 'a new session later than the bound is reported by the command, not judged here');
  });

  const cases: [string, Rule, (s: Sides) => void][] = [
    [
      'a duplicated delivery',
      'duplicate',
      (s) => s.a.push({ ...s.a.find((l) => l.t === 'rx' && l.q === 2)!, ts: 2950 }),
    ],
    [
      'a reordered delivery',
      'reorder',
      (s) => {
        const i = s.a.findIndex((l) => l.t === 'rx' && l.q === 2);
        const j = s.a.findIndex((l) => l.t === 'rx' && l.q === 3);
        [s.a[i], s.a[j]] = [s.a[j]!, s.a[i]!];
      },
    ],
    [
      'a damaged (partial) body',
      'partial',
      (s) =>
        Object.assign(
          s.b.find((l) => l.t === 'rx' && l.q === 5)!,
          { ok: false, why: 'data differs' },
        ),
    ],
    [
      'a message lost in the middle of a session',
      'gap',
      (s) =>
        s.b.splice(
          s.b.findIndex((l) => l.t === 'rx' && l.q === 2),
          1,
        ),
    ],
    [
      'a delivery never sent',
      'phantom',
      (s) => s.a.push({ ts: 2100, t: 'rx', c: 'prl', n: 2, i: 1, q: 0, sid: S2, ok: true }),
    ],
    [
      'a delivery in another session than its send',
      'cross-session',
      (s) =>
        Object.assign(
          s.a.find((l) => l.t === 'rx' && l.q === 4)!,
          { sid: S1 },
        ),
    ],
    [
      'a confirmed message the other side never delivered',
      'confirmed-not-delivered',
      (s) =>
        s.b.splice(
          s.b.findIndex((l) => l.t === 'rx' && l.q === 1),
          1,
          { ts: 1, t: 'stray-free' },
        ),
    ],
    [
      'a confirmation refused by a handler',
      'confirm-refused',
      (s) =>
        Object.assign(
          s.a.find((l) => l.t === 'txr')!,
          { r: 'ERR_HANDLER_FAILED' },
        ),
    ],
    [
      'a send failing with an unexpected code',
      'send-error',
      (s) => s.a.push({ ts: 2050, t: 'txr', c: 'sdrl', q: 5, r: 'ERR_VALUE_OUT_OF_RANGE' }),
    ],
    [
      'a cleanup handler run twice for one session',
      'cleanup-count',
      (s) => s.b.push({ ...s.b.find((l) => l.t === 'cleanup' && l.sid === S1)!, ts: 1902 }),
    ],
    [
      'a cleanup handler that never ran',
      'cleanup-count',
      (s) =>
        s.a.splice(
          s.a.findIndex((l) => l.t === 'cleanup' && l.sid === S2 && l.c === 'prl'),
          1,
        ),
    ],
    [
      'the wrong cleanup reason for the fault',
      'cleanup-reason',
      (s) => {
        for (const l of s.b)
          if (l.t === 'cleanup' && l.sid === S1) Object.assign(l, { reason: 'socketIoError', detail: 'endOfStream' });
      },
    ],
    [
      'the wrong cleanup reason at the stop',
      'cleanup-reason',
      (s) => {
        for (const l of s.b)
          if (l.t === 'cleanup' && l.sid === S2)
            Object.assign(l, { reason: 'nsrDeconfigured', detail: 'localShutdown' });
      },
    ],
    [
      'a session that ends though nothing was aimed at it',
      'unexpected-cleanup',
      (s) => {
        for (const l of s.a) if (l.t === 'cleanup' && l.sid === S1) l.ts = 1500;
      },
    ],
    [
      'an event file that disagrees with the cleanup handlers',
      'event-file',
      (s) => {
        s.events = { a: eventsOf(s.a).filter((e) => !(e.event === 'cleanup' && e.client === 'psrm')) };
      },
    ],
    [
      'a handler that threw',
      'handler-error',
      (s) => {
        s.events = {
          b: [
            ...eventsOf(s.b),
            { ts: 1500, event: 'handler-error', client: 'iha', handler: 'message', error: 'boom' } as unknown as Line,
          ],
        };
      },
    ],
    [
      'a new session reached in more connection attempts after the clearing than allowed',
      'no-new-session',
      (s) => {
        s.events = { b: [...eventsOf(s.b), ...connecting([1960, 1970, 1980])] };
      },
    ],
    [
      'no new session at all',
      'no-new-session',
      (s) => {
        s.b = s.b.filter((l) => !(l.t === 'init' && l.sid === S2));
      },
    ],
    [
      'no traffic after the recovery',
      'no-traffic',
      (s) => {
        s.a = s.a.filter((l) => !(l.t === 'rx' && typeof l.q === 'number' && l.q >= 4));
      },
    ],
    [
      'a socket left after the stop',
      'leak',
      (s) =>
        Object.assign(
          s.a.find((l) => l.t === 'exit')!,
          { leaked: { TCPSocketWrap: 1 } },
        ),
    ],
    [
      'no exit report',
      'leak',
      (s) => {
        s.b = s.b.filter((l) => l.t !== 'exit');
      },
    ],
    [
      'a non-zero exit code',
      'exit-code',
      (s) => {
        s.exit = { b: { code: 3, signal: null } };
      },
    ],
    ['a cut line in the log of a side that was not killed', 'log', (s) => s.a.push({ ts: 3001, t: '"cut' } as Line)],
  ];
  for (const [what, rule, mutate] of cases) {
    t.test(`reports ${what} (${rule})`, async (t) => {
      const s = clean();
      mutate(s);
      const r = trial(s);
      if (rule === 'log') {
        // A line cut short: the JSON does not end.
        const a = r.incarnations[0]!;
        (r.incarnations as IncarnationRecord[])[0] = { ...a, logText: `${a.logText}{"ts":3002,"t":"rx","c":"sd` };
      }
      const found = checkTrial(r);
      t.ok(
        found.some((v) => v.rule === rule),
        `a ${rule} violation among ${JSON.stringify(found.map((v) => v.rule))}`,
      );
      t.ok(
        found.every((v) => v.trial === 7 && v.seed === 1234 && v.detail.length > 0),
        'each names the trial, its seed and what happened',
      );
    });
  }

  t.test('tolerates the cut last line of a killed side, and expects no cleanup from it', async (t) => {
    const s = clean();
    // b is killed at 1900 while S1 is up; b2 comes back and joins S2.
    const b1 = sideLog('b', false).filter((l) => l.ts < 1900 && l.t !== 'exit');
    const b2 = sideLog('b', false).filter((l) => l.ts >= 1950 && l.t !== 'start');
    const b2lines: Line[] = [{ ts: 1940, t: 'start', node: 'b', nodeId: 2, inc: 2, role: 'backup', pid: 2 }, ...b2];
    // a's deliveries in S2 now come from b's second incarnation, which numbers from 0.
    for (const l of s.a) if (l.t === 'rx' && l.sid === S2) Object.assign(l, { i: 2, q: (l.q as number) - 4 });
    for (const l of b2lines) if ((l.t === 'tx' || l.t === 'txr') && typeof l.q === 'number') l.q -= 4;
    for (const l of s.a)
      if (l.t === 'cleanup' && l.sid === S1) Object.assign(l, { reason: 'socketIoError', detail: 'connectionReset' });
    const r = trial({ a: s.a, b: [], fault: { kind: 'kill-backup', target: 'b' } });
    const killed: IncarnationRecord = {
      node: 'b',
      inc: 1,
      role: 'backup',
      logText: `${jsonl(b1)}{"ts":1899,"t":"rx","c`,
      eventsText: jsonl(eventsOf(b1).slice(0, 2)),
      killed: true,
      exit: { code: null, signal: 'SIGKILL' },
    };
    const second: IncarnationRecord = {
      node: 'b',
      inc: 2,
      role: 'backup',
      logText: jsonl(b2lines),
      eventsText: jsonl(eventsOf(b2lines)),
      killed: false,
      exit: { code: 0, signal: null },
    };
    const record: TrialRecord = { ...r, incarnations: [r.incarnations[0]!, killed, second] };
    t.same(checkTrial(record), []);

    const cleaned: IncarnationRecord = {
      ...killed,
      logText: jsonl([
        ...b1,
        { ts: 1899, t: 'cleanup', c: 'iha', sid: S1, reason: 'socketIoError', detail: 'endOfStream' },
      ]),
    };
    t.ok(
      checkTrial({ ...record, incarnations: [r.incarnations[0]!, cleaned, second] }).some(
        (v) => v.rule === 'cleanup-count',
      ),
      'a killed side that cleaned up is reported',
    );
  });

  t.test('a fault that must keep the session: no cleanup allowed until the stop', async (t) => {
    const s = clean();
    const r = trial({ ...s, fault: { kind: 'stall-reader', target: 'a', settledAt: 1950 } });
    t.ok(rules(r).includes('unexpected-cleanup'), 'the switchover-like end of S1 is unexpected after a stall');
  });

  t.test('derives the expected reasons from the peer semantics', async (t) => {
    const f = (kind: FaultRecord['kind'], target: 'a' | 'b' | null, applied = true): FaultRecord => ({
      kind,
      target,
      params: {},
      rolesBefore: { a: 'master', b: 'backup' },
      sessionBefore: { a: S1, b: S1 },
      applied,
      text: '',
      startedAt: 0,
      clearedAt: 0,
      settledAt: 0,
    });
    t.same(expectedEnd(f('kill-master', 'a'), 'a'), { end: 'killed' });
    t.same(expectedEnd(f('kill-master', 'a'), 'b'), {
      end: 'cleanup',
      allowed: ['socketIoError/endOfStream', 'socketIoError/connectionReset'],
    });
    t.same(expectedEnd(f('peer-down', 'b'), 'b'), { end: 'cleanup', allowed: ['peerDown/clusterMemberLost'] });
    t.same(expectedEnd(f('peer-down', 'a'), 'a'), { end: 'cleanup', allowed: ['peerDown/clusterMemberLost'] });
    t.same(expectedEnd(f('deconfigure', 'a'), 'b'), { end: 'cleanup', allowed: ['nsrDeconfigured/none'] });
    t.same(expectedEnd(f('garbage', 'b'), 'b'), { end: 'cleanup', allowed: ['socketIoError/protocolError'] });
    t.same(expectedEnd(f('stall-writer', 'a'), 'a'), { end: 'survive' });
    t.same(
      expectedEnd(f('reset', null, false), 'a'),
      { end: 'survive' },
      'a fault that did not take effect changes nothing',
    );
  });
});

t.test('traffic bodies: intact ones pass, any change is caught', async (t) => {
  for (const client of TRAFFIC_CLIENTS) {
    for (const seq of [0, 1, 77, 4095]) {
      const input = makeTrafficMessage(client, { node: 2, inc: 3, seq }, 1500);
      const bytes = encodeMessage(input);
      const check = checkTrafficMessage(decodeMessage(bytes) as KnownMessage, 1500);
      t.match(check, { client, node: 2, inc: 3, seq, ok: true }, `${client} #${seq} whole`);
      // Flip one byte of the body: the message still decodes (or not), but never passes.
      for (const at of [bytes.byteLength - 1, 16 + Math.floor((bytes.byteLength - 16) / 2)]) {
        const bad = Uint8Array.from(bytes);
        bad[at] = bad[at]! ^ 0x5a;
        let decoded: KnownMessage | undefined;
        try {
          decoded = decodeMessage(bad) as KnownMessage;
        } catch {
          continue;
        }
        const c = checkTrafficMessage(decoded, 1500);
        t.match(c, { client, ok: false }, `${client} #${seq} with byte ${at} changed is caught`);
      }
    }
  }
});

t.test('trial seeds and kinds', async (t) => {
  t.equal(trialSeed(99, 0), 99, 'trial 0 runs with the run seed, so --trials 1 --seed S replays it');
  t.not(trialSeed(99, 1), trialSeed(99, 2));
  const firsts = Array.from({ length: FAULT_KINDS.length }, (_, i) => trialKinds(i, 5, FAULT_KINDS)[0]);
  t.same([...firsts].sort(), [...FAULT_KINDS].sort(), 'the first faults of n trials are the n kinds');
  t.equal(recoveryBoundMs(CHAOS_TIMING), 2460, 'bound: 1000 + 2 × 400 × 1.2 + 500');
});

t.test('the command', async (t) => {
  const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await chaosMain(
      args,
      (s) => (out += s),
      (s) => (err += s),
    );
    return { code, out, err };
  };
  t.test('--help and usage errors', async (t) => {
    const help = await run(['--help']);
    t.equal(help.code, 0);
    t.match(help.out, /--trials N/);
    const bad = await run(['--kinds', 'explode']);
    t.equal(bad.code, 2);
    t.match(bad.err, /unknown fault kind "explode"/);
    t.equal((await run(['--trials', 'x'])).code, 2);
    t.equal((await run(['--peer-fault', 'nonsense'])).code, 2);
  });

  t.test(
    'a peer with a broken cleanup reason fails the run, which prints the replay and keeps the files',
    async (t) => {
      const r = await run([
        '--trials',
        '1',
        '--seed',
        '3',
        '--faults',
        'deconfigure',
        '--peer-fault',
        'ignoreShutdownReason',
      ]);
      t.equal(r.code, 1, r.out);
      t.match(
        r.out,
        /rule 3 cleanup-reason: b1: session \d+ cleaned up with socketIoError\/none after fault 1 \(deconfigure aimed at a\); expected nsrDeconfigured\/none/,
      );
      t.match(
        r.out,
        /replay with {2}npm run chaos -- --trials 1 --seed 3 --faults deconfigure --peer-fault ignoreShutdownReason/,
      );
      const files = /files: (\S+kkcm-chaos-\S+)\/t0/.exec(r.out);
      t.ok(files !== null && existsSync(join(files[1]!, 't0', 'trial.json')), "the failed trial's files are kept");
      if (files !== null) rmSync(files[1]!, { recursive: true, force: true });
    },
  );

  t.test('--json: the report object', async (t) => {
    const r = await run(['--trials', '1', '--seed', '11', '--faults', 'reset', '--json']);
    t.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as Record<string, unknown>;
    t.match(report, { trials: 1, seed: 11, faults: { reset: 1 }, violations: [], boundMs: 2460, netns: false });
  });
});

t.test('50 trials with a fixed seed: no violation, every fault kind took effect', async (t) => {
  const report = await runChaos({ trials: 50, seed: 20260601, onTrial: (r) => t.comment(trialLine(r).trimEnd()) });
  t.comment(
    `${report.trials} trials in ${(report.durationMs / 1000).toFixed(0)} s; faults ${JSON.stringify(report.faults)}; recovery max ${report.recoveryMs.max} ms`,
  );
  t.same(report.violations, [], 'no violation');
  for (const kind of FAULT_KINDS)
    t.ok((report.faults[kind] ?? 0) >= 1, `${kind} took effect (${report.faults[kind] ?? 0} times)`);
  t.ok(
    report.messages.confirmed > 0 && report.messages.delivered > 0,
    `traffic: ${report.messages.delivered} delivered, ${report.messages.confirmed} confirmed`,
  );
  t.same(report.failed, []);
});

t.test('across two network namespaces joined by veth', async (t) => {
  const report = await runChaos({
    trials: 4,
    seed: 20260602,
    netns: true,
    kinds: ['kill-master', 'reset', 'garbage', 'partial-close'],
  });
  if (typeof report.netns === 'string') {
    t.comment(`network namespaces: ${report.netns}`);
    t.plan(0, `network namespaces are not permitted here: ${report.netns}`);
    return;
  }
  t.equal(report.netns, true);
  t.same(report.violations, [], 'no violation');
  t.same(Object.keys(report.faults).sort(), ['garbage', 'kill-master', 'partial-close', 'reset']);
});
