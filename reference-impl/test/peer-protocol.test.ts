/**
 * The reference peer against hand-made wire messages: HELLO refusals, framing and header errors,
 * ERROR contents. Why one file past ~500 lines: one subject, the peer's protocol checks, each a
 * short case.
 */
import t from 'tap';
import {
  CleanupReason,
  decodeClientMessage,
  encodeMessage,
  encodeRaw,
  ERROR_VALUES,
  Flags,
  RejectReason,
  type ControlErrorBody,
  type ControlHelloRejectBody,
} from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, type PeerEvent } from '../src/index.js';
import { pair, RawClient, settle } from './helpers.js';

async function master(options: Partial<ConstructorParameters<typeof KkcmPeer>[0]> = {}): Promise<{
  peer: KkcmPeer;
  clock: ManualClock;
  transport: MemoryTransport;
  events: PeerEvent[];
  cleanups: string[];
}> {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const peer = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    transport,
    clock,
    conformanceProbe: true,
    ...options,
  });
  const events: PeerEvent[] = [];
  const cleanups: string[] = [];
  peer.on('event', (e) => events.push(e));
  peer.register('prl', { cleanup: (i) => cleanups.push(`${i.reason}:${i.detail}`), message: () => undefined });
  await peer.configure();
  return { peer, clock, transport, events, cleanups };
}

/** A raw backup that completed both handshakes against the master. */
async function rawSession(
  transport: MemoryTransport,
  sessionId = 77n,
): Promise<{ send: RawClient; receive: RawClient }> {
  const send = await RawClient.connect(transport);
  send.send({ name: 'control.hello', body: RawClient.hello('send', sessionId) });
  const receive = await RawClient.connect(transport);
  receive.send({ name: 'control.hello', body: RawClient.hello('receive', sessionId) });
  await settle();
  return { send, receive };
}

const errorOf = (c: RawClient): ControlErrorBody | undefined => {
  const m = c.received.find((x) => x.name === 'control.error');
  return m?.body as ControlErrorBody | undefined;
};

t.test('HELLO on both channels brings the session up; HELLO-ACK echoes session and channel', async (t) => {
  const m = await master();
  const { send, receive } = await rawSession(m.transport);
  t.same(send.names(), ['control.helloAck']);
  t.match(send.received[0]?.body, { version: 1, role: 1, channel: 1, sessionId: 77n, maxMessage: 262144 });
  t.match(receive.received[0]?.body, { channel: 2, sessionId: 77n });
  t.ok(m.peer.sessionUp);
  t.equal(m.peer.status().session?.features, 3, 'features are the intersection');
  await m.peer.stop();
});

t.test(
  'a peer sending garbage gets ERROR, is closed, and the master cleans up with socketIoError and stays healthy',
  async (t) => {
    const m = await master();
    const { send, receive } = await rawSession(m.transport);
    send.sendBytes(Buffer.from('this is not a KKCM message at all'));
    await settle();
    t.equal(errorOf(send)?.code, ERROR_VALUES.ERR_BAD_MAGIC, 'ERROR carries the code');
    t.ok(send.closed, 'the connection is closed');
    t.ok(receive.closed, 'the whole session goes down: both connections close');
    t.same(m.cleanups, ['socketIoError:protocolError']);
    t.equal(m.peer.status().state, 'waiting', 'the master is still listening');
    const again = await rawSession(m.transport, 78n);
    t.ok(m.peer.sessionUp, 'a new session comes up');
    t.equal(again.send.names()[0], 'control.helloAck');
    t.equal(m.peer.stats().errors.ERR_BAD_MAGIC, 1);
    await m.peer.stop();
  },
);

