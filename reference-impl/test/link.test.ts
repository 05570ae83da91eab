/**
 * The link's receive path: messages are decoded one by one and handled before the next
 * one's header is checked, so what the handshake settles (version, channel) applies from the
 * very next message, in the same TCP chunk too, on both sides of the handshake.
 */
import t from 'tap';
import {
  encodeMessage,
  ERROR_VALUES,
  Framer,
  decodeClientMessage,
  decodeMessage,
  type ControlErrorBody,
  type ControlHelloBody,
  type DecodedMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, type PeerEvent } from '../src/index.js';
import type { Connection } from '../src/transport.js';
import { FaultyTransport, pair, RawClient, settle } from './helpers.js';
import { moveHandshakeRules, specCopy } from './spec-copy.js';

async function master(): Promise<{ peer: KkcmPeer; transport: MemoryTransport; events: PeerEvent[] }> {
  const transport = new MemoryTransport();
  const peer = new KkcmPeer({ role: 'master', listen: { host: 'm', port: 7000 }, transport, clock: new ManualClock() });
  const events: PeerEvent[] = [];
  peer.on('event', (e) => events.push(e));
  await peer.configure();
  return { peer, transport, events };
}

const bytes = (...msgs: MessageInput[]): Buffer => Buffer.concat(msgs.map((m) => encodeMessage(m)));
const hello = (channel: 'send' | 'receive', seq = 0): MessageInput => ({
  name: 'control.hello',
  seq,
  body: RawClient.hello(channel, 77n),
});
const errorOf = (c: RawClient): ControlErrorBody | undefined =>
  c.received.find((m) => m.name === 'control.error')?.body as ControlErrorBody | undefined;

t.test('a message right behind the HELLO in the same chunk is read as a message of the bound channel', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  c.sendBytes(
    bytes(hello('send'), { name: 'control.echoRequest', seq: 1, body: { token: 5, payload: Uint8Array.of(1, 2) } }),
  );
  await settle();
  t.same(
    c.names(),
    ['control.helloAck', 'control.echoReply'],
    'bound by the HELLO, the link answers the ECHO-REQUEST behind it',
  );
  t.match(c.received[1]?.body, { token: 5 });
  await m.peer.stop();
});

t.test(
  'behind the HELLO in the same chunk, the channel mapping applies: a PRL message on the send channel is refused, and quoted',
  async (t) => {
    const m = await master();
    const c = await RawClient.connect(m.transport);
    c.sendBytes(bytes(hello('send'), { name: 'prl.packetDrop', seq: 1, body: { handle: 1, count: 1 } }));
    await settle();
    t.match(
      errorOf(c),
      { code: ERROR_VALUES.ERR_WRONG_CHANNEL, offendingSeq: 1, offendingType: 0x20 },
      'ERROR names the message',
    );
    t.ok(c.closed);
    await m.peer.stop();
  },
);

t.test('behind the HELLO in the same chunk, the negotiated version applies', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  c.sendBytes(
    bytes(hello('send'), {
      name: 'control.echoRequest',
      seq: 1,
      version: 2,
      body: { token: 5, payload: Uint8Array.of() },
    }),
  );
  await settle();
  t.equal(errorOf(c)?.code, ERROR_VALUES.ERR_UNSUPPORTED_VERSION);
  t.ok(c.closed);
  await m.peer.stop();
});

