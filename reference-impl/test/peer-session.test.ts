/**
 * The reference peer's session life cycle over the in-memory transport with a manual clock: set-
 * up, cleanup reasons, confirmations, queues and faults. Why one file past ~500 lines: one
 * subject, the session, in the order of its life cycle.
 */
import t from 'tap';
import { MESSAGES, type MessageInput } from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, PeerError, type CleanupInfo, type PeerEvent } from '../src/index.js';
import { FaultyTransport, handleOf, pair, RawClient, settle, type FaultyConnection } from './helpers.js';

const ofType = <E extends PeerEvent['event']>(events: PeerEvent[], name: E): Extract<PeerEvent, { event: E }>[] =>
  events.filter((e): e is Extract<PeerEvent, { event: E }> => e.event === name);

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return undefined;
}

const samples: Record<'iha' | 'sdrl' | 'psrm' | 'prl', MessageInput> = {
  iha: {
    name: 'iha.handleSetupV4',
    body: {
      handle: 1,
      protocol: 6,
      localPort: 179,
      remotePort: 40000,
      localAddress: '192.0.2.1',
      remoteAddress: '192.0.2.2',
      appName: 'rpd',
    },
  },
  sdrl: { name: 'sdrl.socketData', body: { handle: 1, streamOffset: 0n, data: Uint8Array.of(1, 2, 3) } },
  psrm: {
    name: 'psrm.tcpState',
    body: {
      handle: 1,
      state: 4,
      windowScale: 7,
      mss: 1460,
      sndUna: 1,
      sndNxt: 2,
      rcvNxt: 3,
      rcvWindow: 65535,
      tsRecent: 0,
      rttMicros: -1,
    },
  },
  prl: {
    name: 'prl.packet',
    body: { handle: 1, direction: 1, ifIndex: 2, timestampNs: 5n, packet: new Uint8Array(64) },
  },
};

t.test('a session comes up on both channels with one session id and the negotiated version', async (t) => {
  const p = await pair();
  t.ok(p.master.sessionUp);
  t.ok(p.backup.sessionUp);
  t.equal(p.master.sessionId, p.backup.sessionId);
  const bound = ofType(p.events.master, 'channel-bound')
    .map((e) => e.channel)
    .sort();
  t.same(bound, ['receive', 'send']);
  const up = ofType(p.events.backup, 'session-up')[0];
  t.equal(up?.version, 1);
  t.equal(p.master.status().state, 'up');
  t.equal(p.master.status().session?.peerNode, 're1');
  await p.master.stop();
  await p.backup.stop();
});

t.test('traffic from all four clients goes on its static channel and reaches its handler', async (t) => {
  const p = await pair();
  const got: { client: string; name: string; channel: string }[] = [];
  for (const client of ['iha', 'sdrl', 'psrm', 'prl'] as const) {
    p.backup.register(client, {
      message: (m, ctx) => got.push({ client, name: m.name ?? 'unlisted', channel: ctx.channel }),
    });
  }
  for (const [client, msg] of Object.entries(samples)) await p.master.send(client as 'iha', msg);
  await settle();
  t.same(
    got.map((g) => `${g.client}:${g.channel}`),
    ['iha:send', 'sdrl:send', 'psrm:send', 'prl:receive'],
  );
  const tx = ofType(p.events.master, 'tx').filter((e) => e.type !== 1);
  t.same(
    tx.map((e) => `${e.name ?? ''}@${e.channel}`),
    ['iha.handleSetupV4@send', 'sdrl.socketData@send', 'psrm.tcpState@send', 'prl.packet@receive'],
  );
  for (const e of tx)
    t.ok((MESSAGES as Record<string, { channels: readonly string[] }>)[e.name ?? '']?.channels.includes(e.channel));
  const stats = p.backup.stats();
  t.equal(stats.channels.receive.rxMessages >= 2, true, 'HELLO-ACK and the PRL packet');
  t.equal(stats.types['prl.packet']?.rx, 1);
  await p.master.stop();
  await p.backup.stop();
});

t.test('messages are delivered whole and in order per channel', async (t) => {
  const p = await pair();
  const seen: number[] = [];
  p.backup.register('prl', { message: (m) => seen.push(handleOf(m)) });
  for (let i = 0; i < 500; i++) void p.master.send('prl', { name: 'prl.packetDrop', body: { handle: i, count: 1 } });
  await settle(40);
  t.same(
    seen,
    Array.from({ length: 500 }, (_, i) => i),
  );
  await p.master.stop();
  await p.backup.stop();
});