t.test('a second session while one is up is refused with sessionBusy and the first is not disturbed', async (t) => {
  const m = await master();
  await rawSession(m.transport);
  const intruder = await RawClient.connect(m.transport);
  intruder.send({ name: 'control.hello', body: RawClient.hello('send', 99n) });
  await settle();
  t.same(intruder.names(), ['control.helloReject']);
  t.equal((intruder.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.sessionBusy);
  t.ok(intruder.closed);
  t.ok(m.peer.sessionUp);
  t.same(m.cleanups, []);
  await m.peer.stop();
});

t.test('a second channel with another session id is refused with sessionMismatch', async (t) => {
  const m = await master();
  const a = await RawClient.connect(m.transport);
  a.send({ name: 'control.hello', body: RawClient.hello('send', 1n) });
  const b = await RawClient.connect(m.transport);
  b.send({ name: 'control.hello', body: RawClient.hello('receive', 2n) });
  await settle();
  t.equal((b.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.sessionMismatch);
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'control.hello', body: RawClient.hello('send', 1n) });
  await settle();
  t.equal((c.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.channelBusy);
  await m.peer.stop();
});

t.test(
  'version negotiation: overlapping ranges take the highest common version, disjoint ones are refused',
  async (t) => {
    const m = await master({ versions: { min: 1, max: 3 } });
    const ok = await RawClient.connect(m.transport);
    ok.send({ name: 'control.hello', body: RawClient.hello('send', 5n, { minVersion: 1, maxVersion: 1 }) });
    await settle();
    t.match(ok.received[0]?.body, { version: 1 });
    await m.peer.stop();
    const n = await master({ versions: { min: 2, max: 3 } });
    const bad = await RawClient.connect(n.transport);
    bad.send({ name: 'control.hello', body: RawClient.hello('send', 5n, { minVersion: 1, maxVersion: 1 }) });
    await settle();
    const reject = bad.received[0]?.body as ControlHelloRejectBody;
    t.equal(reject.reason, RejectReason.versionIncompatible);
    t.same([reject.minVersion, reject.maxVersion], [2, 3], 'the reject says what the master speaks');
    t.equal(bad.received[0]?.header.version, 1, 'written in a version the connector accepts');
    await n.peer.stop();
  },
);

t.test('other refusals: role conflict, a tiny message limit, the allow-list', async (t) => {
  const m = await master({ allow: ['trusted'] });
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'control.hello', body: RawClient.hello('send', 5n) });
  await settle();
  t.equal((c.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.notAllowed);
  await m.peer.stop();
  const n = await master();
  const role = await RawClient.connect(n.transport);
  role.send({ name: 'control.hello', body: RawClient.hello('send', 5n, { role: 1 }) });
  const small = await RawClient.connect(n.transport);
  small.send({ name: 'control.hello', body: RawClient.hello('receive', 6n, { maxMessage: 100 }) });
  await settle();
  t.equal((role.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.roleConflict);
  t.equal((small.received[0]?.body as ControlHelloRejectBody).reason, RejectReason.messageLimitTooSmall);
  t.equal(n.peer.stats().connectionsRefused, 2);
  await n.peer.stop();
});

t.test('an inconsistent HELLO is a protocol error (ERR_BAD_HELLO)', async (t) => {
  const m = await master();
  for (const extra of [{ minVersion: 2, maxVersion: 1 }, { sessionId: 0n }, { channel: 9 }]) {
    const c = await RawClient.connect(m.transport);
    c.send({ name: 'control.hello', body: RawClient.hello('send', 5n, extra) });
    await settle();
    t.equal(
      errorOf(c)?.code,
      ERROR_VALUES.ERR_BAD_HELLO,
      JSON.stringify(extra, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    );
    t.ok(c.closed);
  }
  await m.peer.stop();
});

t.test('a client message before the handshake is ERR_UNEXPECTED_MESSAGE', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'prl.packetDrop', body: { handle: 1, count: 1 } });
  await settle();
  t.equal(errorOf(c)?.code, ERROR_VALUES.ERR_UNEXPECTED_MESSAGE);
  t.match(
    errorOf(c),
    { offendingSeq: 0, offendingType: 0x20, offendingSubtype: 2 },
    'ERROR names the offending message',
  );
  await m.peer.stop();
});

t.test('a client message after one handshake but before the session is up is refused by the master', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'control.hello', body: RawClient.hello('send', 5n) });
  c.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } });
  await settle();
  t.equal(errorOf(c)?.code, ERROR_VALUES.ERR_UNEXPECTED_MESSAGE);
  await m.peer.stop();
});

t.test('a connection that never completes its handshake is closed at the handshake timeout', async (t) => {
  const m = await master({ handshakeTimeoutMs: 500 });
  const c = await RawClient.connect(m.transport);
  await settle();
  m.clock.advance(499);
  await settle();
  t.notOk(c.closed);
  m.clock.advance(1);
  await settle();
  t.ok(c.closed);
  t.equal(errorOf(c)?.code, ERROR_VALUES.ERR_HANDSHAKE_TIMEOUT);
  await m.peer.stop();
});