t.test('a body that fails to decode is quoted in the ERROR; a bad header is not', async (t) => {
  const m = await master();
  const c = await RawClient.connect(m.transport);
  const echo = Buffer.from(
    encodeMessage({ name: 'control.echoRequest', seq: 1, body: { token: 5, payload: Uint8Array.of(1) } }),
  );
  echo.writeUInt32BE(9, 20); // the payload's length field: 9 bytes announced, 1 present
  c.sendBytes(Buffer.concat([encodeMessage(hello('send')), echo]));
  await settle();
  t.match(errorOf(c), {
    code: ERROR_VALUES.ERR_BAD_LENGTH_FIELD,
    offendingSeq: 1,
    offendingType: 1,
    offendingSubtype: 4,
  });
  const d = await RawClient.connect(m.transport);
  const garbage = Buffer.from(encodeMessage(hello('receive', 0)));
  garbage[0] = 0;
  d.sendBytes(garbage);
  await settle();
  t.match(errorOf(d), {
    code: ERROR_VALUES.ERR_BAD_MAGIC,
    offendingSeq: 0xffffffff,
    offendingType: 0,
    offendingSubtype: 0,
  });
  await m.peer.stop();
});

/** A raw master: answers each HELLO with a HELLO-ACK followed, in the same chunk, by `behind(channel)`. */
async function rawMaster(
  transport: MemoryTransport,
  behind: (channel: number) => Uint8Array,
): Promise<{ got: DecodedMessage[] }> {
  const got: DecodedMessage[] = [];
  await transport.listen('m', 7000, (conn: Connection) => {
    const framer = new Framer({ anyVersion: true });
    conn.attach({
      data: (chunk) => {
        for (const f of framer.push(chunk)) {
          const msg = decodeMessage(f, { anyVersion: true });
          got.push(msg);
          if (msg.name !== 'control.hello') continue;
          const h: ControlHelloBody = msg.body;
          const ack = encodeMessage({
            name: 'control.helloAck',
            body: {
              version: 1,
              role: 1,
              channel: h.channel,
              features: 1,
              nodeId: 1,
              maxMessage: 262144,
              sessionId: h.sessionId,
              nodeName: 'raw',
            },
          });
          conn.write([Buffer.concat([ack, behind(h.channel)])]);
        }
      },
      drain: () => undefined,
      close: () => undefined,
    });
  });
  return { got };
}

t.test(
  'the connector reads a message right behind the HELLO-ACK in the same chunk under the negotiated version',
  async (t) => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    await rawMaster(transport, (channel) =>
      encodeMessage(
        channel === 2
          ? { name: 'prl.packetDrop', seq: 1, body: { handle: 3, count: 4 } }
          : { name: 'iha.handleTeardown', seq: 1, body: { handle: 3, reason: 1 } },
      ),
    );
    const backup = new KkcmPeer({ role: 'backup', connect: { host: 'm', port: 7000 }, transport, clock });
    const got: string[] = [];
    backup.register('prl', { message: (msg) => got.push(msg.name ?? 'unlisted') });
    backup.register('iha', { message: (msg) => got.push(msg.name ?? 'unlisted') });
    await backup.configure();
    clock.advance(0);
    await settle();
    t.ok(backup.sessionUp);
    t.same(
      got.sort(),
      ['iha.handleTeardown', 'prl.packetDrop'],
      "each channel's first message, delivered once the session is up",
    );
    await backup.stop();

    const t2 = new MemoryTransport();
    const c2 = new ManualClock();
    const raw = await rawMaster(t2, () =>
      encodeMessage({ name: 'control.echoRequest', seq: 1, version: 2, body: { token: 1, payload: Uint8Array.of() } }),
    );
    const b2 = new KkcmPeer({ role: 'backup', connect: { host: 'm', port: 7000 }, transport: t2, clock: c2 });
    await b2.configure();
    c2.advance(0);
    await settle();
    const errors = raw.got.filter((m) => m.name === 'control.error').map((m) => (m.body as ControlErrorBody).code);
    t.ok(
      errors.length > 0 && errors.every((code) => code === ERROR_VALUES.ERR_UNSUPPORTED_VERSION),
      'version 2 right behind a HELLO-ACK for version 1 is refused',
    );
    await b2.stop();
  },
);

