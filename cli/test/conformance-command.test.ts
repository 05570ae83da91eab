import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packageRoot } from '../../spec/src/index.js';
import { CASES } from '../../conformance/src/catalog.js';
import type { ConformanceReport, PeerRole } from '../../conformance/src/report.js';
import { type MainRun, runMain } from './run-main.js';

const run = (argv: string[]): Promise<MainRun> => runMain(argv);

const dir = mkdtempSync(join(tmpdir(), 'kkcm-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const schema = JSON.parse(readFileSync(join(packageRoot(), 'conformance', 'report.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
/** The peer CLI, from source, as a shell command line. */
const peerCmd = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(join(packageRoot(), 'cli', 'src', 'run.ts'))} peer --conformance-probe --periodic-ms 50`;

t.test('--list prints the catalogue, as text and as JSON', async (t) => {
  const text = await run(['conformance', '--list']);
  t.equal(text.code, 0);
  t.match(text.out, /framing\.magic\.bad +MUST/);
  const json = JSON.parse((await run(['conformance', '--list', '--format', 'json', '--tag', 'probe'])).out) as {
    id: string;
    tags: string[];
  }[];
  t.ok(json.length > 3 && json.every((c) => c.tags.includes('probe')));
});

t.test('usage errors exit 2', async (t) => {
  t.equal((await run(['conformance', '--case', 'no.such.case'])).code, 2);
  t.equal((await run(['conformance', '--format', 'pdf'])).code, 2);
  t.equal((await run(['conformance', '--exec', 'true'])).code, 2, '--exec needs --role');
  t.equal((await run(['conformance', '--connect', 'nowhere'])).code, 2);
  t.equal((await run(['conformance', '--connect', 'a:1', '--listen', 'b:2'])).code, 2);
  t.equal((await run(['conformance', '--level', 'OFTEN'])).code, 2);
  t.equal((await run(['conformance', '--seed', '-3'])).code, 2);
  t.equal((await run(['conformance', '--role', 'leader'])).code, 2);
});

t.test('a selected run writes a JSON report that validates against the published schema', async (t) => {
  const out = join(dir, 'report.json');
  const r = await run([
    'conformance',
    '--case',
    'framing.*',
    '--case',
    'control.echo.exact',
    '--format',
    'json',
    '--out',
    out,
    '--seed',
    '42',
  ]);
  t.equal(r.code, 0, r.err);
  const report = JSON.parse(readFileSync(out, 'utf8')) as ConformanceReport;
  t.ok(validate(report), JSON.stringify(validate.errors));
  t.equal(report.seed, 42);
  t.equal(report.summary.pass, report.cases.length);
  t.ok(report.cases.some((c) => c.role === 'backup') && report.cases.some((c) => c.role === 'master'), 'both roles');
});

t.test('JUnit and TAP reports come out in their formats', async (t) => {
  const junit = await run(['conformance', '--case', 'control.echo.exact', '--role', 'master', '--format', 'junit']);
  t.match(junit.out, /^<\?xml[^>]*\?>\s*<testsuites/);
  t.match(junit.out, /testcase[^>]+control\.echo\.exact/);
  const tap = await run(['conformance', '--case', 'control.echo.exact', '--role', 'master', '--format', 'tap']);
  t.match(tap.out, /^TAP version 14/);
  t.match(tap.out, /^ok 1 /m);
});

t.test('a stale expected-failures entry fails the run; a listed failing case becomes xfail', async (t) => {
  const stale = join(dir, 'stale.txt');
  writeFileSync(stale, 'control.echo.exact  # we thought echo was broken\n');
  const r = await run([
    'conformance',
    '--case',
    'control.echo.exact',
    '--role',
    'master',
    '--expected-failures',
    stale,
    '--format',
    'json',
  ]);
  const report = JSON.parse(r.out) as ConformanceReport;
  t.equal(report.summary.xpass, 1, 'a listed case that passes is xpass');
  t.equal(r.code, 1);
});

t.test('a baseline turns known failures into xfail and keeps regressions failing', async (t) => {
  const base = join(dir, 'base.json');
  await run(['conformance', '--case', 'control.echo.exact', '--role', 'master', '--format', 'json', '--out', base]);
  const r = await run([
    'conformance',
    '--case',
    'control.echo.exact',
    '--role',
    'master',
    '--baseline',
    base,
    '--format',
    'json',
  ]);
  t.equal(r.code, 0);
  t.equal((JSON.parse(r.out) as ConformanceReport).summary.pass, 1);
});

/**
 * Skips allowed in an --exec run, with the reason each must give: none. The suite launched
 * the peer, so it can stop it (control.shutdown.on-deliberate-close runs); the peer offers
 * the conformance probe and deliveryAck (no feature skip); it reports its periodic interval
 * (50 ms). A case that starts to skip here is a regression, not noise.
 */
const EXEC_SKIPS: Readonly<Record<string, RegExp>> = {};

/**
 * Runs every case of the catalogue for `role` against the reference peer launched by
 * --exec, and checks the report case by case against the catalogue. No case is excluded:
 * the peer and the suite agree on a 1000 ms handshake timeout, so the handshake-timeout
 * cases run in about two seconds each instead of waiting out the spec's 5000 ms default.
 */
async function execRun(t: Test, role: PeerRole, peerArgs: string): Promise<void> {
  const r = await run([
    'conformance',
    '--exec',
    `${peerCmd} --handshake-timeout-ms 1000 ${peerArgs}`,
    '--role',
    role,
    '--handshake-timeout',
    '1000',
    '--format',
    'json',
  ]);
  const report = JSON.parse(r.out) as ConformanceReport;
  // The side cluster topology gives the role (no --side): the master listens, the backup connects.
  const side = role === 'master' ? 'listen' : 'connect';
  const expected = CASES.filter(
    (c) => c.roles.includes(role) && (c.sides ?? [side]).includes(side) && c.topologies === undefined,
  ).map((c) => c.id);
  t.ok(expected.length > 0, `the catalogue has ${role} cases`);
  t.same(
    report.cases.map((c) => c.id),
    expected,
    `the report holds exactly the catalogue's ${expected.length} ${role} cases, in order`,
  );
  const skipped = report.cases.filter((c) => c.verdict === 'skip');
  t.same(
    skipped.map((c) => c.id),
    Object.keys(EXEC_SKIPS).filter((id) => expected.includes(id)),
    'the skips are exactly the allowed ones',
  );
  for (const c of skipped) t.match(c.reason, EXEC_SKIPS[c.id]!, `${c.id} skips for its known reason`);
  // A case that does not pass here is a regression or a race: its transcript says which.
  for (const c of report.cases.filter((x) => x.verdict !== 'pass' && x.verdict !== 'skip'))
    t.comment(
      `${c.id} [${c.role}] ${c.verdict}: ${c.observed ?? c.reason ?? ''}\n${JSON.stringify(c.transcript ?? [], null, 1)}`,
    );
  t.same(
    report.cases
      .filter((c) => c.verdict !== 'pass' && c.verdict !== 'skip')
      .map((c) => `${c.id}: ${c.verdict} ${c.observed ?? c.reason ?? ''}`),
    [],
    'every other case passes',
  );
  t.equal(report.summary.pass, expected.length - skipped.length, 'the summary counts every pass');
  t.equal(report.summary.skip, skipped.length, 'the summary counts the skips');
  t.equal(r.code, 0, 'exit code 0: the peer conforms');
  t.match(report.target, /^exec /);
}

t.test('the reference peer as its own process passes every master case through --exec (the suite connects)', (t) =>
  execRun(t, 'master', '--role master --listen 127.0.0.1:{port}'),
);

t.test(
  'the reference peer as its own process passes every backup case through --exec (the peer connects to the suite)',
  (t) => execRun(t, 'backup', '--role backup --connect 127.0.0.1:{port}'),
);
