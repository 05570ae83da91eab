/**
 * Fleet runs as a library: the targets file in its three forms and its errors, the bounded
 * pool, target and fleet verdicts, the requirements × targets rows, and the matrix rendered
 * as JSON (valid against the published schema, Ajv strict), JUnit and text. No peer runs
 * here; cli/test/conformance-fleet.test.ts runs a real fleet.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packageRoot } from '../../spec/src/index.js';
import { emptySummary, type CaseResult, type ConformanceReport, type Verdict } from '../src/report.js';
import {
  countVerdicts,
  fleetExitCode,
  fleetLine,
  matrixRows,
  renderMatrixJson,
  targetVerdictOf,
  type FleetTargetResult,
  type MatrixReport,
} from '../src/fleet/matrix-report.js';
import { fleetFiles, renderMatrixHuman, renderMatrixJunit } from '../src/fleet/render-matrix.js';
import { renderMatrixHtml } from '../src/fleet/matrix-html.js';
import { boundedAll, startOrder, targetSpecOf } from '../src/fleet/run-fleet.js';
import { loadTargets, parseTargets, TargetsFileError } from '../src/fleet/targets-file.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-fleet-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function caseResult(id: string, verdict: Verdict, requirements: string[], extra: Partial<CaseResult> = {}): CaseResult {
  return {
    id,
    title: id,
    requirements,
    level: 'MUST',
    role: 'master',
    channels: ['send'],
    tags: [],
    verdict,
    durationMs: 3,
    rerun: `npx kkcm conformance --case ${id}`,
    ...extra,
  };
}

function report(cases: CaseResult[], problems: string[] = []): ConformanceReport {
  const summary = emptySummary();
  for (const c of cases) summary[c.verdict]++;
  const mustNotRun = cases.filter((c) => c.level === 'MUST' && c.verdict === 'skip').map((c) => `${c.id} (${c.role})`);
  return {
    tool: 'kkcm',
    version: '0.1.0',
    specVersion: '1.0',
    target: 'connect 127.0.0.1:7000',
    seed: 0,
    startedAt: '2026-01-02T03:04:05.678Z',
    durationMs: 10,
    summary,
    conforming: summary.fail === 0 && summary.error === 0 && summary.xpass === 0 && problems.length === 0,
    mustNotRun,
    cases,
    problems,
  };
}

t.test('the line form: words, quotes, comments and options', async (t) => {
  const targets = parseTargets(
    [
      '# name  kind     address                       role    options',
      'lab-re0  connect  10.0.0.1:7000                 master  timeout-scale=2 # the lab router',
      '',
      "vendor.x exec     './peer --listen 127.0.0.1:{port}' master handshake-timeout=1000 expected-failures=xf.txt",
      'lab-re1  listen   [::1]:7001                    backup',
    ].join('\n'),
    join(dir, 'fleet.txt'),
  );
  t.same(
    targets.map((x) => [x.name, x.kind, x.address, x.role]),
    [
      ['lab-re0', 'connect', '10.0.0.1:7000', 'master'],
      ['vendor.x', 'exec', './peer --listen 127.0.0.1:{port}', 'master'],
      ['lab-re1', 'listen', '[::1]:7001', 'backup'],
    ],
  );
  t.same(targets[0]!.options, { timeoutScale: 2 });
  t.same(targets[1]!.options, { handshakeTimeoutMs: 1000, expectedFailures: join(dir, 'xf.txt') });
  t.same(targetSpecOf(targets[2]!), { kind: 'listen', host: '::1', port: 7001 });
  t.same(targetSpecOf(targets[1]!), { kind: 'exec', command: './peer --listen 127.0.0.1:{port}', role: 'master' });
});

t.test('the JSON and YAML forms give the same targets as the line form', async (t) => {
  const line = parseTargets('a connect 127.0.0.1:1 master case-timeout=500\nb exec "p {port}" backup', 'f.txt');
  const json = parseTargets(
    JSON.stringify({
      targets: [
        { name: 'a', kind: 'connect', address: '127.0.0.1:1', role: 'master', options: { 'case-timeout': 500 } },
        { name: 'b', kind: 'exec', command: 'p {port}', role: 'backup' },
      ],
    }),
    'f.json',
  );
  const yamlFile = join(dir, 'fleet.yaml');
  writeFileSync(
    yamlFile,
    [
      '- name: a',
      '  kind: connect',
      '  address: 127.0.0.1:1',
      '  role: master',
      '  options: { case-timeout: 500 }',
      '- { name: b, kind: exec, address: "p {port}", role: backup }',
    ].join('\n'),
  );
  t.same(json, line);
  t.same(loadTargets(yamlFile), line);
});

t.test('a bad targets file is one TargetsFileError naming the place', async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ['', 'f.txt', /no target/],
    ['a connect 127.0.0.1:1', 'f.txt', /f\.txt:1: want "name kind address role/],
    ['a connect nowhere master', 'f.txt', /connect wants HOST:PORT/],
    ['a dial 127.0.0.1:1 master', 'f.txt', /kind wants connect, listen or exec/],
    ['a connect 127.0.0.1:1 backup', 'f.txt', /plays the master/],
    ['a listen 127.0.0.1:7 master', 'f.txt', /plays the backup/],
    ['a exec "x {port} master', 'f.txt', /unclosed "/],
    ['a connect 127.0.0.1:1 master colour=red', 'f.txt', /unknown option colour/],
    ['a connect 127.0.0.1:1 master case-timeout=-1', 'f.txt', /case-timeout wants a positive integer/],
    ['a connect 127.0.0.1:1 master tls-cert=c.pem', 'f.txt', /TLS needs tls-cert, tls-key and tls-ca/],
    ['a/b connect 127.0.0.1:1 master', 'f.txt', /may hold only letters/],
    ['a connect 127.0.0.1:1 master\na connect 127.0.0.1:2 master', 'f.txt', /two targets are named a/],
    ['a listen 0.0.0.0:7 backup\nb listen 0.0.0.0:7 backup', 'f.txt', /two listen targets on 0\.0\.0\.0:7/],
    ['[1,', 'f.json', /not valid JSON/],
    ['{"targets": 3}', 'f.json', /want a list of targets/],
    ['[3]', 'f.json', /target 1 is not a map/],
    ['- [a', 'f.yaml', /not valid YAML/],
  ];
  for (const [text, file, message] of bad) {
    const err = (() => {
      try {
        parseTargets(text, file);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(err instanceof TargetsFileError, `${JSON.stringify(text)} is refused`);
    t.equal((err as TargetsFileError).code, 'ERR_TARGETS_FILE');
    t.match((err as Error).message, message);
  }
  t.doesNotThrow(
    () => parseTargets('a listen 127.0.0.1:0 backup\nb listen 127.0.0.1:0 backup', 'f.txt'),
    'port 0 is a fresh port each time',
  );
  t.throws(() => loadTargets(join(dir, 'missing.txt')), { code: 'ERR_TARGETS_FILE' });
});

t.test('the pool runs at most `jobs` items at once and keeps the order of results', async (t) => {
  const gates: Array<() => void> = [];
  let running = 0;
  let most = 0;
  const done = boundedAll([1, 2, 3, 4, 5], 2, async (n) => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return n * 10;
  });
  // Release the items one by one; each release lets the next one start.
  for (let released = 0; released < 5; released++) {
    await new Promise((r) => setImmediate(r));
    t.ok(gates.length > released, `item ${released + 1} has started`);
    gates[released]!();
  }
  t.same(await done, [10, 20, 30, 40, 50]);
  t.equal(most, 2, 'two at a time, never more');
});

t.test('the pool starts items in the order it is given and returns results in the items order', async (t) => {
  const started: number[] = [];
  const results = await boundedAll(
    ['a', 'b', 'c', 'd'],
    1,
    async (item, i) => {
      started.push(i);
      return item.toUpperCase();
    },
    [2, 0, 3, 1],
  );
  t.same(started, [2, 0, 3, 1]);
  t.same(results, ['A', 'B', 'C', 'D']);
});

t.test('exec targets start first (longest expected first), ties in file order', async (t) => {
  const targets = parseTargets(
    [
      'nowhere connect 127.0.0.1:1 master',
      'lab listen 127.0.0.1:0 backup',
      "one exec 'peer --port {port}' master",
      'router connect 10.0.0.1:7000 master',
      "two exec 'peer --connect {port}' backup",
    ].join('\n'),
    'f.txt',
  );
  t.same(
    startOrder(targets).map((i) => targets[i]!.name),
    ['one', 'two', 'nowhere', 'lab', 'router'],
  );
});

t.test('a target verdict follows the single-run exit code; unreachable when no case was judged', async (t) => {
  const pass = caseResult('a.b', 'pass', ['KKCM-FRM-1']);
  t.same(targetVerdictOf(report([pass])), { verdict: 'conforming', exitCode: 0 });
  t.same(targetVerdictOf(report([pass, caseResult('a.c', 'fail', ['KKCM-FRM-2'])])), {
    verdict: 'not-conforming',
    exitCode: 1,
  });
  t.same(targetVerdictOf(report([pass], ['stale expected failure'])), { verdict: 'not-conforming', exitCode: 1 });
  t.same(targetVerdictOf(report([pass, caseResult('a.c', 'error', [])])), { verdict: 'error', exitCode: 3 });
  t.same(targetVerdictOf(report([caseResult('a.c', 'error', []), caseResult('a.d', 'error', [])])), {
    verdict: 'unreachable',
    exitCode: 3,
  });
  const skipped = report([pass, caseResult('a.c', 'skip', ['KKCM-FRM-2'])]);
  t.same(targetVerdictOf(skipped), { verdict: 'incomplete', exitCode: 4 });
  t.same(targetVerdictOf(skipped, true), { verdict: 'conforming', exitCode: 0 });
});

t.test('the fleet exit code ranks 1 over 3 over 4 over 0', async (t) => {
  const codes = (...c: number[]): number => fleetExitCode(c.map((exitCode) => ({ exitCode })));
  t.equal(codes(0, 0), 0);
  t.equal(codes(0, 4), 4);
  t.equal(codes(4, 3, 0), 3);
  t.equal(codes(3, 1, 4), 1);
  t.equal(codes(), 0);
});

/** A fleet of four: one conforming, one failing KKCM-FRM-2 (and a violation of KKCM-SEQ-1), one errored, one unreachable. */
function fleet(): { matrix: MatrixReport; reports: Map<string, ConformanceReport> } {
  const reports = new Map<string, ConformanceReport>([
    ['good', report([caseResult('a.b', 'pass', ['KKCM-FRM-1']), caseResult('a.c', 'pass', ['KKCM-FRM-2'])])],
    [
      'bad',
      report([
        caseResult('a.b', 'pass', ['KKCM-FRM-1']),
        caseResult('a.c', 'fail', ['KKCM-FRM-2'], {
          violated: ['KKCM-SEQ-1'],
          expected: 'ERROR',
          observed: '<close> & "nothing"',
        }),
      ]),
    ],
    ['flaky', report([caseResult('a.b', 'error', ['KKCM-FRM-1'], { reason: 'gone' }), caseResult('a.c', 'pass', [])])],
  ]);
  const base = { kind: 'connect', address: '127.0.0.1:7000', role: 'master', durationMs: 5 } as const;
  const listed: FleetTargetResult[] = [
    { ...base, name: 'good', verdict: 'conforming', verdictLine: 'CONFORMING', exitCode: 0 },
    { ...base, name: 'bad', verdict: 'not-conforming', verdictLine: 'NOT CONFORMING', exitCode: 1 },
    {
      ...base,
      name: 'flaky',
      verdict: 'error',
      verdictLine: 'NOT CONFORMING (1 cases could not be judged)',
      exitCode: 3,
    },
    {
      ...base,
      name: 'gone',
      address: '127.0.0.1:1',
      verdict: 'unreachable',
      verdictLine: 'UNREACHABLE: ECONNREFUSED',
      reason: 'ECONNREFUSED',
      exitCode: 3,
    },
  ];
  const targets = listed.map((x) => (reports.has(x.name) ? { ...x, summary: reports.get(x.name)!.summary } : x));
  return {
    reports,
    matrix: {
      tool: 'kkcm',
      version: '0.1.0',
      specVersion: '1.0',
      startedAt: '2026-01-02T03:04:05.678Z',
      durationMs: 20,
      jobs: 2,
      exitCode: fleetExitCode(targets),
      counts: countVerdicts(targets),
      targets,
      requirements: matrixRows(targets, reports),
    },
  };
}

