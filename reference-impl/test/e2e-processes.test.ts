/**
 * End to end, with every peer in its own process (`kkcm peer`) over loopback TCP, driven
 * through `kkcm ctl` and the admin socket, judged by the peers' event files: the session,
 * traffic of the four clients, loss of the backup, switchover, deconfiguration and a
 * second backup. Faults (garbage, full queues, confirmations) are in
 * e2e-processes-faults.test.ts.
 */
import t, { type Test } from 'tap';
import { ctl, freePort, PeerProcess, PeerSet, sessionUp, type EventOf } from './processes.js';

const peers = new PeerSet(t, 'kkcm-e2e-');
const startMaster = (t: Test, extra?: readonly string[]): Promise<PeerProcess> => peers.startMaster(t, extra);
const startBackup = (t: Test, connect: string, extra?: readonly string[]): Promise<PeerProcess> =>
  peers.startBackup(t, connect, extra);
const upPair = (t: Test, masterArgs?: readonly string[]): ReturnType<PeerSet['upPair']> => peers.upPair(t, masterArgs);

/** Clients of `session` that cleaned up, sorted, after its session-down line was written. */
async function cleanedUp(peer: PeerProcess, sessionId: string): Promise<EventOf<'cleanup'>[]> {
  await peer.waitEvent('session-down', (e) => e.sessionId === sessionId);
  return peer.eventsOf('cleanup', (e) => e.sessionId === sessionId).sort((a, b) => a.client.localeCompare(b.client));
}

const sorted = (names: readonly string[]): string[] => [...names].sort();

/** One message of each client, in the JSON form `kkcm encode` takes. */
const FROM_MASTER = {
  'iha.handleTeardown': { handle: 257, reason: 'closed' },
  'sdrl.socketData': { handle: 257, streamOffset: '4294967296', data: '48656c6c6f' },
  'psrm.tcpState': {
    handle: 257,
    state: 'established',
    windowScale: 7,
    mss: 1460,
    sndUna: 1000,
    sndNxt: 1500,
    rcvNxt: 2147483648,
    rcvWindow: 65535,
    tsRecent: 123456789,
    rttMicros: -1,
  },
  'prl.packet': {
    handle: 257,
    direction: 'inbound',
    ifIndex: 3,
    timestampNs: '1700000000000000000',
    packet: '450000140000400040060000c0000201c6336407',
  },
} as const;
const FROM_BACKUP = {
  'iha.asyncNotify': { handle: 257, event: 'error', value: '5' },
  'sdrl.socketDataAck': { handle: 257, streamOffset: '4294967301' },
  'psrm.stateBatch': { entries: [{ handle: 257, state: 'established', window: 65535, sndNxt: 1, rcvNxt: 2 }] },
  'prl.packetDrop': { handle: 257, count: 12 },
} as const;
/** The channel each client's messages travel on (design 7.2.b). */
const CHANNEL_OF: Record<string, 'send' | 'receive'> = { iha: 'send', sdrl: 'send', psrm: 'send', prl: 'receive' };
const clientOf = (name: string): string => name.split('.')[0]!;

t.test(
  'two peer processes bind the send and receive channels into one session, as their event files and ctl status say',
  async (t) => {
    const { master, backup, sessionId } = await upPair(t);
    for (const peer of [master, backup]) {
      const bound = peer.eventsOf('channel-bound', (e) => e.sessionId === sessionId).map((e) => e.channel);
      t.same(sorted(bound), ['receive', 'send'], `${peer.name}: channel-bound for both channels of the session`);
    }
    const [m, b] = [master.eventsOf('session-up')[0]!, backup.eventsOf('session-up')[0]!];
    t.equal(m.version, 1, 'version 1 negotiated');
    t.equal(b.version, m.version, 'the same version on both sides');
    t.equal(m.role, 'master');
    t.equal(b.role, 'backup');

    const json = await ctl(t, ['status', '--admin', master.admin, '--json']);
    t.equal(json.code, 0, json.err);
    const status = JSON.parse(json.out) as {
      role: string;
      state: string;
      session: { id: string; version: number; peerNode: string };
      queues: Record<string, { depth: number; bytes: number }>;
    };
    t.match(status, { role: 'master', state: 'up', session: { id: sessionId, version: 1, peerNode: 're1' } });
    t.same(Object.keys(status.queues).sort(), ['receive', 'send'], 'a queue per channel');
    for (const q of Object.values(status.queues)) t.match(q, { depth: Number, bytes: Number });

    const text = await ctl(t, ['status', '--admin', backup.admin]);
    t.equal(text.code, 0, text.err);
    t.match(text.out, /role +backup \(configured; other side up\)/);
    t.match(text.out, /state +up/);
    t.match(text.out, new RegExp(`session +0x${BigInt(sessionId).toString(16).padStart(16, '0')}, version 1,`));
    t.match(text.out, /send queue +\d+ messages, \d+ bytes/);
    t.match(text.out, /receive queue +\d+ messages, \d+ bytes/);
  },
);

