import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  applyBaseline,
  applyExpectations,
  ExpectationsError,
  loadBaseline,
  loadExpectedFailures,
  parseExpectedFailures,
  reportViolations,
  summarize,
} from '../src/expectations.js';
import { emptySummary, type CaseResult, type ConformanceReport, type PeerRole, type Verdict } from '../src/report.js';
import { renderJson } from '../src/reporters/json.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-expectations-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function result(id: string, verdict: Verdict, role: PeerRole = 'master', reason?: string): CaseResult {
  return {
    id,
    title: id,
    requirements: ['KKCM-SESS-1'],
    level: 'MUST',
    role,
    channels: ['send'],
    tags: [],
    verdict,
    durationMs: 5,
    rerun: `kkcm conformance --case ${id}`,
    ...(reason === undefined ? {} : { reason }),
    ...(verdict === 'fail' || verdict === 'warn' ? { expected: 'an ACK', observed: 'nothing' } : {}),
  };
}

function report(cases: CaseResult[]): ConformanceReport {
  const summary = summarize(cases);
  return {
    tool: 'kkcm',
    version: '0.1.0',
    specVersion: '1.0.0',
    target: 'embedded',
    seed: 0,
    startedAt: '2025-01-02T03:04:05Z',
    durationMs: 100,
    summary,
    conforming: summary.fail + summary.error + summary.xpass === 0,
    mustNotRun: [],
    cases,
    problems: [],
  };
}

const expectationsError = { name: 'ExpectationsError', code: 'ERR_BAD_EXPECTATIONS' };

t.test('parseExpectedFailures', async (t) => {
  t.test('reads ids, globs, roles and reasons, skipping comments and blank lines', async (t) => {
    const parsed = parseExpectedFailures(
      [
        '# expected failures of my-peer',
        '',
        'handshake.version.overlap   # only v1 (issue #12)',
        '  framing.split.*@backup',
        'session.?.close@master # close',
        'a.b\t# tab before the comment',
        '',
      ].join('\n'),
      'peer.expected',
    );
    t.equal(parsed.source, 'peer.expected');
    t.same(parsed.entries, [
      { pattern: 'handshake.version.overlap', reason: 'only v1 (issue #12)', where: 'peer.expected:3' },
      { pattern: 'framing.split.*', role: 'backup', reason: '', where: 'peer.expected:4' },
      { pattern: 'session.?.close', role: 'master', reason: 'close', where: 'peer.expected:5' },
      { pattern: 'a.b', reason: 'tab before the comment', where: 'peer.expected:6' },
    ]);
  });

  t.test('accepts CRLF line ends and an empty file', async (t) => {
    t.same(
      parseExpectedFailures('a.b\r\nc.d # why\r\n').entries.map((e) => [e.pattern, e.reason]),
      [
        ['a.b', ''],
        ['c.d', 'why'],
      ],
    );
    t.same(parseExpectedFailures('').entries, []);
  });

  t.test('rejects malformed lines with a usage error naming file and line', async (t) => {
    const bad: Array<[string, RegExp]> = [
      ['a.b c.d', /^x:1: one case id per line/],
      ['a.b@primary', /^x:1: unknown role "primary"/],
      ['a.b@', /^x:1: unknown role ""/],
      ['a.b@master@backup', /^x:1: expected CASE-ID\[@ROLE\]/],
      ['@master', /^x:1: expected CASE-ID\[@ROLE\]/],
      ['a.b#c', /^x:1: "a.b#c" is not a case id or glob/],
      ['a.b\na.b # again', /^x:2: duplicate entry "a.b" \(first at x:1\)/],
    ];
    for (const [text, message] of bad)
      t.throws(() => parseExpectedFailures(text, 'x'), { ...expectationsError, message }, JSON.stringify(text));
    t.same(
      parseExpectedFailures('a.b\na.b@master').entries.length,
      2,
      'the same id for one role and for both is not a duplicate',
    );
  });
});

