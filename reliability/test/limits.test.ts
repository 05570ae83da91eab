/**
 * Limits on what the other side can make a peer hold, for those that the other tests do not
 * already pin: replies the protocol obliges a peer to send to a side that never reads
 * (ECHO-REPLY, NACK), and the messages a backup holds for a channel not yet bound. The
 * message length limit is tested by the codec and the conformance suite, the handshake
 * time and the connection limit by floods.test.ts.
 */
import t, { type Test } from 'tap';
import {
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  Flags,
  Framer,
  type DecodedMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { KkcmPeer, MemoryTransport, type Connection, type PeerEvent } from '../../reference-impl/src/index.js';
import { nextEvent } from '../src/session.js';
import { FaultyTransport, RawClient, settle, type FaultyConnection } from '../../reference-impl/test/helpers.js';

const ofCode = (events: readonly PeerEvent[], code: string): PeerEvent[] =>
  events.filter((e) => e.event === 'error' && e.code === code);

/** A master whose accepted connections can be stalled, and a raw backup bound on both channels. */
async function boundRawBackup(
  t: Test,
  options: { queueMessages: number; queueBytes: number },
): Promise<{ master: KkcmPeer; events: PeerEvent[]; send: RawClient; faulty: FaultyTransport }> {
  const memory = new MemoryTransport();
  const faulty = new FaultyTransport(memory);
  const master = new KkcmPeer({ role: 'master', listen: { host: 'm', port: 7000 }, transport: faulty, ...options });
  const events: PeerEvent[] = [];
  master.on('event', (e) => events.push(e));
  t.teardown(() => master.stop());
  master.register('iha', { message: () => undefined });
  await master.configure();
  const send = await RawClient.connect(memory);
  const receive = await RawClient.connect(memory);
  send.send({ name: 'control.hello', body: RawClient.hello('send', 5n) });
  receive.send({ name: 'control.hello', body: RawClient.hello('receive', 5n) });
  await settle();
  t.ok(master.sessionUp, 'the raw backup holds a session');
  return { master, events, send, faulty };
}

/** Stalls the master's side of every accepted connection: its writes pile up, as towards a side that never reads. */
function stallMaster(faulty: FaultyTransport): void {
  for (const c of faulty.connections) (c as FaultyConnection).stalled = true;
}

t.test('a side that sends ECHO-REQUESTs and never reads the replies is cut off at twice the queue bound', async (t) => {
  const { master, events, send, faulty } = await boundRawBackup(t, { queueMessages: 8, queueBytes: 1 << 20 });
  stallMaster(faulty);
  for (let i = 0; i < 40; i++)
    send.send({ name: 'control.echoRequest', body: { token: i, payload: new Uint8Array(100) } });
  await settle();
  t.notOk(master.sessionUp, 'the session ended');
  t.equal(ofCode(events, 'ERR_PEER_NOT_READING').length, 1, 'one error event ERR_PEER_NOT_READING');
  t.match(
    events.find((e) => e.event === 'session-down'),
    { reason: 'socketIoError', detail: 'deadConnection' },
  );
  t.equal(master.stats().errors.ERR_PEER_NOT_READING, 1);
});

t.test(
  'the byte bound holds too: large ECHO-REQUESTs are cut off once their replies pass twice queueBytes',
  async (t) => {
    const { master, events, send, faulty } = await boundRawBackup(t, { queueMessages: 4096, queueBytes: 64 * 1024 });
    stallMaster(faulty);
    // 20 replies of 16 KiB: 320 KiB would be queued, more than 2 × 64 KiB.
    for (let i = 0; i < 20; i++)
      send.send({ name: 'control.echoRequest', body: { token: i, payload: new Uint8Array(16 * 1024) } });
    await settle();
    t.notOk(master.sessionUp);
    t.equal(ofCode(events, 'ERR_PEER_NOT_READING').length, 1);
  },
);

t.test('NACKs to a side that never reads are bounded the same way', async (t) => {
  const { master, events, send, faulty } = await boundRawBackup(t, { queueMessages: 8, queueBytes: 1 << 20 });
  stallMaster(faulty);
  // sdrl has no handler on the master: each confirmed message is NACKed (ERR_NO_HANDLER).
  const msg: MessageInput = {
    name: 'sdrl.socketData',
    body: { handle: 1, streamOffset: 0n, data: new Uint8Array(8) },
    flags: Flags.ackRequested,
  };
  for (let i = 0; i < 40; i++) send.send(msg);
  await settle();
  t.notOk(master.sessionUp);
  t.equal(ofCode(events, 'ERR_PEER_NOT_READING').length, 1);
});

t.test('replies within the bound are all sent once the side reads again', async (t) => {
  const { master, send, faulty } = await boundRawBackup(t, { queueMessages: 8, queueBytes: 1 << 20 });
  stallMaster(faulty);
  for (let i = 0; i < 15; i++)
    send.send({ name: 'control.echoRequest', body: { token: i, payload: new Uint8Array(10) } });
  await settle();
  t.ok(master.sessionUp, 'fifteen replies fit in twice the bound of eight');
  for (const c of faulty.connections) (c as FaultyConnection).release();
  await settle();
  t.equal(send.received.filter((m) => m.name === 'control.echoReply').length, 15, 'every reply arrived');
});

/**
 * A raw master over the memory transport: answers the backup's HELLO on the send channel at
 * once and, before it answers the receive channel's, sends `early` messages on the bound one.
 */
async function rawMasterSendingEarly(
  memory: MemoryTransport,
  early: (seq: number) => Uint8Array,
  count: number,
): Promise<{ received: DecodedMessage[][] }> {
  const received: DecodedMessage[][] = [];
  await memory.listen('m', 7000, (c: Connection) => {
    const framer = new Framer({ anyVersion: true });
    const got: DecodedMessage[] = [];
    received.push(got);
    c.attach({
      data: (chunk) => {
        for (const f of framer.push(chunk)) {
          const m = decodeMessage(f, { anyVersion: true });
          got.push(m);
          if (m.name !== 'control.hello' || m.body.channel !== 1) continue;
          const ack = encodeMessage({
            name: 'control.helloAck',
            body: {
              version: 1,
              role: 1,
              channel: 1,
              features: 0,
              nodeId: 1,
              maxMessage: 262144,
              sessionId: m.body.sessionId,
              nodeName: 'raw-master',
            },
          });
          c.write([ack, ...Array.from({ length: count }, (_, i) => early(i + 1))]);
        }
      },
      drain: () => undefined,
      close: () => undefined,
    });
  });
  return { received };
}

for (const [queueBytes, refused] of [
  [5000, true],
  [7000, false],
] as const) {
  t.test(
    `a backup holds early messages within the queue bound in bytes (${queueBytes}): ${refused ? 'the one beyond it is refused' : 'both fit'}`,
    async (t) => {
      const memory = new MemoryTransport();
      // Two messages of 3,032 bytes each, sent on the bound channel before the other is bound.
      const big = (seq: number): Uint8Array =>
        encodeMessage({
          name: 'sdrl.socketData',
          body: { handle: 1, streamOffset: 0n, data: new Uint8Array(3000) },
          seq,
        });
      t.equal(big(1).byteLength, 3032);
      const raw = await rawMasterSendingEarly(memory, big, 2);
      const backup = new KkcmPeer({
        role: 'backup',
        connect: { host: 'm', port: 7000 },
        transport: memory,
        queueBytes,
        backoff: { initialMs: 60000, maxMs: 60000 },
      });
      t.teardown(() => backup.stop());
      const bound = nextEvent(backup, (e) => e.event === 'channel-bound', 5000, 'the send channel bound');
      await backup.configure();
      await bound;
      await settle();
      const error = raw.received[0]!.find((m) => m.name === 'control.error');
      if (refused) {
        t.equal(
          error?.name === 'control.error' ? ERROR_CODES[error.body.code] : undefined,
          'ERR_UNEXPECTED_MESSAGE',
          'ERROR for the message beyond the bound',
        );
      } else {
        t.equal(error, undefined, 'no ERROR: both are held');
      }
      t.notOk(backup.sessionUp);
    },
  );
}