t.test('messages of IHA, SDRL, PSRM and PRL reach the other process on their own channel, both ways', async (t) => {
  const { master, backup } = await upPair(t);
  // Master to backup through `kkcm ctl send`, confirmed: on return the backup handled it.
  const sent = await Promise.all(
    Object.entries(FROM_MASTER).map(([name, body]) =>
      ctl(t, [
        'send',
        '--admin',
        master.admin,
        '--client',
        clientOf(name),
        '--confirm',
        '--message',
        JSON.stringify({ name, body }),
      ]),
    ),
  );
  for (const r of sent) {
    t.equal(r.code, 0, r.err);
    t.match(r.out, /confirmed delivery/);
  }
  // Backup to master through the admin protocol.
  for (const [name, body] of Object.entries(FROM_BACKUP)) {
    t.same(
      await backup.result({ cmd: 'send', client: clientOf(name), message: { name, body }, options: { confirm: true } }),
      { sent: true, confirmed: true },
      name,
    );
  }

  for (const [receiver, sender, messages] of [
    [backup, master, FROM_MASTER],
    [master, backup, FROM_BACKUP],
  ] as const) {
    const stats = await receiver.stats();
    const senderStats = await sender.stats();
    for (const name of Object.keys(messages)) {
      const rx = receiver.eventsOf('rx', (e) => e.name === name);
      t.same(
        rx.map((e) => e.channel),
        [CHANNEL_OF[clientOf(name)]],
        `${receiver.name}: one rx line for ${name}, on the ${CHANNEL_OF[clientOf(name)]!} channel`,
      );
      t.equal(stats.types[name]?.rx, 1, `${receiver.name} stats: ${name} received once`);
      t.equal(senderStats.types[name]?.tx, 1, `${sender.name} stats: ${name} sent once`);
      t.same(
        stats.clients[clientOf(name)]?.byName,
        { [name]: 1 },
        `${receiver.name}: the ${clientOf(name)} handler got exactly it`,
      );
    }
  }
});

t.test(
  'kill -9 of the backup: every client on the master cleans up once with socketIoError, and a restarted backup gets a new session',
  async (t) => {
    const { master, backup, sessionId } = await upPair(t);
    const clients = (await master.status()).clients;
    t.same(sorted(clients), sorted(['probe', 'iha', 'sdrl', 'psrm', 'prl']));

    backup.signal('SIGKILL');
    const cleanups = await cleanedUp(master, sessionId);
    t.same(
      cleanups.map((e) => e.client),
      sorted(clients),
      'one cleanup line per registered client',
    );
    for (const c of cleanups) {
      t.equal(c.reason, 'socketIoError', `${c.client}: reason socketIoError`);
      t.ok(['connectionReset', 'endOfStream'].includes(c.detail), `${c.client}: the connection was lost (${c.detail})`);
    }
    t.equal(
      (await master.stats()).cleanups.socketIoError,
      clients.length,
      'stats: one socketIoError cleanup per client',
    );
    t.match(
      await master.status(),
      { role: 'master', state: 'waiting', session: null },
      'the master waits for a backup',
    );

    const again = await startBackup(t, master.listen!);
    const [m, b] = await Promise.all([sessionUp(master, sessionId), sessionUp(again)]);
    t.equal(m.sessionId, b.sessionId, 'a new session with the restarted backup');
    t.not(m.sessionId, sessionId, 'with a new session id');
    t.equal(
      master.eventsOf('cleanup', (e) => e.sessionId === sessionId).length,
      clients.length,
      'still exactly one cleanup per client for the lost session',
    );
    t.equal(master.eventsOf('cleanup', (e) => e.sessionId === m.sessionId).length, 0, 'the new session is untouched');
  },
);