t.test('loadExpectedFailures reads a file and turns a missing one into a usage error', async (t) => {
  const path = join(dir, 'expected.txt');
  writeFileSync(path, 'a.b # known\n');
  t.same(loadExpectedFailures(path).entries, [{ pattern: 'a.b', reason: 'known', where: `${path}:1` }]);
  t.throws(() => loadExpectedFailures(join(dir, 'nope.txt')), {
    ...expectationsError,
    message: /cannot read expected failures .*nope\.txt: ENOENT/,
  });
});

t.test('applyExpectations', async (t) => {
  const expected = parseExpectedFailures(
    [
      'a.fail # bug 1',
      'a.error',
      'a.pass # bug 3',
      'b.* # family',
      'c.only@backup',
      'old.case # fixed long ago',
      'd.skip',
    ].join('\n'),
    'exp',
  );

  t.test('turns listed failures into xfail and listed passes into xpass', async (t) => {
    const results = [
      result('a.fail', 'fail'),
      result('a.error', 'error', 'master', 'peer is gone'),
      result('a.pass', 'pass'),
      result('b.one', 'fail'),
      result('b.two', 'warn'),
      result('c.only', 'fail', 'master'),
      result('c.only', 'fail', 'backup'),
      result('d.skip', 'skip', 'master', 'not offered'),
      result('z.other', 'fail'),
    ];
    const before = JSON.stringify(results);
    const out = applyExpectations(results, expected);
    t.same(
      out.cases.map((c) => c.verdict),
      ['xfail', 'xfail', 'xpass', 'xfail', 'warn', 'fail', 'xfail', 'skip', 'fail'],
    );
    t.equal(out.cases[0]!.reason, 'bug 1 (exp:1)');
    t.equal(
      out.cases[1]!.reason,
      'listed as an expected failure (exp:2); error: peer is gone',
      'an error keeps its own reason',
    );
    t.equal(out.cases[2]!.reason, 'passed, but expected to fail: bug 3 (exp:3)');
    t.equal(out.cases[3]!.reason, 'family (exp:4)', 'a glob matches');
    t.equal(out.cases[5], results[5], 'a role-bound entry leaves the other role alone');
    t.same(out.cases[0]!.observed, 'nothing', 'expected and observed are kept');
    t.equal(JSON.stringify(results), before, 'the input is not changed');
    t.same(out.problems, ['stale expected failure old.case (exp:6) matches no case: remove it']);
    const summary = summarize(out.cases);
    t.equal(summary.xpass, 1, 'the unexpected pass is counted, so the run is not conforming');
  });

  t.test('an entry that matched a warned or skipped case is not stale', async (t) => {
    const out = applyExpectations(
      [result('d.skip', 'skip', 'master', 'n/a'), result('b.x', 'warn')],
      parseExpectedFailures('d.skip\nb.*'),
    );
    t.same(out.problems, []);
  });

  t.test('the first matching entry wins, and later ones that matched are not stale', async (t) => {
    const out = applyExpectations([result('a.b', 'fail')], parseExpectedFailures('a.* # first\na.b # second', 'e'));
    t.equal(out.cases[0]!.reason, 'first (e:1)');
    t.same(out.problems, []);
  });

  t.test('with the catalogue ids, entries for cases this run did not select are not stale', async (t) => {
    const out = applyExpectations([result('a.fail', 'fail')], expected, {
      knownIds: ['a.fail', 'a.error', 'a.pass', 'b.one', 'c.only', 'd.skip'],
    });
    t.same(out.problems, ['stale expected failure old.case (exp:6) matches no case: remove it']);
  });

  t.test('glob characters match as globs, everything else literally', async (t) => {
    const exp = parseExpectedFailures('a.b?c\nx-y/z:*');
    const out = applyExpectations([result('a.bXc', 'fail'), result('aZbXc', 'fail'), result('x-y/z:1.2', 'fail')], exp);
    t.same(
      out.cases.map((c) => c.verdict),
      ['xfail', 'fail', 'xfail'],
      '"." is not a regex wildcard',
    );
  });
});

