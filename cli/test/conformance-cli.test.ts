/**
 * `kkcm conformance` where users run it, inside scripts and CI: the CLI as a real child
 * process (the built bin/kkcm.js when dist/ is current, see kkcm-process.ts) with pipes,
 * signals and missing folders, and in process where a terminal is needed (issue 12).
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Io } from '../src/io.js';
import type { ConformanceReport } from '../../conformance/src/report.js';
import { kkcm, KKCM_RUNS, processExists, until } from './kkcm-process.js';
import { type MainRun, runMain } from './run-main.js';

t.comment(KKCM_RUNS.why);
const dir = mkdtempSync(join(tmpdir(), 'kkcm-cli-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const inProcess = (argv: string[], isTty: boolean, every?: Io['every']): Promise<MainRun> =>
  runMain(argv, { isTty, every });

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

t.test('piped to another program, the report is printed once', async (t) => {
  const r = await kkcm(['conformance', '--case', 'framing.magic.*']);
  t.equal(r.code, 0, r.err);
  const caseLines = lines(r.out).filter((l) => l.includes('framing.magic.bad [master]'));
  t.equal(caseLines.length, 1, 'the case line appears once');
  t.equal(lines(r.out).filter((l) => l.includes('CONFORMING')).length, 1, 'the summary appears once');
});

t.test('--out creates missing folders; an unwritable --out still delivers the report', async (t) => {
  const out = join(dir, 'reports', 'ci', 'kkcm.xml');
  const ok = await kkcm(['conformance', '--case', 'framing.magic.*', '--format', 'junit', '--out', out]);
  t.equal(ok.code, 0, ok.err);
  t.ok(existsSync(out), 'the report file exists');
  t.match(readFileSync(out, 'utf8'), /^<\?xml/);

  writeFileSync(join(dir, 'a-file'), '');
  const bad = await kkcm([
    'conformance',
    '--case',
    'framing.magic.*',
    '--format',
    'json',
    '--out',
    join(dir, 'a-file', 'r.json'),
  ]);
  t.equal(bad.code, 5, 'exit 5: finished, but the report could not be written');
  t.notMatch(bad.err, /internal error|\n\s+at /, 'no stack trace');
  t.match(bad.err, /could not write .*a-file.*standard output/);
  const report = JSON.parse(bad.out) as ConformanceReport;
  t.equal(report.cases.length, 2, 'the finished run is on stdout');
});

t.test('a target that cannot be reached at all is one line and exit 3', async (t) => {
  const refused = await kkcm(['conformance', '--connect', '127.0.0.1:1']);
  t.equal(refused.code, 3);
  t.equal(refused.out, '');
  t.same(lines(refused.err).length, 1, refused.err);
  t.match(refused.err, /cannot reach the peer at 127\.0\.0\.1:1/);

  const missing = await kkcm(['conformance', '--exec', './no-such-peer --port {port}', '--role', 'master']);
  t.equal(missing.code, 3);
  t.equal(missing.out, '');
  t.same(lines(missing.err).length, 1, missing.err);
  t.match(missing.err, /could not start the target/);
});

t.test('--listen says where it listens and stops after the first case when no peer comes', async (t) => {
  const r = await kkcm([
    'conformance',
    '--listen',
    '127.0.0.1:0',
    '--case',
    'framing.magic.bad',
    '--case-timeout',
    '1000',
  ]);
  t.equal(r.code, 3);
  const [first, second, ...rest] = lines(r.err);
  t.match(first, /^kkcm conformance: listening on 127\.0\.0\.1:(\d+), start your peer$/);
  t.not(/:(\d+),/.exec(first ?? '')?.[1], '0', 'the real port, not 0');
  t.match(second, /no peer connected to 127\.0\.0\.1:\d+ during the first case/);
  t.same(rest, []);
});

t.test('an --exec peer that should connect and never does is one line and exit 3', async (t) => {
  const pidFile = join(dir, 'silent.pid');
  // It starts and stays up, but never connects to the suite.
  const exec = `echo $$ > ${pidFile}; exec sleep 30`;
  const r = await kkcm([
    'conformance',
    '--exec',
    exec,
    '--role',
    'backup',
    '--case',
    'framing.magic.bad',
    '--case-timeout',
    '1000',
  ]);
  t.equal(r.code, 3, r.err);
  t.equal(r.out, '');
  t.same(lines(r.err).length, 1, r.err);
  t.match(r.err, /the peer launched by --exec never connected to the suite during the first case/);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  t.ok(pid > 0);
  t.ok(await until(() => !processExists(pid), 10000), `the launched peer (pid ${pid}) is gone`);
});

/** An `Io.every` that never waits: the test fires the ticks itself; a stopped timer's ticks do nothing. */
function manualTimer(): {
  every: NonNullable<Io['every']>;
  ticks: Array<() => void>;
  periods: number[];
  stops: number;
} {
  const timer = {
    ticks: [] as Array<() => void>,
    periods: [] as number[],
    stops: 0,
    every: (ms: number, tick: () => void) => {
      let stopped = false;
      timer.periods.push(ms);
      timer.ticks.push(() => {
        if (!stopped) tick();
      });
      return () => {
        stopped = true;
        timer.stops += 1;
      };
    },
  };
  return timer;
}

