import t from 'tap';
import { loadSpec } from '../../spec/src/index.js';
import { defineCase, type ConformanceCase } from '../src/cases/case.js';
import { CASES, casesFor, globToRegExp, provokedBy, selectCases, uncoveredMusts, UNPROVOKED } from '../src/catalog.js';
import { CaseFailure, CaseSkip } from '../src/harness/context.js';
import { EmptySelectionError, runConformance } from '../src/runner.js';
import { MUTANTS } from '../mutants/mutants.js';

t.test('every MUST requirement of the spec is checked by at least one case', async (t) => {
  t.same(uncoveredMusts(), []);
  for (const r of loadSpec().requirements.filter((x) => x.level === 'MUST')) t.ok(casesFor(r.id).length > 0, r.id);
});

t.test(
  'every wire error code and HELLO-REJECT reason of the spec is provoked by a case, or listed with its reason',
  async (t) => {
    const byKey = provokedBy();
    const spec = loadSpec();
    t.ok(byKey.has('ERR_BAD_COUNT') && byKey.has('channelBusy'), 'codes and reasons are both listed');
    for (const [key, cases] of byKey) {
      if (key in UNPROVOKED)
        t.same(cases, [], `${key} is listed as unprovoked: no case may provoke it (${UNPROVOKED[key]!})`);
      else t.ok(cases.length > 0, `${key} is provoked by ${cases.join(', ') || 'no case'}`);
    }
    for (const key of Object.keys(UNPROVOKED)) t.ok(byKey.has(key), `${key} is a code or reason of the spec`);
    const known = new Set([...byKey.keys()]);
    for (const c of CASES)
      for (const k of c.provokes ?? []) t.ok(known.has(k), `${c.id} provokes ${k}, a wire code or reject reason`);
    t.equal(spec.errors.filter((e) => e.wire).length + (spec.enums.rejectReason?.values.length ?? 0), byKey.size);
  },
);

