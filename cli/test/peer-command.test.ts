import t from 'tap';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runPeer, type StopSignal } from '../src/peer-command.js';
import { ctl, DEADLINE_MS, KkcmProcess } from '../../reference-impl/test/processes.js';
import { type MainRun, captureIo, runMain } from './run-main.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-peer-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Signal handlers installed by the test harness itself: ours must come and go. */
const baseline = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };

const run = (argv: string[]): Promise<MainRun> => runMain(argv);

const field = (line: string, key: string): string => {
  const m = new RegExp(`\\b${key}=(\\S+)`).exec(line);
  if (m === null) throw new Error(`no ${key}= in ${line}`);
  return m[1]!;
};

t.test('peer, ctl and demo have --help with examples', async (t) => {
  for (const cmd of ['peer', 'ctl', 'demo']) {
    const r = await run([cmd, '--help']);
    t.equal(r.code, 0, cmd);
    t.match(r.out, /Usage: kkcm/, cmd);
    t.match(r.out, /Examples:/, cmd);
  }
  t.match((await run(['--help'])).out, /peer .*\n.*ctl .*\n.*demo /);
});

t.test('peer and ctl usage errors exit 2', async (t) => {
  const cases: [string, string[]][] = [
    ['no role', ['peer', '--listen', '127.0.0.1:0']],
    ['bad role', ['peer', '--role', 'boss', '--listen', '127.0.0.1:0']],
    ['master without --listen', ['peer', '--role', 'master']],
    ['backup without --connect', ['peer', '--role', 'backup']],
    ['bad endpoint', ['peer', '--role', 'master', '--listen', 'localhost']],
    ['port out of range', ['peer', '--role', 'master', '--listen', '127.0.0.1:70000']],
    ['bad log level', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--log-level', 'loud']],
    ['bad trace filter', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--trace-filter', 'colour=red']],
    ['max-message too small', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--max-message', '100']],
    ['node-id too big', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--node-id', '4294967296']],
    ['periodic-ms 0', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--periodic-ms', '0']],
    ['queue-messages 0', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--queue-messages', '0']],
    [
      'handshake-timeout-ms not a number',
      ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--handshake-timeout-ms', 'soon'],
    ],
    ['backoff-max-ms 0', ['peer', '--role', 'backup', '--connect', '127.0.0.1:1', '--backoff-max-ms', '0']],
    ['empty allow-list', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--allow', ',']],
    ['empty admin address', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--admin', '']],
    ['positional', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', 'extra']],
    ['ctl without command', ['ctl', '--admin', '127.0.0.1:1']],
    ['ctl unknown command', ['ctl', 'reboot', '--admin', '127.0.0.1:1']],
    ['ctl without --admin', ['ctl', 'status']],
    ['unknown topology', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--topology', 'bogus']],
    ['slot 2', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--topology', 'dual-re', '--slot', '2']],
    ['dual-re without --slot', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--topology', 'dual-re']],
    ['--slot in cluster', ['peer', '--role', 'master', '--listen', '127.0.0.1:0', '--slot', '0']],
    ['dual-re RE1 without --connect', ['peer', '--role', 'master', '--topology', 'dual-re', '--slot', '1']],
    ['switchover to an unknown role', ['ctl', 'switchover', '--to', 'bogus', '--admin', '127.0.0.1:1']],
    ['ctl extra argument', ['ctl', 'status', 'now', '--admin', '127.0.0.1:1']],
    ['ctl send without --message', ['ctl', 'send', '--client', 'prl', '--admin', '127.0.0.1:1']],
    ['ctl send with bad JSON', ['ctl', 'send', '--client', 'prl', '--message', '{', '--admin', '127.0.0.1:1']],
  ];
  for (const [what, argv] of cases) {
    const r = await run(argv);
    t.equal(r.code, 2, what);
    t.match(
      r.err,
      /^kkcm (peer|ctl): .+\nRun `kkcm (peer|ctl) --help` for usage\.\n$/,
      `${what}: two lines, the error and where help is`,
    );
  }
  t.equal(process.listenerCount('SIGTERM'), baseline.SIGTERM, 'no signal handler left behind');
});

t.test('peer exits 1 with a coded line when it cannot listen', async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = (busy.address() as { port: number }).port;
  const r = await run(['peer', '--role', 'master', '--listen', `127.0.0.1:${port}`]);
  t.equal(r.code, 1);
  t.match(r.err, /kkcm peer: ERR_LISTEN_FAILED: .*EADDRINUSE/);
  t.equal(process.listenerCount('SIGINT'), baseline.SIGINT, 'no signal handler left behind');
  const missing = await run([
    'peer',
    '--role',
    'master',
    '--listen',
    '127.0.0.1:0',
    '--events',
    join(dir, 'no', 'such', 'dir.jsonl'),
  ]);
  t.equal(missing.code, 1);
  t.match(missing.err, /kkcm peer: ENOENT: /);
});

t.test('runPeer prints the ready line with the actual ports and stops cleanly when told', async (t) => {
  let stop!: (signal: string) => void;
  let disposed = 0;
  const signal: StopSignal = {
    promise: new Promise((resolve) => {
      stop = resolve;
    }),
    dispose: () => {
      disposed++;
    },
  };
  const io = captureIo();
  const done = runPeer(
    {
      values: {
        role: 'master',
        listen: '127.0.0.1:0',
        admin: join(dir, 'inproc.sock'),
        'log-level': 'debug',
        'node-name': 're0',
        'conformance-probe': true,
      },
      positionals: [],
    },
    io,
    signal,
  );
  const deadline = Date.now() + DEADLINE_MS;
  while (!io.text().out.includes('ready') && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const line = io.text().out;
  t.match(line, /^kkcm peer: ready role=master listen=127\.0\.0\.1:\d+ admin=\S+inproc\.sock\n$/);
  t.not(field(line, 'listen'), '127.0.0.1:0');
  const status = await run(['ctl', 'status', '--admin', join(dir, 'inproc.sock')]);
  t.equal(status.code, 0);
  t.match(status.out, /role +master \(configured; other side up\)/);
  t.match(status.out, /state +waiting/);
  t.match(status.out, /session +none/);
  t.match(status.out, /clients +probe, iha, sdrl, psrm, prl/, '--conformance-probe registers the probe client');
  stop('SIGTERM');
  t.equal(await done, 0);
  t.equal(disposed, 1);
  t.match(io.text().err, /info {2}SIGTERM: stopping/);
  t.match(io.text().err, /info {2}stopped/);
  const after = await run(['ctl', 'status', '--admin', join(dir, 'inproc.sock')]);
  t.equal(after.code, 1, 'the admin socket is closed');
  t.match(after.err, /^kkcm ctl: ERR_ADMIN_UNREACHABLE: /);
});

t.test('a master and a backup as processes: session up, ctl, SIGTERM, event and pcap files', async (t) => {
  const files = {
    masterEvents: join(dir, 'master.jsonl'),
    masterPcap: join(dir, 'master.pcapng'),
    backupEvents: join(dir, 'backup.jsonl'),
    backupPcap: join(dir, 'backup.pcapng'),
    backupAdmin: join(dir, 'backup.sock'),
  };
  const master = new KkcmProcess(t, [
    'peer',
    '--role',
    'master',
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--node-name',
    're0',
    '--node-id',
    '1',
    '--events',
    files.masterEvents,
    '--pcap',
    files.masterPcap,
    '--periodic-ms',
    '50',
    '--allow',
    '127.0.0.1',
    '--log-level',
    'info',
  ]);
  const ready = (await master.waitForOutput(/kkcm peer: ready .*\n/))[0];
  const listen = field(ready, 'listen');
  const masterAdmin = field(ready, 'admin');
  t.match(listen, /^127\.0\.0\.1:[1-9]\d*$/, 'the actual listen port');
  t.match(masterAdmin, /^127\.0\.0\.1:[1-9]\d*$/, 'the actual admin port');

  const backup = new KkcmProcess(t, [
    'peer',
    '--role',
    'backup',
    '--connect',
    listen,
    '--admin',
    files.backupAdmin,
    '--node-name',
    're1',
    '--events',
    files.backupEvents,
    '--pcap',
    files.backupPcap,
    '--trace-filter',
    'type=prl event=tx,rx,session-up,cleanup',
    '--max-message',
    '65536',
  ]);
  t.match(
    (await backup.waitForOutput(/kkcm peer: ready .*\n/))[0],
    new RegExp(`role=backup connect=${listen.replace(/\./g, '\\.')} admin=`),
  );

  // Session up, as `kkcm ctl status` reports it (polled with a bound, never a fixed sleep).
  let status: { state?: string; session?: { version: number; peerNode: string } | null } = {};
  const deadline = Date.now() + DEADLINE_MS;
  while (status.state !== 'up') {
    if (Date.now() > deadline) throw new Error('the session did not come up');
    const r = await ctl(t, ['status', '--admin', masterAdmin, '--json']);
    t.equal(r.code, 0, 'ctl status --json');
    status = JSON.parse(r.out) as typeof status;
  }
  t.equal(status.session?.version, 1);
  t.equal(status.session?.peerNode, 're1');

  const human = await ctl(t, ['status', '--admin', files.backupAdmin]);
  t.equal(human.code, 0);
  t.match(human.out, /role +backup/);
  t.match(human.out, /state +up/);
  t.match(human.out, /session +0x[0-9a-f]{16}, version 1, features deliveryAck/);
  t.match(human.out, /clients +iha, sdrl, psrm, prl/);

  const sent = await ctl(t, [
    'send',
    '--admin',
    masterAdmin,
    '--client',
    'prl',
    '--confirm',
    '--message',
    '{"name":"prl.packetDrop","body":{"handle":7,"count":3}}',
  ]);
  t.equal(sent.code, 0, sent.err);
  t.match(sent.out, /confirmed delivery/);
  const stats = await ctl(t, ['stats', '--admin', files.backupAdmin, '--json']);
  t.equal(stats.code, 0);
  const counters = JSON.parse(stats.out) as {
    clients: Record<string, { messages: number }>;
    types: Record<string, { rx: number }>;
  };
  t.equal(counters.clients.prl?.messages, 1, 'the backup PRL handler counted the message');
  t.equal(counters.types['prl.packetDrop']?.rx, 1);
  const statsText = await ctl(t, ['stats', '--admin', masterAdmin]);
  t.match(statsText.out, /prl\.packetDrop +1 +0/);
  t.match(statsText.out, /client prl +0 messages, \d+ periodic ticks/);

  const refused = await ctl(t, [
    'send',
    '--admin',
    masterAdmin,
    '--client',
    'iha',
    '--message',
    '{"name":"prl.packetDrop","body":{"handle":7,"count":3}}',
  ]);
  t.equal(refused.code, 1, 'an error answer exits 1');
  t.match(refused.err, /^kkcm ctl: ERR_WRONG_CLIENT: .*\n$/);
  const unreachable = await ctl(t, ['status', '--admin', join(dir, 'nobody.sock')]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.err, /^kkcm ctl: ERR_ADMIN_UNREACHABLE: .*\n$/);

  master.child.kill('SIGTERM');
  backup.child.kill('SIGTERM');
  t.equal(await master.exit(), 0, 'the master exits 0 on SIGTERM');
  t.equal(await backup.exit(), 0, 'the backup exits 0 on SIGTERM');
  t.match(master.err, /info {2}session up: /, 'info shows the session coming up');
  t.match(master.err, /info {2}cleanup prl: /, 'info shows cleanups');
  t.match(master.err, /info {2}stopped/);

  const lines = (path: string): { event: string; ts: number; name?: string; type?: number }[] =>
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; ts: number });
  const masterEvents = lines(files.masterEvents);
  t.ok(
    masterEvents.some((e) => e.event === 'session-up'),
    'master event file: session-up',
  );
  t.ok(
    masterEvents.some((e) => e.event === 'cleanup'),
    'master event file: cleanup (written during the shutdown)',
  );
  t.ok(masterEvents.every((e) => typeof e.ts === 'number'));
  const backupEvents = lines(files.backupEvents);
  t.ok(backupEvents.some((e) => e.event === 'session-up'));
  t.ok(backupEvents.some((e) => e.event === 'cleanup'));
  t.ok(
    backupEvents.every((e) => ['tx', 'rx', 'session-up', 'cleanup'].includes(e.event)),
    'the trace filter applies to the event file',
  );
  // The one message the backup's filter lets through: the PRL-PACKET-DROP sent with
  // `kkcm ctl send` above. Its delivery ACK is a control message, filtered out.
  t.same(
    backupEvents.filter((e) => e.event === 'rx' || e.event === 'tx').map((e) => [e.event, e.type, e.name]),
    [['rx', 0x20, 'prl.packetDrop']],
    'only PRL messages: exactly the one PRL message the backup received',
  );
  for (const pcap of [files.masterPcap, files.backupPcap]) {
    t.ok(statSync(pcap).size > 0, `${pcap} is not empty`);
    t.equal(readFileSync(pcap).readUInt32BE(0), 0x0a0d0d0a, 'starts with a pcapng section header block');
  }
});
