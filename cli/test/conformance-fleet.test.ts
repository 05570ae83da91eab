/**
 * `kkcm conformance --targets FILE --jobs N --out DIR` against a real fleet of five (issue 12):
 * three reference peers as processes (exec master, exec backup, a backup that connects to a
 * listen target), a mutant peer process and an address where nothing listens. The matrix,
 * its exit code and every target's verdict are checked, and so are the report files. Two
 * cases per target keep it short; bench/fleet.ts times the same fleet.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packageRoot } from '../../spec/src/index.js';
import type { MatrixReport } from '../../conformance/src/fleet/matrix-report.js';
import type { ConformanceReport } from '../../conformance/src/report.js';
import { freePort, KkcmProcess } from '../../reference-impl/test/processes.js';
import { FLEET_CASES, FLEET_MUTANT, fleetTargetsFile, listenPeerArgs } from './fleet-targets.js';
import { kkcm, KKCM_RUNS, processExists, until } from './kkcm-process.js';
import { type MainRun, runMain } from './run-main.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-fleet-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]): Promise<MainRun> => runMain(['conformance', ...argv]);

function schema(name: string): object {
  return JSON.parse(readFileSync(join(packageRoot(), 'conformance', name), 'utf8')) as object;
}

t.test('a fleet of five: three reference peers, a mutant, an unreachable address', async (t) => {
  const port = await freePort();
  const file = join(dir, 'fleet.txt');
  writeFileSync(file, fleetTargetsFile(port));
  // The backup retries until the fleet run listens for it.
  const backup = new KkcmProcess(t, listenPeerArgs(port));
  const out = join(dir, 'reports', 'fleet');
  const r = await run([
    '--targets',
    file,
    '--jobs',
    '3',
    ...FLEET_CASES.flatMap((c) => ['--case', c]),
    '--out',
    out,
    '--format',
    'json',
  ]);

  t.equal(r.code, 1, 'exit 1: a target is not conforming');
  const matrix = JSON.parse(r.out) as MatrixReport;
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema('matrix.schema.json'));
  t.ok(validate(matrix), JSON.stringify(validate.errors));
  t.same(
    Object.fromEntries(matrix.targets.map((x) => [x.name, x.verdict])),
    {
      'ref-master': 'conforming',
      'ref-backup': 'conforming',
      'ref-listen': 'conforming',
      mutant: 'not-conforming',
      nowhere: 'unreachable',
    },
    'each target has its verdict',
  );
  t.same(
    matrix.targets.map((x) => x.role),
    ['master', 'backup', 'backup', 'master', 'master'],
  );
  t.same(matrix.counts, { conforming: 3, incomplete: 0, 'not-conforming': 1, unreachable: 1, error: 0 });
  t.equal(matrix.jobs, 3);
  const nowhere = matrix.targets.find((x) => x.name === 'nowhere')!;
  t.match(nowhere.reason, /cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
  t.notOk('summary' in nowhere, 'the suite did not run against it');
  for (const x of matrix.targets.filter((y) => y.name !== 'nowhere'))
    t.equal(x.summary?.pass, x.name === 'mutant' ? 1 : 2, `${x.name}: its cases ran`);

  const broken = matrix.requirements.find((row) => row.id === FLEET_MUTANT.breaks)!;
  t.same(
    broken.verdicts,
    { 'ref-master': 'pass', 'ref-backup': 'pass', 'ref-listen': 'pass', mutant: 'fail' },
    `${FLEET_MUTANT.breaks}: the mutant fails it, the reference peers pass it, the unreachable target has no cell`,
  );

  t.same(
    readdirSync(out).sort(),
    [
      'matrix.html',
      'matrix.json',
      'matrix.xml',
      ...['mutant', 'ref-backup', 'ref-listen', 'ref-master'].flatMap((n) => [`${n}.html`, `${n}.json`]),
    ].sort(),
    'the folder was created and holds the matrix and one report per reached target',
  );
  t.same(JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')), matrix, 'matrix.json is what was printed');
  const report = new Ajv2020({ allErrors: true, strictTypes: false }).compile(schema('report.schema.json'));
  for (const name of ['mutant', 'ref-backup', 'ref-listen', 'ref-master']) {
    const one = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as ConformanceReport;
    t.ok(report(one), `${name}.json is a valid report: ${JSON.stringify(report.errors)}`);
  }
  const mutant = JSON.parse(readFileSync(join(out, 'mutant.json'), 'utf8')) as ConformanceReport;
  t.equal(mutant.cases.find((c) => c.id === 'framing.magic.bad')?.verdict, 'fail', 'the mutant fails its killer');
  const junit = readFileSync(join(out, 'matrix.xml'), 'utf8');
  t.same(
    [...junit.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]),
    ['ref-master', 'ref-backup', 'ref-listen', 'mutant', 'nowhere'],
    'JUnit: one testsuite per target',
  );
  t.match(readFileSync(join(out, 'matrix.html'), 'utf8'), /<a href="mutant\.html">/);

  t.equal(r.err.match(/nowhere/g)?.length, 2, 'the unreachable target is two progress lines: started, unreachable');
  t.match(r.err, /kkcm conformance: nowhere: UNREACHABLE: cannot connect to 127\.0\.0\.1:1/);
  t.ok(backup.running, 'the listen target’s peer is still running');
});

t.test('a fleet run refuses bad command lines with exit 2', async (t) => {
  const file = join(dir, 'one.txt');
  writeFileSync(file, 'nowhere connect 127.0.0.1:1 master\n');
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, 'nowhere connect 127.0.0.1:1 backup\n');
  const cases: Array<[string[], RegExp]> = [
    [['--targets', bad], /bad\.txt:1: a connect target listens, so it plays the master/],
    [['--targets', join(dir, 'missing.txt')], /cannot read .*missing\.txt/],
    [['--targets', file, '--connect', '127.0.0.1:2'], /--targets takes no --connect/],
    [['--targets', file, '--jobs', '0'], /--jobs wants an integer of at least 1/],
    [['--targets', file, '--format', 'tap'], /--format with --targets wants human, json, junit, html/],
    [['--jobs', '2'], /--jobs goes with --targets FILE/],
    [['--targets', file, '--case', 'session.backup.reconnects'], /matches no case in the role of nowhere/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, 2, `${argv.join(' ')} exits 2`);
    t.match(r.err, message);
  }
});

t.test('a fleet of one unreachable target is one line and exit 3', async (t) => {
  const file = join(dir, 'gone.txt');
  writeFileSync(file, 'nowhere connect 127.0.0.1:1 master\n');
  const r = await run(['--targets', file, '--case', 'control.echo.exact']);
  t.equal(r.code, 3);
  t.match(r.out, /nowhere +connect +master +UNREACHABLE: cannot connect to 127\.0\.0\.1:1/);
  t.match(r.out, /0 of 1 targets conforming; 1 unreachable \(exit 3\)\n$/);
});

t.test('an --out folder that cannot be written: the matrix on stdout, one line, exit 5', async (t) => {
  const file = join(dir, 'gone-out.txt');
  writeFileSync(file, 'nowhere connect 127.0.0.1:1 master\n');
  writeFileSync(join(dir, 'a-file'), '');
  const r = await run([
    '--targets',
    file,
    '--case',
    'control.echo.exact',
    '--format',
    'json',
    '--out',
    join(dir, 'a-file', 'reports'),
  ]);
  t.equal(r.code, 5, 'exit 5, as a single run whose --out cannot be written');
  const matrix = JSON.parse(r.out) as MatrixReport;
  t.equal(matrix.targets[0]?.verdict, 'unreachable', 'the finished run is on stdout');
  t.equal(matrix.exitCode, 3, 'the matrix keeps the fleet’s own verdict');
  const written = r.err.split('\n').filter((l) => /could not write/.test(l));
  t.equal(written.length, 1, r.err);
  t.match(written[0], /could not write the reports to .*a-file.*ENOTDIR.*standard output/);
  t.notMatch(r.err, /internal error|\n\s+at /, 'no stack trace');
});

t.test('SIGTERM during a fleet run ends every peer it launched, and says so', async (t) => {
  t.comment(KKCM_RUNS.why);
  const pids = ['a', 'b'].map((n) => join(dir, `${n}.pid`));
  const file = join(dir, 'sleepers.txt');
  // Two "peers" that never connect: each run waits in its first case until it is interrupted.
  writeFileSync(file, ['a', 'b'].map((n, i) => `${n} exec 'echo $$ > ${pids[i]}; exec sleep 600' backup\n`).join(''));
  const written = (): boolean => pids.every((p) => existsSync(p) && readFileSync(p, 'utf8').trim() !== '');
  const r = await kkcm(['conformance', '--targets', file, '--jobs', '2', '--case', 'framing.magic.bad'], (child) => {
    void until(written, 30000).then(() => child.kill('SIGTERM'));
  });
  t.equal(r.code, 143, r.err);
  t.match(r.err, /interrupted by SIGTERM; stopped the peers it launched \(process group \d+, \d+\)/);
  for (const p of pids) {
    const pid = Number(readFileSync(p, 'utf8').trim());
    t.ok(pid > 0);
    t.ok(await until(() => !processExists(pid), 10000), `the launched peer (pid ${pid}) is gone`);
  }
});