t.test('a session whose second channel never comes is dropped at the handshake timeout', async (t) => {
  const m = await master({ handshakeTimeoutMs: 500 });
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'control.hello', body: RawClient.hello('send', 5n) });
  await settle();
  t.equal(c.names()[0], 'control.helloAck');
  m.clock.advance(500);
  await settle();
  t.ok(c.closed);
  t.notOk(m.peer.sessionUp);
  await m.peer.stop();
});

t.test('framing, sequence and channel violations on a live session', async (t) => {
  const cases: [
    string,
    (s: { send: RawClient; receive: RawClient }) => void,
    RawClient extends never ? never : 'send' | 'receive',
    keyof typeof ERROR_VALUES,
  ][] = [
    [
      'a sequence gap',
      (s) => s.send.send({ name: 'control.ack', seq: 5, body: { upTo: 0 } }),
      'send',
      'ERR_BAD_SEQUENCE',
    ],
    [
      'a PRL message on the send channel',
      (s) => s.send.send({ name: 'prl.packetDrop', body: { handle: 1, count: 1 } }),
      'send',
      'ERR_WRONG_CHANNEL',
    ],
    [
      'an IHA message on the receive channel',
      (s) => s.receive.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } }),
      'receive',
      'ERR_WRONG_CHANNEL',
    ],
    [
      'a second HELLO',
      (s) => s.send.send({ name: 'control.hello', body: RawClient.hello('send', 77n) }),
      'send',
      'ERR_UNEXPECTED_MESSAGE',
    ],
    [
      'an unknown type without mayIgnore',
      (s) => s.send.sendBytes(encodeRaw({ type: 0x55, subtype: 1, seq: s.send.seq++, body: new Uint8Array(4) })),
      'send',
      'ERR_UNKNOWN_TYPE',
    ],
    [
      'a length over the limit',
      (s) => {
        const b = Buffer.from(encodeMessage({ name: 'control.ack', seq: s.send.seq, body: { upTo: 1 } }));
        b.writeUInt32BE(300000, 8);
        s.send.sendBytes(b);
      },
      'send',
      'ERR_FRAME_TOO_LARGE',
    ],
    [
      'a non-zero reserved field of a control message',
      (s) => {
        const b = Buffer.from(encodeMessage({ name: 'control.nack', seq: s.send.seq, body: { seq: 0, code: 36 } }));
        b[16 + 7] = 1;
        s.send.sendBytes(b);
      },
      'send',
      'ERR_RESERVED_NONZERO',
    ],
    [
      'a version other than the negotiated one',
      (s) => {
        const b = Buffer.from(encodeMessage({ name: 'control.ack', seq: s.send.seq, body: { upTo: 1 } }));
        b[4] = 2;
        s.send.sendBytes(b);
      },
      'send',
      'ERR_UNSUPPORTED_VERSION',
    ],
  ];
  for (const [title, act, channel, code] of cases) {
    const m = await master();
    const s = await rawSession(m.transport);
    act(s);
    await settle();
    t.equal(errorOf(s[channel])?.code, ERROR_VALUES[code], title);
    t.ok(s.send.closed && s.receive.closed, `${title}: the session closes as a whole`);
    t.same(m.cleanups, ['socketIoError:protocolError'], `${title}: cleanup once with socketIoError`);
    await m.peer.stop();
  }
});

t.test('unknown types and unknown control subtypes with mayIgnore are skipped and the session stays up', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  s.send.sendBytes(
    encodeRaw({ type: 0x55, subtype: 1, flags: Flags.mayIgnore, seq: s.send.seq++, body: new Uint8Array(8) }),
  );
  s.send.sendBytes(
    encodeRaw({ type: 0x01, subtype: 0x99, flags: Flags.mayIgnore, seq: s.send.seq++, body: new Uint8Array(0) }),
  );
  s.send.send({ name: 'control.echoRequest', body: { token: 5, payload: Uint8Array.of(1, 2) } });
  await settle();
  t.ok(m.peer.sessionUp);
  t.equal(m.peer.stats().ignored, 2);
  t.match(s.send.last(), { name: 'control.echoReply', body: { token: 5 } });
  await m.peer.stop();
});

