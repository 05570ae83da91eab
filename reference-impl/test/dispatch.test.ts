/**
 * Dispatch: client data is opaque to KKCM (design 7.2.c, 7.2.e; KKCM-DISP-3). Whatever the
 * body of a client-owned type, the message goes whole to its client's handler and the session
 * stays up; a handler's refusal is counted, traced and NACKed, never a protocol error.
 */
import t from 'tap';
import {
  decodeClientMessage,
  encodeMessage,
  encodeRaw,
  ERROR_VALUES,
  Flags,
  HEADER_SIZE,
  type ClientMessage,
  type ControlNackBody,
} from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, type PeerEvent } from '../src/index.js';
import { RawClient, settle } from './helpers.js';

/** A master over the memory transport with counting IHA, SDRL and PRL handlers. */
async function master(handler: (m: ClientMessage) => unknown = () => undefined): Promise<{
  peer: KkcmPeer;
  transport: MemoryTransport;
  events: PeerEvent[];
  delivered: ClientMessage[];
}> {
  const transport = new MemoryTransport();
  const peer = new KkcmPeer({ role: 'master', listen: { host: 'm', port: 7000 }, transport, clock: new ManualClock() });
  const events: PeerEvent[] = [];
  const delivered: ClientMessage[] = [];
  peer.on('event', (e) => events.push(e));
  for (const client of ['iha', 'sdrl', 'psrm', 'prl'] as const)
    peer.register(client, {
      message: (m) => {
        // The body is a view into the chunk: keep a copy, as a client that keeps it must.
        delivered.push({ ...m, body: Uint8Array.from(m.body) });
        return handler(m);
      },
    });
  await peer.configure();
  return { peer, transport, events, delivered };
}

/** A raw backup that completed both handshakes. */
async function rawSession(transport: MemoryTransport): Promise<{ send: RawClient; receive: RawClient }> {
  const send = await RawClient.connect(transport);
  send.send({ name: 'control.hello', body: RawClient.hello('send', 77n) });
  const receive = await RawClient.connect(transport);
  receive.send({ name: 'control.hello', body: RawClient.hello('receive', 77n) });
  await settle();
  return { send, receive };
}

/** `n` bytes of a fixed pseudo-random sequence (a linear congruential generator). */
function randomBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A message of `type.subtype` with exactly `body`, numbered by `c`. */
function raw(c: RawClient, type: number, subtype: number, body: Uint8Array, flags = 0): Uint8Array {
  return encodeRaw({ type, subtype, flags, seq: c.seq++, body });
}

/** The spec's illustrative names of the client messages the first test sends, by `type.subtype`. */
const MESSAGE_NAME: Record<string, string> = {
  '17.2': 'sdrl.socketDataAck',
  '16.1': 'iha.handleSetupV4',
  '18.1': 'psrm.tcpState',
};

t.test('client messages with any body are delivered whole to the handler and the session stays up', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  const sdrl = encodeMessage({ name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 5n } });
  const sdrlLonger = Uint8Array.of(...sdrl.subarray(HEADER_SIZE), 0xaa, 0xbb, 0xcc);
  const bodies: [number, number, Uint8Array, string][] = [
    [0x11, 0x02, sdrlLonger, 'an SDRL SOCKET-DATA-ACK with 3 bytes past its illustrative layout'],
    [0x10, 0x01, randomBytes(37, 7), 'an IHA HANDLE-SETUP-V4 with a random body'],
    [0x12, 0x01, new Uint8Array(0), 'a PSRM TCP-STATE with an empty body'],
    [0x10, 0x77, randomBytes(5, 9), 'an IHA subtype the spec does not list'],
  ];
  for (const [type, subtype, body] of bodies) s.send.sendBytes(raw(s.send, type, subtype, body));
  s.receive.sendBytes(raw(s.receive, 0x20, 0x03, randomBytes(3, 11)));
  s.send.send({ name: 'control.echoRequest', body: { token: 5, payload: Uint8Array.of(1) } });
  await settle();
  t.ok(m.peer.sessionUp, 'the session is up');
  t.same(s.send.names(), ['control.helloAck', 'control.echoReply'], 'no ERROR: the ECHO after them is answered');
  t.notOk(s.send.closed || s.receive.closed, 'both connections are open');
  t.same(
    m.delivered.map((d) => [d.client, d.header.type, d.header.subtype, d.name, [...d.body]]),
    [
      ...bodies.map(([type, subtype, body]) => [
        type === 0x10 ? 'iha' : type === 0x11 ? 'sdrl' : 'psrm',
        type,
        subtype,
        subtype === 0x77 ? null : MESSAGE_NAME[`${type}.${subtype}`],
        [...body],
      ]),
      ['prl', 0x20, 0x03, 'prl.opaque', [...randomBytes(3, 11)]],
    ],
    'each message reached its client with its type, subtype and exact body bytes',
  );
  t.same(
    m.events.filter((e) => e.event === 'error'),
    [],
    'no error event',
  );
  await m.peer.stop();
});

