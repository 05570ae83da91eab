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
  decodeMessage,
  type ControlErrorBody,
  type ControlHelloBody,
  type DecodedMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, type PeerEvent } from '../src/index.js';
import type { Connection } from '../src/transport.js';
import { FaultyTransport, pair, RawClient, settle } from './helpers.js';

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
    backup.register('prl', { message: (msg) => got.push(msg.name) });
    backup.register('iha', { message: (msg) => got.push(msg.name) });
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
        const { handle, packet } = m.body as { handle: number; packet: Uint8Array };
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