t.test('ECHO-REQUEST is answered on the same channel with exactly the payload', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  s.receive.send({ name: 'control.echoRequest', body: { token: 0xfeedbeef, payload } });
  await settle();
  const reply = s.receive.last();
  t.equal(reply?.name, 'control.echoReply');
  t.same([...(reply?.body as { payload: Uint8Array }).payload], [...payload]);
  t.equal((reply?.body as { token: number }).token, 0xfeedbeef);
  await m.peer.stop();
});

t.test('ackRequested messages are confirmed with a cumulative ACK on the same channel', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  for (let i = 0; i < 3; i++)
    s.receive.send({ name: 'prl.packetDrop', flags: Flags.ackRequested, body: { handle: i, count: 0 } });
  await settle();
  const acks = s.receive.received.filter((x) => x.name === 'control.ack');
  t.ok(acks.length >= 1);
  t.equal((acks[acks.length - 1]?.body as { upTo: number }).upTo, 3, 'up to the last sequence number (HELLO was 0)');
  await m.peer.stop();
});

t.test('SHUTDOWN from the peer cleans up with the reason it carries', async (t) => {
  for (const [reason, expected] of [
    [CleanupReason.switchover, 'switchover'],
    [CleanupReason.peerDown, 'peerDown'],
    [CleanupReason.nsrDeconfigured, 'nsrDeconfigured'],
    [CleanupReason.socketIoError, 'socketIoError'],
    [200, 'socketIoError'],
  ] as const) {
    const m = await master({ connect: { host: 'b', port: 7001 } });
    const s = await rawSession(m.transport);
    s.send.send({ name: 'control.shutdown', body: { reason, detail: 0, text: 'bye' } });
    await settle();
    t.equal(m.cleanups[0]?.split(':')[0], expected, `reason ${reason}`);
    await m.peer.stop();
  }
});

t.test('ERROR from the peer closes the session with socketIoError', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  s.send.send({
    name: 'control.error',
    body: { code: 1, offendingSeq: 0, offendingType: 0, offendingSubtype: 0, text: 'you are wrong' },
  });
  await settle();
  t.same(m.cleanups, ['socketIoError:protocolError']);
  await m.peer.stop();
});

t.test('the probe client answers echo, cleanup and tick queries, and bursts in order', async (t) => {
  const m = await master({ periodicMs: 100 });
  const s = await rawSession(m.transport);
  s.send.send({ name: 'probe.echo', body: { token: 1, payload: Uint8Array.of(9, 8, 7) } });
  m.clock.advance(350);
  s.receive.send({ name: 'probe.queryTicks', body: { token: 2 } });
  s.send.send({ name: 'probe.queryCleanup', body: { token: 3 } });
  s.receive.send({ name: 'probe.burst', body: { token: 4, channel: 1, count: 20, itemSize: 10 } });
  await settle(40);
  t.match(s.send.received.find((x) => x.name === 'probe.echoReply')?.body, { token: 1 });
  t.match(s.receive.received.find((x) => x.name === 'probe.ticksReport')?.body, {
    token: 2,
    ticks: 3,
    periodicMs: 100,
  });
  t.match(s.send.received.find((x) => x.name === 'probe.cleanupReport')?.body, {
    token: 3,
    reason: CleanupReason.none,
    cleanups: 0,
  });
  const items = s.send.received
    .filter((x) => x.name === 'probe.burstItem')
    .map((x) => (x.body as { index: number }).index);
  t.same(
    items,
    Array.from({ length: 20 }, (_, i) => i),
    'the burst goes out in order on the asked channel',
  );
  t.match(s.send.received.find((x) => x.name === 'probe.burstDone')?.body, { token: 4, count: 20 });
  await m.peer.stop();
});

t.test('the probe reports the last cleanup reason across sessions', async (t) => {
  const p = await pair({ master: { conformanceProbe: true } });
  await p.backup.deconfigure();
  await settle();
  await p.backup.configure();
  p.clock.advance(1000);
  await settle(40);
  t.ok(p.master.sessionUp);
  const got: unknown[] = [];
  p.backup.register('probe', { message: (msg) => got.push(decodeClientMessage(msg).body) });
  await p.backup.send('probe', { name: 'probe.queryCleanup', body: { token: 9 } });
  await settle();
  t.match(got[0], { token: 9, reason: CleanupReason.nsrDeconfigured, cleanups: 1 });
  await p.master.stop();
  await p.backup.stop();
});