t.test('applyBaseline', async (t) => {
  const baseline = report([
    result('known.fail', 'fail'),
    result('known.error', 'error', 'master', 'gone'),
    result('known.xfail', 'xfail', 'master', 'listed'),
    result('was.pass', 'pass'),
    result('was.warn', 'warn'),
    result('was.skip', 'skip', 'master', 'n/a'),
    result('fixed.now', 'fail'),
    result('fixed.warn', 'error', 'master', 'gone'),
    result('role.bound', 'fail', 'master'),
  ]);

  t.test('fails only on regressions', async (t) => {
    const results = [
      result('known.fail', 'fail'),
      result('known.error', 'error', 'master', 'timeout'),
      result('known.xfail', 'fail'),
      result('was.pass', 'fail'),
      result('was.warn', 'error', 'master', 'gone'),
      result('was.skip', 'fail'),
      result('brand.new', 'fail'),
      result('fixed.now', 'pass'),
      result('fixed.warn', 'warn'),
      result('role.bound', 'fail', 'backup'),
    ];
    const before = JSON.stringify(results);
    const out = applyBaseline(results, baseline);
    t.same(
      out.cases.map((c) => c.verdict),
      ['xfail', 'xfail', 'xfail', 'fail', 'error', 'fail', 'fail', 'pass', 'warn', 'fail'],
    );
    t.equal(out.cases[0]!.reason, 'known in baseline');
    t.equal(out.cases[1]!.reason, 'known in baseline; error: timeout');
    t.equal(out.cases[3], results[3], 'a regression is left as it is');
    t.equal(out.cases[6], results[6], 'a new case is judged normally');
    t.equal(out.cases[9], results[9], 'a failure in the other role is not the same case');
    t.same(out.problems, [
      'regression: was.pass [master] was pass in the baseline, is fail now',
      'regression: was.warn [master] was warn in the baseline, is error now',
    ]);
    t.same(out.improvements, [
      { id: 'fixed.now', role: 'master', was: 'fail', now: 'pass' },
      { id: 'fixed.warn', role: 'master', was: 'error', now: 'warn' },
    ]);
    t.equal(JSON.stringify(results), before, 'the input is not changed');
  });

  t.test('a run identical to its baseline has no problems and no improvements', async (t) => {
    const out = applyBaseline(
      baseline.cases.filter((c) => c.verdict !== 'xfail'),
      baseline,
    );
    t.same(out.problems, []);
    t.same(out.improvements, []);
    t.equal(summarize(out.cases).fail + summarize(out.cases).error, 0, 'every known failure is an expected one');
  });
});

t.test('summarize counts every verdict', async (t) => {
  t.same(summarize([]), emptySummary());
  t.same(summarize([result('a', 'pass'), result('b', 'pass'), result('c', 'xpass')]), {
    ...emptySummary(),
    pass: 2,
    xpass: 1,
  });
});

t.test('loadBaseline', async (t) => {
  t.test('reads a JSON report', async (t) => {
    const path = join(dir, 'baseline.json');
    const r = report([result('a.b', 'fail'), result('c.d', 'pass')]);
    writeFileSync(path, renderJson(r));
    t.same(loadBaseline(path), JSON.parse(renderJson(r)));
  });

  t.test('refuses a missing file, bad JSON and a file that is not a report', async (t) => {
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{"tool":');
    const notReport = join(dir, 'other.json');
    writeFileSync(notReport, JSON.stringify({ tool: 'kkcm', cases: [] }));
    t.throws(() => loadBaseline(join(dir, 'missing.json')), {
      ...expectationsError,
      message: /cannot read baseline .*: ENOENT/,
    });
    t.throws(() => loadBaseline(notJson), {
      ...expectationsError,
      message: /cannot read baseline .*bad\.json: .*JSON/,
    });
    t.throws(() => loadBaseline(notReport), {
      ...expectationsError,
      message: /is not a kkcm conformance report: \/: must have required property 'version'/,
    });
    t.ok(new ExpectationsError('x') instanceof Error);
  });

  t.test('reportViolations lists where a value breaks the schema', async (t) => {
    t.same(reportViolations(report([])), []);
    t.match(reportViolations({ ...report([]), seed: -1 }), ['/seed: must be >= 0']);
  });
});