t.test('a client may only send its own message types, on a channel the type travels on', async (t) => {
  const p = await pair();
  t.equal(await codeOf(p.master.send('iha', samples.prl)), 'ERR_WRONG_CLIENT');
  t.equal(
    await codeOf(p.master.send('probe', { name: 'probe.queryTicks', body: { token: 1 } }, { channel: 'receive' })),
    undefined,
    'probe types travel on both',
  );
  t.equal(await codeOf(p.master.send('prl', samples.prl, { channel: 'send' })), 'ERR_WRONG_CHANNEL');
  t.equal(
    await codeOf(p.master.send('prl', { name: 'no.such', body: {} } as unknown as MessageInput)),
    'ERR_UNKNOWN_MESSAGE',
  );
  t.equal(p.master.stats().errors.ERR_WRONG_CLIENT, 1, 'API errors are counted by code');
  await p.master.stop();
  await p.backup.stop();
});

t.test('sending without a session is a clear error', async (t) => {
  const p = await pair({ up: false });
  t.equal(await codeOf(p.master.send('prl', samples.prl)), 'ERR_NOT_CONFIGURED');
  await p.master.configure();
  t.equal(await codeOf(p.master.send('prl', samples.prl)), 'ERR_NO_SESSION');
  await p.master.stop();
  await p.backup.stop();
});

t.test('registration: one per client type, with at least one handler', async (t) => {
  const p = await pair({ up: false });
  p.master.register('prl', { message: () => undefined });
  t.throws(() => p.master.register('prl', { message: () => undefined }), { code: 'ERR_DUPLICATE_REGISTRATION' });
  t.throws(() => p.master.register('kkcm', { message: () => undefined }), { code: 'ERR_INVALID_REGISTRATION' });
  t.throws(() => p.master.register('nope' as 'prl', { message: () => undefined }), {
    code: 'ERR_INVALID_REGISTRATION',
  });
  t.throws(() => p.master.register('iha', {}), { code: 'ERR_INVALID_REGISTRATION' });
  p.master.unregister('prl');
  t.doesNotThrow(() => p.master.register('prl', { cleanup: () => undefined }), 'registering again after unregister');
  t.type(new PeerError('ERR_QUEUE_FULL', 'x').value, 'number');
});

t.test('cleanup: switchover reaches every client on both sides once, then the roles swap', async (t) => {
  const p = await pair();
  const seen: string[] = [];
  for (const [side, peer] of [
    ['M', p.master],
    ['B', p.backup],
  ] as const) {
    for (const client of ['iha', 'prl'] as const)
      peer.register(client, { cleanup: (i: CleanupInfo) => seen.push(`${side}:${client}:${i.reason}:${i.detail}`) });
  }
  const firstSession = p.master.sessionId;
  await p.master.switchover();
  await settle();
  p.clock.advance(1000);
  await settle(40);
  t.same(seen.sort(), [
    'B:iha:switchover:manualSwitchover',
    'B:prl:switchover:manualSwitchover',
    'M:iha:switchover:manualSwitchover',
    'M:prl:switchover:manualSwitchover',
  ]);
  t.equal(p.master.role, 'backup');
  t.equal(p.backup.role, 'master');
  t.ok(p.master.sessionUp && p.backup.sessionUp, 'a new session came up with swapped roles');
  t.not(p.master.sessionId, firstSession);
  t.equal(ofType(p.events.master, 'role-change').length, 1);
  await p.master.stop();
  await p.backup.stop();
});

t.test('cleanup: deconfigure reaches both sides with nsrDeconfigured', async (t) => {
  const p = await pair();
  const seen: string[] = [];
  p.master.register('sdrl', { cleanup: (i) => seen.push(`M:${i.reason}`) });
  p.backup.register('sdrl', { cleanup: (i) => seen.push(`B:${i.reason}`) });
  await p.master.deconfigure();
  await settle();
  t.same(seen.sort(), ['B:nsrDeconfigured', 'M:nsrDeconfigured']);
  t.equal(p.master.status().state, 'idle');
  t.equal(p.master.listenAddress, undefined, 'the listener is closed');
  await p.master.deconfigure();
  t.equal(seen.length, 2, 'deconfigure twice is a no-op');
  await p.backup.stop();
  await p.master.stop();
});