t.test('a client decodes its own body: the illustrative layout refuses the extra bytes, not KKCM', async (t) => {
  const m = await master();
  const s = await rawSession(m.transport);
  const sdrl = encodeMessage({ name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 5n } });
  s.send.sendBytes(raw(s.send, 0x11, 0x02, Uint8Array.of(...sdrl.subarray(HEADER_SIZE), 1, 2, 3)));
  s.send.sendBytes(raw(s.send, 0x11, 0x02, sdrl.subarray(HEADER_SIZE)));
  await settle();
  t.equal(m.delivered.length, 2);
  t.throws(() => decodeClientMessage(m.delivered[0]!), { code: 'ERR_TRAILING_BYTES' });
  t.match(decodeClientMessage(m.delivered[1]!), { name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 5n } });
  t.ok(m.peer.sessionUp);
  await m.peer.stop();
});

t.test('a handler that refuses a message is counted, traced and NACKed; the session stays up', async (t) => {
  const m = await master((msg) => {
    if (msg.header.subtype === 0x01) throw new Error('cannot decode');
    if (msg.header.subtype === 0x02) return false;
    return undefined;
  });
  const s = await rawSession(m.transport);
  const ask = Flags.ackRequested;
  s.send.sendBytes(raw(s.send, 0x11, 0x01, randomBytes(9, 1), ask)); // seq 1: the handler throws
  s.send.sendBytes(raw(s.send, 0x11, 0x02, randomBytes(9, 2), ask)); // seq 2: the handler returns false
  s.send.sendBytes(raw(s.send, 0x11, 0x03, randomBytes(9, 3), ask)); // seq 3: accepted
  s.send.sendBytes(raw(s.send, 0x11, 0x01, randomBytes(9, 4))); // seq 4: refused, no confirmation asked
  await settle();
  const nacks = s.send.received
    .filter((x) => x.name === 'control.nack')
    .map((x) => x.body as ControlNackBody)
    .map((b) => [b.seq, b.code]);
  t.same(nacks, [
    [1, ERROR_VALUES.ERR_HANDLER_FAILED],
    [2, ERROR_VALUES.ERR_HANDLER_FAILED],
  ]);
  t.match(
    s.send.received.find((x) => x.name === 'control.ack'),
    { body: { upTo: 3 } },
    'the accepted one is ACKed',
  );
  t.equal(m.peer.stats().handlerErrors, 3, 'every refusal is counted');
  t.equal(m.events.filter((e) => e.event === 'handler-error').length, 3, 'and traced');
  t.ok(m.peer.sessionUp, 'the session stays up');
  t.notOk(
    s.send.received.some((x) => x.name === 'control.error'),
    'no ERROR',
  );
  await m.peer.stop();
});

t.test('KKCM still checks what is its own: the channel of a client type, and control bodies', async (t) => {
  const a = await master();
  const s = await rawSession(a.transport);
  s.send.sendBytes(raw(s.send, 0x20, 0x03, randomBytes(3, 1))); // PRL on the send channel
  await settle();
  t.match(s.send.received.at(-1), { name: 'control.error', body: { code: ERROR_VALUES.ERR_WRONG_CHANNEL } });
  t.notOk(a.peer.sessionUp);
  t.equal(a.delivered.length, 0);
  await a.peer.stop();

  const b = await master();
  const r = await rawSession(b.transport);
  const ack = encodeMessage({ name: 'control.ack', body: { upTo: 0 } });
  r.send.sendBytes(raw(r.send, 0x01, 0x08, Uint8Array.of(...ack.subarray(HEADER_SIZE), 0)));
  await settle();
  t.match(r.send.received.at(-1), { name: 'control.error', body: { code: ERROR_VALUES.ERR_TRAILING_BYTES } });
  t.notOk(b.peer.sessionUp);
  await b.peer.stop();
});