t.test(
  'large messages go into buffers recycled only once the transport drained: every message arrives intact',
  async (t) => {
    const faulty = new FaultyTransport(new MemoryTransport());
    const p = await pair({ transport: faulty });
    const got: string[] = [];
    p.backup.register('prl', {
      message: (m) => {
        const { handle, packet } = decodeClientMessage(m).body as unknown as { handle: number; packet: Uint8Array };
        got.push(`${handle}:${packet.every((x) => x === handle) ? 'intact' : 'damaged'}`);
      },
    });
    const buffers: ArrayBufferLike[] = [];
    p.master.on('frame', (_channel, direction, frame) => {
      if (direction === 'tx' && frame.byteLength > 60_000) buffers.push(frame.buffer);
    });
    const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
    const big = (handle: number): MessageInput => ({
      name: 'prl.packet',
      body: { handle, direction: 1, ifIndex: 2, timestampNs: 5n, packet: new Uint8Array(60_000).fill(handle) },
    });
    for (const c of masterSide) c.stalled = true;
    // Written while the transport holds them: none may be reused before it drains.
    for (let i = 1; i <= 6; i++) await p.master.send('prl', big(i));
    await settle();
    for (let i = 7; i <= 12; i++) await p.master.send('prl', big(i));
    await settle();
    t.equal(new Set(buffers).size, buffers.length, 'no buffer reused while the transport holds it');
    for (const c of masterSide) c.release();
    await settle();
    for (let i = 13; i <= 24; i++) await p.master.send('prl', big(i));
    await settle();
    t.ok(new Set(buffers).size < buffers.length, 'buffers written before the drain were reused after it');
    t.same(
      got,
      Array.from({ length: 24 }, (_, i) => `${i + 1}:intact`),
      'in order, every byte as sent',
    );
    await p.master.stop();
    await p.backup.stop();
  },
);

// ------------------------------------------------------------------ rules read from the spec

type LinkModule = typeof import('../src/link.js');
type CodecModule = typeof import('../../codec/src/index.js');
type ClockModule = typeof import('../src/clock.js');