t.test('ctl switchover on the master: both sides clean up with switchover and the roles swap', async (t) => {
  const [a, b] = [await freePort(), await freePort()];
  // Each side needs the other's address for the swap: the master listens on a and will
  // connect to b; the backup connects to a and will listen on b.
  const master = await startMaster(t, [
    '--listen',
    `127.0.0.1:${a}`,
    '--connect',
    `127.0.0.1:${b}`,
    '--backoff-max-ms',
    '200',
  ]);
  const backup = await startBackup(t, `127.0.0.1:${a}`, ['--listen', `127.0.0.1:${b}`]);
  const first = (await Promise.all([sessionUp(master), sessionUp(backup)]))[0].sessionId;
  const clients = { master: sorted((await master.status()).clients), backup: sorted((await backup.status()).clients) };

  const r = await ctl(t, ['switchover', '--admin', master.admin]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /switchover: done/);

  for (const [peer, expected] of [
    [master, clients.master],
    [backup, clients.backup],
  ] as const) {
    const cleanups = await cleanedUp(peer, first);
    t.same(
      cleanups.map((e) => e.client),
      expected,
      `${peer.name}: every client cleans up once`,
    );
    t.ok(
      cleanups.length > 0 && cleanups.every((e) => e.reason === 'switchover' && e.detail === 'manualSwitchover'),
      `${peer.name}: reason switchover (manualSwitchover)`,
    );
  }
  t.match(await master.waitEvent('role-change'), { from: 'master', to: 'backup' });
  t.match(await backup.waitEvent('role-change'), { from: 'backup', to: 'master' });

  const [m, k] = await Promise.all([sessionUp(master, first), sessionUp(backup, first)]);
  t.equal(m.sessionId, k.sessionId, 'a new session comes up between the swapped roles');
  t.equal(m.role, 'backup', 'the old master is the backup of the new session');
  t.equal(k.role, 'master', 'the old backup is its master');
  t.match(await master.status(), { role: 'backup', state: 'up', listening: null });
  t.match(await backup.status(), { role: 'master', state: 'up', listening: { host: '127.0.0.1', port: b } });
});

t.test(
  'ctl deconfigure on the master: both sides clean up with nsrDeconfigured, and configure brings a session back',
  async (t) => {
    // A fixed port: configured again, the master listens anew, and port 0 would be a new port.
    const { master, backup, sessionId } = await upPair(t, ['--listen', `127.0.0.1:${await freePort()}`]);
    const clients = {
      master: sorted((await master.status()).clients),
      backup: sorted((await backup.status()).clients),
    };

    const r = await ctl(t, ['deconfigure', '--admin', master.admin]);
    t.equal(r.code, 0, r.err);
    t.match(r.out, /deconfigure: done/);
    t.match(r.out, /role +master \(not configured/);

    for (const [peer, expected] of [
      [master, clients.master],
      [backup, clients.backup],
    ] as const) {
      const cleanups = await cleanedUp(peer, sessionId);
      t.same(
        cleanups.map((e) => e.client),
        expected,
        `${peer.name}: every client cleans up once`,
      );
      t.ok(
        cleanups.length > 0 && cleanups.every((e) => e.reason === 'nsrDeconfigured'),
        `${peer.name}: reason nsrDeconfigured`,
      );
    }
    await master.waitEvent('deconfigured');
    t.match(
      await master.status(),
      { configured: false, state: 'idle', session: null, listening: null },
      'the master stopped listening',
    );
    const after = await backup.status();
    t.match(after, { configured: true, role: 'backup', session: null }, 'the backup stays configured and tries again');
    t.not(after.state, 'up');

    t.match(await master.result({ cmd: 'configure' }), { configured: true, role: 'master' });
    const [m, b] = await Promise.all([sessionUp(master, sessionId), sessionUp(backup, sessionId)]);
    t.equal(m.sessionId, b.sessionId, 'NSR configured again: the backup reconnects into a new session');
  },
);

t.test('a second backup process is refused with sessionBusy and the first session goes on undisturbed', async (t) => {
  const { master, backup, sessionId } = await upPair(t);
  const intruder = await startBackup(t, master.listen!);
  const rejected = await intruder.waitEvent('rejected');
  t.equal(rejected.reason, 'sessionBusy', 'the second backup is told the master is busy');
  t.ok(rejected.retryMs > 0, 'and when to try again');
  t.ok(intruder.eventsOf('rejected').every((e) => e.reason === 'sessionBusy'));
  t.equal(intruder.eventsOf('session-up').length, 0, 'it gets no session');
  await master.waitEvent('refused', (e) => e.reason === 'sessionBusy');

  t.match(await master.status(), { state: 'up', session: { id: sessionId } }, 'the first session is still up');
  t.same(
    await master.result({
      cmd: 'send',
      client: 'prl',
      message: { name: 'prl.packetDrop', body: { handle: 1, count: 1 } },
      options: { confirm: true },
    }),
    { sent: true, confirmed: true },
    'and still carries confirmed traffic',
  );
  for (const peer of [master, backup]) {
    t.same(peer.eventsOf('session-down'), [], `${peer.name}: no session went down`);
    t.same(peer.eventsOf('cleanup'), [], `${peer.name}: no client cleaned up`);
  }
  t.equal(backup.eventsOf('rx', (e) => e.name === 'prl.packetDrop').length, 1, 'the first backup got the message');
  intruder.signal('SIGTERM');
  t.equal(await intruder.proc.exit(), 0, 'the refused backup stops cleanly');
});