t.test('cleanup: a backup told that the master is down cleans up with peerDown and takes over', async (t) => {
  const p = await pair();
  const seen: string[] = [];
  p.backup.register('psrm', { cleanup: (i) => seen.push(`${i.reason}:${i.detail}`) });
  await p.master.stop();
  await settle();
  t.same(seen, ['peerDown:peerShutdown'], 'the SHUTDOWN told the backup why');
  const q = await pair();
  const seen2: string[] = [];
  q.backup.register('psrm', { cleanup: (i) => seen2.push(`${i.reason}:${i.detail}`) });
  await q.backup.peerDown();
  await settle();
  t.same(seen2, ['peerDown:clusterMemberLost'], 'cluster (the default topology): the membership lost the chassis');
  t.equal(q.backup.role, 'master', 'the backup became the master');
  q.backup.peerUp();
  await q.master.stop();
  await q.backup.stop();
});

t.test('cleanup: a lost connection is socketIoError, once per client, and the backup reconnects', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty });
  const seen: string[] = [];
  p.master.register('prl', { cleanup: (i) => seen.push(`M:${i.reason}:${i.detail}`) });
  p.backup.register('prl', { cleanup: (i) => seen.push(`B:${i.reason}:${i.detail}`) });
  const first = p.master.sessionId;
  faulty.connections[0]!.destroy();
  await settle();
  t.same(seen.sort(), ['B:socketIoError:connectionReset', 'M:socketIoError:endOfStream'].sort());
  t.notOk(p.master.sessionUp);
  p.clock.advance(200);
  await settle(40);
  t.ok(p.master.sessionUp && p.backup.sessionUp, 'the backup reconnected');
  t.not(p.master.sessionId, first);
  t.equal(seen.length, 2, 'cleanup ran exactly once per client');
  await p.master.stop();
  await p.backup.stop();
});

t.test('cleanup comes before any message of the next session', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty });
  const order: string[] = [];
  p.backup.register('prl', {
    message: () => order.push('message'),
    cleanup: () => order.push('cleanup'),
    init: () => order.push('init'),
  });
  faulty.connections[0]!.destroy();
  await settle();
  p.clock.advance(200);
  await settle(40);
  await p.master.send('prl', samples.prl);
  await settle();
  t.same(order, ['cleanup', 'init', 'message']);
  await p.master.stop();
  await p.backup.stop();
});

t.test('delivery confirmation resolves once the peer handler accepted the message', async (t) => {
  const p = await pair();
  const handled: number[] = [];
  p.backup.register('prl', { message: (m) => handled.push(handleOf(m)) });
  const confirmations = [1, 2, 3].map((h) =>
    p.master
      .send('prl', { name: 'prl.packetDrop', body: { handle: h, count: 0 } }, { confirm: true })
      .then(() => handled.length),
  );
  const counts = await Promise.all(confirmations);
  t.same(handled, [1, 2, 3]);
  for (const n of counts) t.ok(n >= 1, 'confirmed only after the handler ran');
  await p.master.stop();
  await p.backup.stop();
});

t.test('an unconfirmed message is rejected with ERR_SESSION_DOWN when the session ends', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty });
  const conn = faulty.connections.find((c) => c.remote.startsWith('m:')) ?? faulty.connections[0]!;
  (conn as FaultyConnection).stalled = true;
  const confirm = p.backup.send('iha', samples.iha, { confirm: true });
  await settle();
  await p.backup.deconfigure();
  t.equal(await codeOf(confirm), 'ERR_SESSION_DOWN');
  await p.master.stop();
  await p.backup.stop();
});

t.test('a full queue fails at once without wait, and waits for room with wait', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { queueMessages: 4 } });
  const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
  for (const c of masterSide) c.stalled = true;
  // One batch leaves the queue for the (stalled) transport, then the queue fills up.
  await p.master.send('prl', samples.prl);
  await settle();
  for (let i = 0; i < 4; i++) await p.master.send('prl', samples.prl);
  t.equal(await codeOf(p.master.send('prl', samples.prl)), 'ERR_QUEUE_FULL');
  let waited = false;
  const waiting = p.master.send('prl', samples.prl, { wait: true }).then(() => {
    waited = true;
  });
  await settle();
  t.notOk(waited, 'still waiting for room');
  t.equal(p.master.status().queues.receive.depth, 4);
  for (const c of masterSide) c.release();
  await waiting;
  t.ok(waited);
  t.ok(p.master.stats().channels.receive.queueHighWater >= 4, 'the high-water mark is recorded');
  t.equal(p.master.stats().errors.ERR_QUEUE_FULL, 1);
  await p.master.stop();
  await p.backup.stop();
});

