/**
 * End to end with every peer in its own process, under faults: a peer that sends garbage
 * (a raw client in the test process against a master process), a backup that stops reading
 * (SIGSTOP) until the master's queue is full, and delivery confirmation, kept and broken.
 */
import t, { type Test } from 'tap';
import { ERROR_VALUES, type ControlErrorBody } from '../../codec/src/index.js';
import { tcpTransport } from '../src/tcp-transport.js';
import type { AdminResponse } from '../src/admin.js';
import { RawClient } from './helpers.js';
import { KkcmProcess, PeerProcess, PeerSet, sessionUp, until } from './processes.js';

const peers = new PeerSet(t, 'kkcm-e2e-faults-');
const startMaster = (t: Test): Promise<PeerProcess> => peers.startMaster(t);
const startBackup = (t: Test, connect: string): Promise<PeerProcess> => peers.startBackup(t, connect);
const upPair = (t: Test, masterArgs: readonly string[] = []): ReturnType<PeerSet['upPair']> =>
  peers.upPair(t, ['--listen', '127.0.0.1:0', ...masterArgs]);

const hostPort = (address: string): [string, number] => {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
};

t.test(
  'a peer that sends garbage gets ERROR and is closed; the master process cleans up with socketIoError and serves the next backup',
  async (t) => {
    const master = await startMaster(t);
    const [host, port] = hostPort(master.listen!);
    const sessionId = 0x5eed_0000_0000_0001n;
    const send = await RawClient.connect(tcpTransport, host, port);
    const receive = await RawClient.connect(tcpTransport, host, port);
    t.teardown(() => {
      send.connection.destroy();
      receive.connection.destroy();
    });
    send.send({ name: 'control.hello', body: RawClient.hello('send', sessionId) });
    receive.send({ name: 'control.hello', body: RawClient.hello('receive', sessionId) });
    await until('HELLO-ACK on both channels', () =>
      send.received.length > 0 && receive.received.length > 0 ? true : undefined,
    );
    t.same(
      [send.names(), receive.names()],
      [['control.helloAck'], ['control.helloAck']],
      'the handshake completes on both channels',
    );
    t.match(await sessionUp(master), { sessionId: sessionId.toString(), role: 'master' }, 'the raw peer has a session');

    send.sendBytes(Buffer.from('this is not a KKCM message at all'));
    await until('both raw connections to close', () => (send.closed && receive.closed ? true : undefined));
    const error = send.received.find((m) => m.name === 'control.error');
    t.equal(
      (error?.body as ControlErrorBody | undefined)?.code,
      ERROR_VALUES.ERR_BAD_MAGIC,
      'ERROR carries ERR_BAD_MAGIC before the close',
    );
    t.equal(send.decodeError, undefined, 'what the master sent is well-formed');

    const clients = (await master.status()).clients;
    await master.waitEvent('session-down', (e) => e.sessionId === sessionId.toString());
    const cleanups = master.eventsOf('cleanup', (e) => e.sessionId === sessionId.toString());
    t.same(cleanups.map((e) => e.client).sort(), [...clients].sort(), 'every client cleans up once');
    t.ok(
      cleanups.length > 0 && cleanups.every((e) => e.reason === 'socketIoError' && e.detail === 'protocolError'),
      'with socketIoError (protocolError)',
    );
    t.ok(
      master.eventsOf('error').some((e) => e.code === 'ERR_BAD_MAGIC'),
      'the event file names the error',
    );

    t.match(await master.status(), { state: 'waiting', session: null }, 'the master is still listening');
    const backup = await startBackup(t, master.listen!);
    const [m, b] = await Promise.all([sessionUp(master, sessionId.toString()), sessionUp(backup)]);
    t.equal(m.sessionId, b.sessionId, 'a real backup process then gets a session');
  },
);