/** A bare acceptor link of `link` (bundled or from a spec copy) over a fake connection, and what it wrote. */
function acceptor(
  link: LinkModule,
  clock: ClockModule,
  codec: CodecModule,
): { feed(...frames: Uint8Array[]): Promise<void>; written: DecodedMessage[]; l: InstanceType<LinkModule['Link']> } {
  const written: DecodedMessage[] = [];
  let handlers: { data(chunk: Uint8Array): void } | undefined;
  const connection: Connection = {
    remote: 'raw:1',
    remoteHost: 'raw',
    attach: (h) => (handlers = h),
    write: (chunks) => {
      for (const c of chunks) written.push(codec.decodeMessage(c, { anyVersion: true }));
      return true;
    },
    end: () => undefined,
    destroy: () => undefined,
  };
  const owner = {
    onHello: (_: unknown, hello: ControlHelloBody) => ({
      accept: {
        version: 1,
        role: 1,
        features: 0,
        nodeId: 1,
        maxMessage: 262144,
        sessionId: hello.sessionId,
        nodeName: 'm',
      },
    }),
    onBound: () => undefined,
    onRejected: () => undefined,
    checkHelloAck: () => undefined,
    onMessage: () => undefined,
    onIgnored: () => undefined,
    onAck: () => undefined,
    onNack: () => undefined,
    onEchoReply: () => undefined,
    onShutdown: () => undefined,
    onDown: () => undefined,
    onQueueSpace: () => undefined,
    counters: () => undefined,
    tracing: false,
    onTrace: () => undefined,
  };
  const l = new link.Link(
    connection,
    {
      side: 'acceptor',
      clock: new clock.ManualClock(),
      maxMessage: 262144,
      handshakeTimeoutMs: 5000,
      lingerMs: 1000,
      queueMessages: 100,
      queueBytes: 1 << 20,
    },
    owner as unknown as import('../src/link.js').LinkOwner,
  );
  const feed = async (...frames: Uint8Array[]): Promise<void> => {
    for (const f of frames) handlers?.data(f);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { feed, written, l };
}

t.test('the link follows the handshake marks of the spec: a change to the spec alone changes it', async (t) => {
  // The same bytes: a HELLO naming the receive channel, an ECHO-REQUEST written in version 9
  // before the handshake, an ECHO-REQUEST after it.
  const helloOf = (codec: CodecModule, channelField: string): Uint8Array => {
    const { channel: _, ...rest } = RawClient.hello('receive', 5n);
    return codec.encodeMessage({ name: 'control.hello', body: { ...rest, [channelField]: 2 } } as MessageInput);
  };
  const echo = (codec: CodecModule, seq: number, version?: number): Uint8Array =>
    codec.encodeMessage({ name: 'control.echoRequest', seq, version, body: { token: 7, payload: Uint8Array.of(1) } });
  const bundled = {
    link: await import('../src/link.js'),
    clock: await import('../src/clock.js'),
    codec: await import('../../codec/src/index.js'),
  };

  const copy = specCopy(moveHandshakeRules);
  t.teardown(() => copy.remove());
  const moved = {
    link: await copy.load<LinkModule>('reference-impl/src/link.ts'),
    clock: await copy.load<ClockModule>('reference-impl/src/clock.ts'),
    codec: await copy.load<CodecModule>('codec/src/index.ts'),
  };
  t.same(
    moved.codec.HANDSHAKE_MESSAGES,
    {
      'control.hello': { channelField: 'carrier' },
      'control.helloAck': { channelField: 'channel', versionField: 'version' },
      'control.helloReject': {},
      'control.echoRequest': {},
    },
    'the regenerated codec carries the edited marks',
  );

  const codeOf = (written: DecodedMessage[]): string | undefined => {
    const e = written.find((m) => m.name === 'control.error')?.body as ControlErrorBody | undefined;
    return e === undefined ? undefined : Object.entries(ERROR_VALUES).find(([, v]) => v === e.code)?.[0];
  };

  // Before the handshake, an ECHO-REQUEST in a version nobody speaks.
  const early = acceptor(bundled.link, bundled.clock, bundled.codec);
  await early.feed(echo(bundled.codec, 0, 9));
  t.equal(
    codeOf(early.written),
    'ERR_UNSUPPORTED_VERSION',
    'bundled spec: not a handshake message, its version is checked',
  );
  const earlyMoved = acceptor(moved.link, moved.clock, moved.codec);
  await earlyMoved.feed(echo(moved.codec, 0, 9));
  t.equal(
    codeOf(earlyMoved.written),
    'ERR_UNEXPECTED_MESSAGE',
    'edited spec: a handshake message, read in any version, then refused as not a HELLO',
  );

  // The HELLO, then an ECHO-REQUEST on the bound link.
  const a = acceptor(bundled.link, bundled.clock, bundled.codec);
  await a.feed(helloOf(bundled.codec, 'channel'), echo(bundled.codec, 1));
  t.equal(a.l.channel, 'receive', 'bundled spec: the channel comes from HELLO.channel');
  t.same(
    a.written.map((m) => m.name),
    ['control.helloAck', 'control.echoReply'],
    'bundled spec: ECHO-REQUEST answered',
  );
  const b = acceptor(moved.link, moved.clock, moved.codec);
  await b.feed(helloOf(moved.codec, 'carrier'), echo(moved.codec, 1));
  t.equal(b.l.channel, 'receive', 'edited spec: the channel comes from HELLO.carrier');
  t.match(b.written[0], { name: 'control.helloAck', body: { channel: 2 } }, 'and the HELLO-ACK names it');
  t.same(
    b.written.map((m) => m.name),
    ['control.helloAck', 'control.error'],
    'edited spec: a handshake message after binding is refused',
  );
  t.equal(codeOf(b.written), 'ERR_UNEXPECTED_MESSAGE');
});