t.test('a waiting sender is released with ERR_SESSION_DOWN when the session ends', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { queueMessages: 1 } });
  for (const c of faulty.connections) c.stalled = true;
  await p.master.send('prl', samples.prl);
  await settle();
  await p.master.send('prl', samples.prl);
  const waiting = p.master.send('prl', samples.prl, { wait: true });
  await settle();
  await p.master.peerDown();
  t.equal(await codeOf(waiting), 'ERR_SESSION_DOWN');
  await p.master.stop();
  await p.backup.stop();
});

t.test(
  'the periodic service calls every client at the interval; a throwing client does not stop the others',
  async (t) => {
    const p = await pair({ master: { periodicMs: 100 } });
    let a = 0;
    let b = 0;
    p.master.register('iha', {
      periodic: () => {
        a++;
        throw new Error('boom');
      },
    });
    p.master.register('sdrl', {
      periodic: () => {
        b++;
      },
    });
    p.clock.advance(1000);
    t.equal(a, 10);
    t.equal(b, 10);
    t.equal(p.master.stats().handlerErrors, 10, 'each exception is counted');
    t.equal(ofType(p.events.master, 'handler-error').length, 10, 'and traced');
    await p.master.deconfigure();
    p.clock.advance(1000);
    t.equal(b, 10, 'the periodic timer stops with the session');
    await p.master.stop();
    await p.backup.stop();
  },
);

t.test('a message handler exception is isolated: later messages are still delivered', async (t) => {
  const p = await pair();
  const seen: number[] = [];
  p.backup.register('prl', {
    message: (m) => {
      const h = handleOf(m);
      seen.push(h);
      if (h === 1) throw new Error('bad');
    },
  });
  for (const h of [0, 1, 2]) await p.master.send('prl', { name: 'prl.packetDrop', body: { handle: h, count: 0 } });
  await settle();
  t.same(seen, [0, 1, 2]);
  t.equal(p.backup.stats().handlerErrors, 1);
  t.ok(p.backup.sessionUp);
  await p.master.stop();
  await p.backup.stop();
});

t.test('a message for an unregistered client is counted as undelivered', async (t) => {
  const p = await pair();
  await p.master.send('sdrl', samples.sdrl);
  await settle();
  t.equal(p.backup.stats().undelivered, 1);
  t.equal(ofType(p.events.backup, 'undelivered')[0]?.client, 'sdrl');
  await p.master.stop();
  await p.backup.stop();
});

t.test('a failed connection attempt is retried with exponential backoff', async (t) => {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: 'm', port: 7000 },
    transport,
    clock,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 },
  });
  const events: PeerEvent[] = [];
  backup.on('event', (e) => events.push(e));
  await backup.configure();
  for (let i = 0; i < 6; i++) {
    clock.advance(1000);
    await settle(5);
  }
  const delays = ofType(events, 'connect-failed').map((e) => e.retryMs);
  t.same(delays.slice(0, 5), [100, 200, 400, 800, 1000]);
  await backup.stop();
  t.equal(clock.pending, 0, 'no timer left behind');
});

t.test('the membership source gates the backup: no attempts while the master is down', async (t) => {
  // Without a listen address the backup cannot take over, so it waits for the master.
  const p = await pair({ up: false, backup: { listen: undefined } });
  await p.backup.configure();
  await p.backup.peerDown();
  p.clock.advance(60_000);
  await settle();
  t.equal(p.transport.refused, 0, 'no connection attempt while the peer is down');
  await p.master.configure();
  p.backup.peerUp();
  p.clock.advance(0);
  await settle();
  t.ok(p.backup.sessionUp);
  await p.master.stop();
  await p.backup.stop();
});

t.test('stop leaves no timer behind', async (t) => {
  const p = await pair();
  await p.master.stop();
  await p.backup.stop();
  await settle();
  t.equal(p.clock.pending, 0);
  await p.master.stop();
  t.equal(await codeOf(p.master.configure()), 'ERR_NOT_CONFIGURED', 'a stopped peer does not start again');
});

t.test(
  'a message the peer handler refuses is NACKed: its confirmation rejects, later ones still resolve',
  async (t) => {
    const p = await pair();
    p.backup.register('prl', {
      message: (m) => {
        if (handleOf(m) === 2) throw new Error('refused');
      },
    });
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((h) =>
        p.master.send('prl', { name: 'prl.packetDrop', body: { handle: h, count: 0 } }, { confirm: true }),
      ),
    );
    t.same(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    t.equal(((outcomes[1] as PromiseRejectedResult).reason as { code: string }).code, 'ERR_HANDLER_FAILED');
    await p.master.stop();
    await p.backup.stop();
  },
);

