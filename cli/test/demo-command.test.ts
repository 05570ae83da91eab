import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MainRun, runMain } from './run-main.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEADLINE_MS = 60_000;

const run = (argv: string[], isTty = false): Promise<MainRun> => runMain(argv, { isTty });

/** Open TCP handles (sockets and servers) of this process. */
const tcpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

t.test('the demo walks through every cleanup reason on both sides and closes everything', async (t) => {
  const before = tcpHandles();
  const r = await run(['demo', '--seconds', '1']);
  t.equal(r.code, 0, r.err);
  t.equal(r.err, '');
  t.notOk(r.out.includes('\x1b['), 'no terminal escapes when not a TTY');
  t.match(
    r.out,
    /dual-RE chassis: re0 \(slot 0, master\) listens on 127\.0\.0\.1:\d+; re1 \(slot 1, backup\) connects/,
  );
  t.match(
    r.out,
    /^\[ *\d+\.\ds\] re0 (?:master|backup)\/\w+ tx \d+ rx iha \d+ sdrl \d+ psrm \d+ prl \d+/m,
    'plain counter lines',
  );
  for (const [step, reason] of [
    [1, 'switchover'],
    [2, 'socketIoError'],
    [3, 'peerDown'],
    [4, 'nsrDeconfigured'],
  ] as const) {
    const section = r.out.split(`step ${step}/4`)[1]?.split('\n').slice(1, 3).join('\n') ?? '';
    t.match(
      section,
      new RegExp(`re0 .*: iha, sdrl, psrm, prl: ${reason} \\(`),
      `step ${step}: every client of re0 saw ${reason}`,
    );
    t.match(
      section,
      new RegExp(`re1 .*: iha, sdrl, psrm, prl: ${reason} \\(`),
      `step ${step}: every client of re1 saw ${reason}`,
    );
  }
  t.match(r.out, /re0 \(master -> backup\): .*switchover \(manualSwitchover\)/, 'the switchover swaps the roles');
  t.match(r.out, /re1 \(backup -> master\): /);
  t.match(r.out, /before the switchover: re0 \(master\) listens, re1 \(backup\) connects\n/, 'who listens before');
  t.match(
    r.out,
    /step 1\/4[^]*session up again: re1 master, re0 backup; re0 \(backup\) listens, re1 \(master\) connects\n/,
    'after the switchover re0, now the backup, listens and re1, now the master, connects',
  );
  t.match(r.out, /after the switchover: re0 \(now backup\) still listens\n/);
  t.notMatch(r.out, /re1 \(\w+\) listens|re0 \(\w+\) connects/, 're0 listens through every step');
  t.match(r.out, /1\. switchover: +re0 switchover, re1 switchover\n/);
  t.match(r.out, /2\. socket I\/O error: +re0 socketIoError, re1 socketIoError\n/);
  t.match(r.out, /3\. peer down: +re0 peerDown, re1 peerDown\n/);
  t.match(r.out, /4\. NSR deconfigured: +re0 nsrDeconfigured, re1 nsrDeconfigured\n/);
  t.match(
    r.out,
    /re0: sent \d+ .*sessions up 4 down 4, cleanups switchover 4, socketIoError 4, peerDown 4, nsrDeconfigured 4/,
  );
  t.equal(tcpHandles(), before, 'no socket or server left open');
});

t.test('on a terminal the view is redrawn in place', async (t) => {
  const r = await run(['demo', '--seconds', '0.5', '--no-failover'], true);
  t.equal(r.code, 0, r.err);
  t.ok(r.out.includes('\x1b[3F\x1b[J'), 'cursor up over the table, clear to the end of the screen');
  t.match(r.out, /node +role +state +tx +iha +sdrl +psrm +prl +confirmed/);
  t.notMatch(r.out, /step 1\/4/, '--no-failover: no scenario');
  t.match(r.out, /final counters/);
});

t.test('demo usage errors exit 2', async (t) => {
  for (const argv of [
    ['demo', '--seconds', 'soon'],
    ['demo', '--seconds', '0'],
    ['demo', '--seconds', '-1'],
    ['demo', 'now'],
    ['demo', '--fast'],
  ]) {
    const r = await run(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, /kkcm demo --help/);
  }
});

t.test('as a process, the demo exits 0 by itself (no leaked handles)', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/src/run.ts', 'demo', '--seconds', '1'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  let exited = false;
  t.teardown(() => {
    if (!exited) child.kill('SIGKILL');
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    new Promise<number | null>((resolve) =>
      child.once('exit', (c) => {
        exited = true;
        resolve(c);
      }),
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still running'), DEADLINE_MS);
    }),
  ]);
  clearTimeout(timer);
  t.equal(code, 0, 'exited by itself with 0');
  t.match(out, /4\. NSR deconfigured/);
});