t.test(
  'a backup that stops reading fills the queue: a send fails with ERR_QUEUE_FULL, a waiting send completes once it reads again',
  async (t) => {
    const queue = 4;
    const { master, backup } = await upPair(t, ['--queue-messages', String(queue)]);
    // Large messages fill the socket buffers quickly; the hex stays under the admin line limit.
    const message = { name: 'prl.opaque', body: { data: 'a5'.repeat(30_000) } };
    const send = (wait: boolean): Promise<AdminResponse> =>
      master.request({ cmd: 'send', client: 'prl', message, options: { wait } });

    backup.signal('SIGSTOP');
    let accepted = 0;
    let refused: AdminResponse | undefined;
    // Bounded: the kernel buffers of both sockets hold a few MB at most.
    while (refused === undefined && accepted < 1000) {
      const r = await send(false);
      if (r.ok) accepted++;
      else refused = r;
    }
    t.match(
      refused,
      { ok: false, error: { code: 'ERR_QUEUE_FULL' } },
      `after ${accepted} messages a send without wait fails with ERR_QUEUE_FULL`,
    );
    t.match(
      await master.status(),
      { state: 'up', queues: { receive: { depth: queue } } },
      `the PRL (receive) queue holds its bound of ${queue}`,
    );
    t.match(
      await send(false),
      { ok: false, error: { code: 'ERR_QUEUE_FULL' } },
      'and stays full while the backup does not read',
    );

    let answer: AdminResponse | undefined;
    const waiting = send(true).then((r) => {
      answer = r;
      return r;
    });
    // Round trips through the master after the waiting request was sent: the queue keeps
    // its bound (the waiting message is not squeezed in) and no answer comes back.
    for (let i = 0; i < 3; i++) t.match(await master.status(), { state: 'up', queues: { receive: { depth: queue } } });
    t.equal(answer, undefined, 'a send with wait stays pending while the queue is full');

    backup.signal('SIGCONT');
    t.same(
      await waiting,
      { ok: true, result: { sent: true, confirmed: false } },
      'the waiting send completes once the backup reads again',
    );
    await until('every accepted message to reach the backup', async () =>
      (await backup.stats()).types['prl.opaque']?.rx === accepted + 1 ? true : undefined,
    );
    t.equal(
      (await backup.stats()).clients.prl?.messages,
      accepted + 1,
      'the backup PRL handler got every accepted message, none of the refused',
    );
    t.same(master.eventsOf('session-down'), [], 'the session stayed up throughout');
  },
);

t.test(
  'delivery confirmation resolves after the backup handled the message, and fails with ERR_SESSION_DOWN when the backup dies first',
  async (t) => {
    const { master, backup, sessionId } = await upPair(t);
    const drop = JSON.stringify({ name: 'prl.packetDrop', body: { handle: 7, count: 3 } });
    const ok = new KkcmProcess(t, [
      'ctl',
      'send',
      '--admin',
      master.admin,
      '--client',
      'prl',
      '--confirm',
      '--message',
      drop,
    ]);
    t.equal(await ok.exit(), 0, ok.err);
    t.match(ok.out, /confirmed delivery/);
    t.equal(
      (await backup.stats()).clients.prl?.messages,
      1,
      'the backup PRL handler had the message when the confirmation arrived',
    );
    // The ACK went out before the master saw it, but the event file is written behind the socket.
    await backup.waitEvent('tx', (e) => e.name === 'control.ack' && e.channel === 'receive');
    const events = backup.events();
    const rx = events.findIndex((e) => e.event === 'rx' && e.name === 'prl.packetDrop');
    const ack = events.findIndex(
      (e, i) => i > rx && e.event === 'tx' && e.name === 'control.ack' && e.channel === 'receive',
    );
    t.ok(rx >= 0 && ack > rx, 'the backup received it, then sent the ACK on the same channel');

    backup.signal('SIGSTOP');
    const teardown = JSON.stringify({ name: 'iha.handleTeardown', body: { handle: 7, reason: 'closed' } });
    const lost = new KkcmProcess(t, [
      'ctl',
      'send',
      '--admin',
      master.admin,
      '--client',
      'iha',
      '--confirm',
      '--message',
      teardown,
    ]);
    await master.waitEvent('tx', (e) => e.name === 'iha.handleTeardown');
    t.ok(lost.running, 'the confirmation is outstanding while the backup is stopped');
    backup.signal('SIGKILL');
    t.equal(await lost.exit(), 1, 'ctl send --confirm fails');
    t.match(lost.err, /^kkcm ctl: ERR_SESSION_DOWN: /, "with ERR_SESSION_DOWN: the message's fate is unknown");
    await master.waitEvent('session-down', (e) => e.sessionId === sessionId);
    const cleanups = master.eventsOf('cleanup', (e) => e.sessionId === sessionId);
    t.ok(
      cleanups.length > 0 && cleanups.every((e) => e.reason === 'socketIoError'),
      `the master cleans up with socketIoError (${cleanups.length} clients)`,
    );
  },
);