t.test('a confirmed message for a client the peer has not registered is NACKed with ERR_NO_HANDLER', async (t) => {
  const p = await pair();
  t.equal(await codeOf(p.master.send('sdrl', samples.sdrl, { confirm: true })), 'ERR_NO_HANDLER');
  t.equal(p.backup.stats().undelivered, 1);
  await p.master.stop();
  await p.backup.stop();
});

t.test('the connecting side learns the node name of the listening side', async (t) => {
  const p = await pair();
  t.equal(p.backup.status().session?.peerNode, 're0');
  t.equal(p.master.status().session?.peerNode, 're1');
  await p.master.stop();
  await p.backup.stop();
});

t.test('a connection with output stuck and no progress is declared dead (socketIoError/deadConnection)', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { deadConnectionMs: 1000 } });
  const seen: string[] = [];
  p.master.register('prl', { cleanup: (i) => seen.push(`${i.reason}:${i.detail}`) });
  for (const c of faulty.connections) c.stalled = true;
  await p.master.send('prl', samples.prl);
  await settle();
  await p.master.send('prl', samples.prl);
  p.clock.advance(900);
  await settle();
  t.same(seen, [], 'not dead before the limit');
  p.clock.advance(700);
  await settle();
  t.same(seen, ['socketIoError:deadConnection']);
  await p.master.stop();
  await p.backup.stop();
});

t.test('output that keeps draining keeps a one-way flow alive', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { deadConnectionMs: 1000, queueMessages: 2 } });
  const seen: string[] = [];
  p.master.register('prl', { cleanup: (i) => seen.push(i.detail) });
  const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
  for (let step = 0; step < 6; step++) {
    for (const c of masterSide) c.stalled = true;
    await p.master.send('prl', samples.prl);
    await settle();
    await p.master.send('prl', samples.prl);
    p.clock.advance(400);
    for (const c of masterSide) c.release();
    await settle();
  }
  t.same(seen, [], 'no dead-connection cleanup in 2.4 s of draining output without input');
  t.ok(p.master.sessionUp);
  await p.master.stop();
  await p.backup.stop();
});

t.test(
  'while a session is up, connections beyond the accept rate are shed at once; none is while no session is up',
  async (t) => {
    const p = await pair({ master: { acceptRateWhileUp: 5 } });
    t.teardown(async () => {
      await p.master.stop();
      await p.backup.stop();
    });
    t.ok(p.master.sessionUp, 'a session is up');
    const connectAll = async (n: number): Promise<RawClient[]> => {
      const clients: RawClient[] = [];
      for (let i = 0; i < n; i++) clients.push(await RawClient.connect(p.transport));
      await settle();
      return clients;
    };
    const shedEvents = (): number =>
      p.events.master.filter((e) => e.event === 'error' && e.code === 'ERR_TOO_MANY_CONNECTIONS').length;

    const burst = await connectAll(8);
    t.same(
      burst.map((c) => c.closed),
      [false, false, false, false, false, true, true, true],
      'a full bucket of 5 is taken, the 3 beyond it are closed at once',
    );
    t.equal(p.master.stats().connectionsShed, 3);
    t.equal(shedEvents(), 3, 'each shed connection is an error event ERR_TOO_MANY_CONNECTIONS');

    p.clock.advance(400);
    const refilled = await connectAll(3);
    t.same(
      refilled.map((c) => c.closed),
      [false, false, true],
      '400 ms refill 2 tokens at 5 per second',
    );
    t.ok(p.master.sessionUp && p.backup.sessionUp, 'the session is untouched');
    const taken = burst.slice(0, 5);
    taken[0]!.send({ name: 'control.hello', body: RawClient.hello('send', 99n) });
    await settle();
    t.equal(taken[0]!.last()?.name, 'control.helloReject', 'a connection that was taken gets its HELLO-REJECT');
    for (const c of [...burst, ...refilled]) c.connection.destroy();

    await p.backup.deconfigure();
    await settle();
    t.notOk(p.master.sessionUp, 'the session is down');
    const shedBefore = p.master.stats().connectionsShed;
    const whileDown = await connectAll(8);
    t.ok(
      whileDown.length === 8 && whileDown.every((c) => !c.closed),
      'no connection is shed by the rate while no session is up',
    );
    t.equal(p.master.stats().connectionsShed, shedBefore);
    for (const c of whileDown) c.connection.destroy();
  },
);