function withTerm(t: Test, term: string): void {
  const before = process.env.TERM;
  process.env.TERM = term;
  t.teardown(() => {
    if (before === undefined) delete process.env.TERM;
    else process.env.TERM = before;
  });
}

t.test('--listen on a terminal says every 5 s that it still waits for the peer', async (t) => {
  withTerm(t, 'xterm');
  const timer = manualTimer();
  const argv = ['conformance', '--listen', '127.0.0.1:0', '--case', 'framing.magic.bad', '--case-timeout', '1000'];
  const run = inProcess(argv, true, timer.every);
  // Two beats while the first case waits for a peer that never comes.
  t.ok(await until(() => timer.ticks.length === 1, 30000), 'the heartbeat was scheduled');
  timer.ticks[0]!();
  timer.ticks[0]!();
  const r = await run;
  t.equal(r.code, 3, r.err);
  t.same(timer.periods, [5000], 'every 5000 ms');
  const port = /listening on 127\.0\.0\.1:(\d+), start your peer/.exec(r.err)?.[1];
  t.ok(port !== undefined && port !== '0', r.err);
  const beats = lines(r.out).map((l) => /still waiting for your peer on 127\.0\.0\.1:(\d+) \((\d+) s\)/.exec(l));
  t.same(
    beats.filter((m) => m !== null).map((m) => [m[1], m[2]]),
    [
      [port, '5'],
      [port, '10'],
    ],
    'one line per beat, with the real port and the time waited',
  );
  t.ok(timer.stops >= 1, 'the heartbeat is stopped when the run ends');
});

t.test('--listen has no heartbeat when piped or on TERM=dumb', async (t) => {
  const argv = ['conformance', '--listen', '127.0.0.1:0', '--case', 'framing.magic.bad', '--case-timeout', '1000'];
  const piped = manualTimer();
  const r = await inProcess(argv, false, piped.every);
  t.equal(r.code, 3, r.err);
  t.same(piped.periods, [], 'piped: no heartbeat scheduled');

  withTerm(t, 'dumb');
  const dumb = manualTimer();
  const d = await inProcess(argv, true, dumb.every);
  t.equal(d.code, 3, d.err);
  t.same(dumb.periods, [], 'TERM=dumb: no heartbeat scheduled');
});

t.test('SIGTERM ends the peer the suite launched, and says so', async (t) => {
  const pidFile = join(dir, 'peer.pid');
  // A "peer" that never connects: the run waits in its first case until it is interrupted.
  const exec = `echo $$ > ${pidFile}; exec sleep 600`;
  const r = await kkcm(['conformance', '--exec', exec, '--role', 'backup', '--case', 'framing.magic.bad'], (child) => {
    void until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 30000).then(() =>
      child.kill('SIGTERM'),
    );
  });
  t.equal(r.code, 143, r.err);
  t.match(r.err, /interrupted by SIGTERM; stopped the peer it launched/);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  t.ok(pid > 0);
  t.ok(await until(() => !processExists(pid), 10000), `the launched peer (pid ${pid}) is gone`);
});

t.test('live lines carry the verdict after expected failures apply', async (t) => {
  const expected = join(dir, 'expected.txt');
  writeFileSync(expected, 'framing.magic.bad@master\n');
  const r = await inProcess(
    ['conformance', '--case', 'framing.magic.bad', '--role', 'master', '--expected-failures', expected],
    false,
  );
  t.equal(r.code, 1, 'an unexpected pass fails the run');
  t.match(r.out, /xpass\s+framing\.magic\.bad \[master\]/);
  t.notMatch(r.out, /✓ pass\s+framing\.magic\.bad/, 'never shown as a plain pass');
});

t.test('TERM=dumb gets plain lines, no cursor redraws', async (t) => {
  withTerm(t, 'dumb');
  const r = await inProcess(['conformance', '--case', 'framing.magic.bad', '--role', 'master'], true);
  t.equal(r.code, 0, r.err);
  t.notMatch(r.out, '\x1b[2K', 'no line clearing');
  t.notMatch(r.out, '\r', 'no carriage returns');
  t.match(r.out, /pass\s+framing\.magic\.bad \[master\]/);
});