t.test(
  "an ECHO-REQUEST whose reply would exceed the requester's own limit is a protocol error, not a crash",
  async (t) => {
    const m = await master();
    const send = await RawClient.connect(m.transport);
    send.send({ name: 'control.hello', body: RawClient.hello('send', 50n, { maxMessage: 4096 }) });
    const receive = await RawClient.connect(m.transport);
    receive.send({ name: 'control.hello', body: RawClient.hello('receive', 50n, { maxMessage: 4096 }) });
    await settle();
    send.send({ name: 'control.echoRequest', body: { token: 1, payload: new Uint8Array(5000) } });
    await settle();
    t.equal(errorOf(send)?.code, ERROR_VALUES.ERR_FRAME_TOO_LARGE);
    t.ok(send.closed);
    t.equal(m.peer.status().state, 'waiting', 'the peer is healthy');
    await m.peer.stop();
  },
);

t.test('a probe burst never exceeds the largest message the requester advertised', async (t) => {
  const m = await master();
  const send = await RawClient.connect(m.transport);
  send.send({ name: 'control.hello', body: RawClient.hello('send', 51n, { maxMessage: 4096 }) });
  const receive = await RawClient.connect(m.transport);
  receive.send({ name: 'control.hello', body: RawClient.hello('receive', 51n, { maxMessage: 4096 }) });
  await settle();
  send.send({ name: 'probe.burst', body: { token: 9, channel: 1, count: 3, itemSize: 4096 } });
  send.send({ name: 'probe.burst', body: { token: 10, channel: 1, count: 3, itemSize: 100 } });
  await settle(40);
  t.ok(send.received.length > 0 && send.received.every((x) => x.header.length <= 4096), 'nothing above 4096 bytes');
  t.match(send.received.find((x) => x.name === 'probe.burstDone' && (x.body as { token: number }).token === 9)?.body, {
    count: 0,
  });
  t.match(send.received.find((x) => x.name === 'probe.burstDone' && (x.body as { token: number }).token === 10)?.body, {
    count: 3,
  });
  t.ok(m.peer.sessionUp);
  await m.peer.stop();
});

t.test('a HELLO written in a version the master does not speak is still read and answered', async (t) => {
  const m = await master();
  const overlap = await RawClient.connect(m.transport);
  overlap.send({
    name: 'control.hello',
    version: 200,
    body: RawClient.hello('send', 60n, { minVersion: 1, maxVersion: 200 }),
  });
  const disjoint = await RawClient.connect(m.transport);
  disjoint.send({
    name: 'control.hello',
    version: 250,
    body: RawClient.hello('send', 61n, { minVersion: 200, maxVersion: 250 }),
  });
  await settle();
  t.match(overlap.received[0], { name: 'control.helloAck', header: { version: 1 }, body: { version: 1 } });
  t.match(disjoint.received[0], {
    name: 'control.helloReject',
    header: { version: 250 },
    body: { reason: RejectReason.versionIncompatible },
  });
  await m.peer.stop();
});

t.test('before the handshake, only handshake messages may carry an unknown version', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  c.send({ name: 'control.echoRequest', version: 9, body: { token: 1, payload: new Uint8Array(0) } });
  await settle();
  t.equal(errorOf(c)?.code, ERROR_VALUES.ERR_UNSUPPORTED_VERSION);
  await m.peer.stop();
});

t.test(
  'a stream that ends inside a message: the part is not delivered, the error says ERR_STREAM_TRUNCATED, cleanup endOfStream',
  async (t) => {
    const m = await master();
    const delivered: string[] = [];
    m.peer.on('event', (e) => {
      if (e.event === 'rx') delivered.push(e.name ?? '?');
    });
    const { send, receive } = await rawSession(m.transport);
    const whole = encodeMessage({ name: 'prl.packetDrop', seq: 1, body: { handle: 7, count: 3 } });
    send.sendBytes(whole.subarray(0, whole.byteLength - 2));
    await settle();
    send.connection.end();
    await settle();
    t.notOk(delivered.includes('prl.packetDrop'), 'the partial message is not delivered');
    t.ok(
      m.events.some((e) => e.event === 'error' && e.code === 'ERR_STREAM_TRUNCATED' && e.channel === 'send'),
      'an error event ERR_STREAM_TRUNCATED on the send channel',
    );
    t.same(m.cleanups, ['socketIoError:endOfStream'], 'the client cleans up once, endOfStream');
    t.ok(receive.closed, 'the whole session goes down');
    await m.peer.stop();
  },
);