t.test('every case that sends a probe message declares it needs the probe', async (t) => {
  for (const c of CASES) {
    if (c.needs?.includes('conformanceProbe') === true) continue;
    t.notMatch(c.run.toString(), /name: 'probe\./, `${c.id} sends no probe message`);
  }
  const report = await runConformance({
    catalogue: [
      fake('self.undeclared-probe', 'MUST', async (ctx) => {
        const s = await ctx.session();
        s.send.send({ name: 'probe.queryTicks', body: { token: 1 } });
      }),
    ],
    selection: { roles: ['master'] },
  });
  t.match(report.cases[0], { verdict: 'error', reason: /does not declare needs: \['conformanceProbe'\]/ });
});

t.test(
  'a peer without the conformance probe conforms in both roles; probe cases are skipped with the reason',
  async (t) => {
    const probeCases = CASES.filter((c) => c.needs?.includes('conformanceProbe') === true).map((c) => c.id);
    const report = await runConformance({
      target: { kind: 'embedded', customize: (o) => ({ ...o, conformanceProbe: false }) },
      selection: { cases: ['control.ack.cumulative', 'control.echo.exact', 'dispatch.probe.echo', 'periodic.ticks'] },
    });
    t.ok(probeCases.includes('dispatch.probe.echo') && !probeCases.includes('control.ack.cumulative'));
    t.same(
      report.summary,
      { pass: 4, fail: 0, warn: 0, skip: 4, xfail: 0, xpass: 0, error: 0 },
      JSON.stringify(report.cases.filter((c) => c.verdict !== 'pass' && c.verdict !== 'skip')),
    );
    for (const c of report.cases.filter((x) => x.verdict === 'skip'))
      t.match(c.reason, /does not offer the conformance probe/, `${c.id} (${c.role}) says why`);
    t.equal(report.conforming, true);
    t.same(report.mustNotRun, [
      'dispatch.probe.echo (master)',
      'periodic.ticks (master)',
      'dispatch.probe.echo (backup)',
      'periodic.ticks (backup)',
    ]);
  },
);

t.test('an empty selection is a usage error, not a conforming run', async (t) => {
  await t.rejects(runConformance({ selection: { cases: ['no.such.*'] } }), { code: 'ERR_EMPTY_SELECTION' });
  await t.rejects(
    runConformance({ selection: { cases: ['handshake.backup.timeout'], roles: ['master'] } }),
    EmptySelectionError,
    'a case of the other role only',
  );
});

t.test('a violation the oracle sees fails the requirement it breaks, whatever the case checks', async (t) => {
  // Every ECHO-REPLY the peer writes has its last payload byte inverted: KKCM-CTL-1 is broken.
  const report = await runConformance({
    target: {
      kind: 'embedded',
      roles: ['master'],
      customize: (o) => MUTANTS.find((m) => m.name === 'echo-payload-altered')!.customize(o),
    },
    selection: { cases: ['framing.coalesced.many-in-one-write'] },
  });
  const [r] = report.cases;
  t.match(r, { id: 'framing.coalesced.many-in-one-write', verdict: 'fail', violated: ['KKCM-CTL-1'] });
  t.match(r?.expected, /^KKCM-CTL-1: ECHO-REPLY token \d+ with exactly the 1-byte payload sent/);
  t.ok(r?.violatedTexts?.[0]?.startsWith('MUST: A peer answers ECHO-REQUEST'));
});

t.test('case ids are unique, dotted and meaningful; every case names known requirements', async (t) => {
  const ids = CASES.map((c) => c.id);
  t.equal(new Set(ids).size, ids.length);
  const known = new Set(loadSpec().requirements.map((r) => r.id));
  for (const c of CASES) {
    t.match(c.id, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/, c.id);
    t.ok(c.requirements.length > 0 && c.requirements.every((r) => known.has(r)), `${c.id} names known requirements`);
    t.ok(c.roles.length > 0 && c.channels.length > 0 && c.tags.length > 0, `${c.id} has roles, channels and tags`);
    const musts = c.requirements.some((r) => loadSpec().requirements.find((x) => x.id === r)?.level === 'MUST');
    t.equal(c.level === 'MUST', musts, `${c.id}: level MUST exactly when it checks a MUST`);
  }
});

t.test('selection by id, glob, tag, level, exclusion and role', async (t) => {
  t.same(
    selectCases({ cases: ['framing.magic.bad'] }).cases.map((c) => c.id),
    ['framing.magic.bad'],
  );
  t.ok(selectCases({ cases: ['framing.*'] }).cases.every((c) => c.id.startsWith('framing.')));
  t.same(selectCases({ cases: ['no.such.case'] }).unknown, ['no.such.case']);
  t.ok(selectCases({ tags: ['probe'] }).cases.every((c) => c.tags.includes('probe')));
  t.ok(selectCases({ levels: ['SHOULD'] }).cases.every((c) => c.level === 'SHOULD'));
  t.notOk(selectCases({ exclude: ['framing.*'] }).cases.some((c) => c.id.startsWith('framing.')));
  t.ok(selectCases({ roles: ['backup'] }).cases.every((c) => c.roles.includes('backup')));
  t.ok(globToRegExp('a.?c').test('a.bc'));
  t.notOk(globToRegExp('a.b').test('axb'), 'dots are literal');
});

t.test('the embedded reference peer passes a selection in both roles', async (t) => {
  const seen: string[] = [];
  const report = await runConformance({
    selection: {
      cases: [
        'handshake.binding.two-channels',
        'framing.magic.bad',
        'dispatch.probe.burst-order',
        'cleanup.shutdown.peer-down',
      ],
    },
    onCaseEnd: (r) => seen.push(`${r.role}:${r.id}:${r.verdict}`),
  });
  t.equal(
    report.summary.pass,
    8,
    JSON.stringify(
      report.cases.filter((c) => c.verdict !== 'pass'),
      null,
      1,
    ),
  );
  t.equal(report.conforming, true);
  t.equal(report.tool, 'kkcm');
  t.equal(report.target, 'embedded reference peer');
  t.equal(seen.length, 8);
  t.match(report.cases[0]?.rerun, /^npx kkcm conformance --case \S+ --role (master|backup)$/);
});

const fake = (id: string, level: 'MUST' | 'SHOULD', run: ConformanceCase['run']): ConformanceCase =>
  defineCase({
    id,
    title: id,
    requirements: [level === 'MUST' ? 'KKCM-FRM-1' : 'KKCM-SESS-10'],
    level,
    roles: ['master'],
    channels: ['send'],
    tags: ['self-test'],
    run,
  });

t.test(
  'verdicts: pass, fail with expected and observed, warn for SHOULD, skip with reason, error for a harness fault',
  async (t) => {
    const catalogue = [
      fake('self.pass', 'MUST', async (ctx) => {
        const s = await ctx.session();
        await ctx.barrier(s.send);
        ctx.endSession(s);
      }),
      fake('self.fail', 'MUST', () => Promise.reject(new CaseFailure('the sky to be blue', 'it is green'))),
      fake('self.warn', 'SHOULD', () => Promise.reject(new CaseFailure('politeness', 'rudeness'))),
      fake('self.skip', 'MUST', () => Promise.reject(new CaseSkip('not today'))),
      fake('self.error', 'MUST', () => Promise.reject(new Error('the harness tripped'))),
      fake('self.slow', 'MUST', () => new Promise(() => undefined)),
    ];
    const report = await runConformance({
      catalogue,
      target: { kind: 'embedded' },
      selection: { roles: ['master'] },
      caseTimeoutMs: 300,
    });
    const by = Object.fromEntries(report.cases.map((c) => [c.id, c]));
    t.equal(by['self.pass']?.verdict, 'pass');
    t.match(by['self.fail'], { verdict: 'fail', expected: 'the sky to be blue', observed: 'it is green' });
    t.ok(
      (by['self.fail']?.requirementTexts?.[0] ?? '').startsWith('MUST: A receiver reassembles'),
      'requirement texts are aligned with the requirement ids',
    );
    t.equal(by['self.warn']?.verdict, 'warn');
    t.match(by['self.skip'], { verdict: 'skip', reason: 'not today' });
    t.match(by['self.error'], { verdict: 'error', reason: /harness error: the harness tripped/ });
    t.match(
      by['self.slow'],
      { verdict: 'fail', observed: /nothing within 300 ms/ },
      'the per-case budget ends a hung case',
    );
    t.equal(report.conforming, false);
    t.same(report.summary, { pass: 1, fail: 2, warn: 1, skip: 1, xfail: 0, xpass: 0, error: 1 });
  },
);

t.test('a seed shuffles the order reproducibly; repeat runs cases again', async (t) => {
  const catalogue = ['a', 'b', 'c', 'd', 'e'].map((x) =>
    fake(`self.${x}`, 'MUST', () => Promise.reject(new CaseSkip('order only'))),
  );
  const order = async (seed: number): Promise<string> =>
    (await runConformance({ catalogue, seed, selection: { roles: ['master'] } })).cases.map((c) => c.id).join();
  const a = await order(7);
  t.equal(await order(7), a);
  t.not(a, catalogue.map((c) => c.id).join(), 'not the catalogue order');
  const rep = await runConformance({ catalogue: catalogue.slice(0, 1), repeat: 3, selection: { roles: ['master'] } });
  t.equal(rep.cases.length, 3);
});

t.test('an unreachable peer gives error verdicts, not a crash', async (t) => {
  const report = await runConformance({
    target: { kind: 'connect', host: '127.0.0.1', port: 1 },
    selection: { cases: ['handshake.binding.two-channels', 'framing.magic.bad'] },
    timeoutScale: 0.2,
  });
  t.equal(report.conforming, false);
  t.ok(
    report.cases.every((c) => c.verdict === 'error'),
    JSON.stringify(report.cases.map((c) => [c.verdict, c.reason])),
  );
});
