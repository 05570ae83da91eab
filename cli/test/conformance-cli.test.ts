/**
 * `kkcm conformance` where users run it, inside scripts and CI: the CLI as a real child
 * process (the built bin/kkcm.js when dist/ is current, see kkcm-process.ts) with pipes,
 * signals and missing folders, and in process where a terminal is needed (issue 12).
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.js';
import type { Io } from '../src/io.js';
import type { ConformanceReport } from '../../conformance/src/report.js';
import { kkcm, KKCM_RUNS, processExists, until } from './kkcm-process.js';

t.comment(KKCM_RUNS.why);
const dir = mkdtempSync(join(tmpdir(), 'kkcm-cli-conf-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function inProcess(argv: string[], isTty: boolean): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    stdin: async () => Buffer.alloc(0),
    isTty,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

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
  const before = process.env.TERM;
  process.env.TERM = 'dumb';
  t.teardown(() => {
    if (before === undefined) delete process.env.TERM;
    else process.env.TERM = before;
  });
  const r = await inProcess(['conformance', '--case', 'framing.magic.bad', '--role', 'master'], true);
  t.equal(r.code, 0, r.err);
  t.notMatch(r.out, '\x1b[2K', 'no line clearing');
  t.notMatch(r.out, '\r', 'no carriage returns');
  t.match(r.out, /pass\s+framing\.magic\.bad \[master\]/);
});