t.test('the matrix rows fold each target’s cases per requirement, the oracle’s violations included', async (t) => {
  const { matrix } = fleet();
  t.same(
    matrix.requirements.map((r) => [r.id, r.verdicts]),
    [
      ['KKCM-FRM-1', { good: 'pass', bad: 'pass', flaky: 'error' }],
      ['KKCM-FRM-2', { good: 'pass', bad: 'fail' }],
      ['KKCM-SEQ-1', { bad: 'fail' }],
    ],
  );
  t.ok(
    matrix.requirements.every((r) => r.text !== '' && r.level === 'MUST'),
    'texts and levels come from the spec',
  );
  t.equal(matrix.exitCode, 1);
  t.equal(fleetLine(matrix), '1 of 4 targets conforming; 1 not conforming; 1 unreachable; 1 error');
});

t.test('the JSON matrix validates against conformance/matrix.schema.json (Ajv strict)', async (t) => {
  const schema = JSON.parse(readFileSync(join(packageRoot(), 'conformance', 'matrix.schema.json'), 'utf8')) as object;
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
  const { matrix, reports } = fleet();
  const json = JSON.parse(renderMatrixJson(matrix)) as unknown;
  t.ok(validate(json), JSON.stringify(validate.errors));
  const written = JSON.parse(fleetFiles({ matrix, reports }).get('matrix.json')!) as MatrixReport;
  t.ok(validate(written), JSON.stringify(validate.errors));
  t.same(written.targets[0]!.files, ['good.html', 'good.json'], 'the matrix names each target’s files');
  t.notOk('files' in written.targets[3]!, 'an unreachable target has no report file');
  t.notOk(validate({ ...matrix, exitCode: 2 }), 'a usage error is no fleet exit code');
  t.notOk(
    validate({ ...matrix, targets: [{ ...matrix.targets[0]!, name: 'a/b' }] }),
    'a name that is not a file name is refused',
  );
});

t.test('the JUnit matrix has one testsuite per target and keeps targets apart', async (t) => {
  const { matrix, reports } = fleet();
  const xml = renderMatrixJunit(matrix, reports);
  t.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kkcm conformance fleet" tests="7" failures="1" errors="2" skipped="0"/,
  );
  t.same(
    [...xml.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]),
    ['good', 'bad', 'flaky', 'gone'],
  );
  t.match(
    xml,
    /<testcase name="a\.c" classname="bad\.master"[^>]*>\s*<failure message="expected ERROR; observed &lt;close&gt; &amp; &quot;nothing&quot;"/,
  );
  t.match(
    xml,
    /<testcase name="reachability" classname="gone\.master"[^>]*>\s*<error message="UNREACHABLE: ECONNREFUSED" type="unreachable">/,
  );
  t.match(xml, /<property name="verdict" value="not-conforming"\/>/);
  t.notMatch(xml, /<close>/, 'peer text is escaped');
});

t.test('the text matrix names each target and the requirements not met everywhere', async (t) => {
  const text = renderMatrixHuman(fleet().matrix);
  t.match(text, /^kkcm conformance fleet: 4 targets, 2 at a time/);
  t.match(text, /\n {2}bad +connect +master +NOT CONFORMING +\(1 pass, 1 fail\)/);
  t.match(text, /\n {2}gone +connect +master +UNREACHABLE: ECONNREFUSED/);
  t.match(
    text,
    /Requirements not met everywhere:\n {2}KKCM-FRM-1 +flaky: error\n {2}KKCM-FRM-2 +bad: fail\n {2}KKCM-SEQ-1 +bad: fail\n/,
  );
  t.match(text, /1 of 4 targets conforming; 1 not conforming; 1 unreachable; 1 error \(exit 1\)\n$/);
});

t.test('the HTML matrix is one self-contained page with every target and requirement', async (t) => {
  const { matrix, reports } = fleet();
  const html = fleetFiles({ matrix, reports }).get('matrix.html')!;
  t.equal(
    html,
    renderMatrixHtml({ ...matrix, targets: JSON.parse(fleetFiles({ matrix, reports }).get('matrix.json')!).targets }),
  );
  t.match(html, /Content-Security-Policy" content="default-src 'none'/);
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'no external resource');
  t.match(html, /<a href="bad\.html">bad\.html<\/a>/);
  t.equal([...html.matchAll(/<tr data-id="kkcm-/g)].length, 3, 'one row per requirement');
  t.match(html, /<tr data-id="kkcm-frm-2" data-not-met="true">/);
  t.match(html, /<tr data-id="kkcm-frm-1" data-not-met="true">/);
});
