/**
 * The send path and the dispatch of the reference peer: waiting sends keep the call order,
 * every failure is a rejection, statistics are exact with or without a listener, and a
 * throwing handler is isolated.
 */
import t from 'tap';
import type { MessageInput } from '../../codec/src/index.js';
import { MemoryTransport } from '../src/index.js';
import { FaultyTransport, handleOf, pair, settle } from './helpers.js';

const packet = (handle: number, bytes: number): MessageInput => ({
  name: 'prl.packet',
  body: { handle, direction: 1, ifIndex: 2, timestampNs: 5n, packet: new Uint8Array(bytes) },
});

t.test('waiting sends keep their order when a smaller message would fit before a larger one', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  // Room for 2000 bytes: two 600-byte messages fill most of it, a 1000-byte one must wait.
  const p = await pair({ transport: faulty, master: { queueBytes: 2000 } });
  const got: number[] = [];
  p.backup.register('prl', { message: (m) => got.push(handleOf(m)) });
  const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
  for (const c of masterSide) c.stalled = true;
  // One batch leaves the queue for the (stalled) transport, then the queue fills up.
  await p.master.send('prl', packet(0, 16));
  await settle();
  await p.master.send('prl', packet(1, 564));
  await p.master.send('prl', packet(2, 564));
  const sends = [
    p.master.send('prl', packet(3, 964), { wait: true }),
    p.master.send('prl', packet(4, 16), { wait: true }),
  ];
  await settle();
  t.equal(p.master.status().queues.receive.depth, 2, 'the large message waits; the small one waits behind it');
  for (const c of masterSide) c.release();
  await Promise.all(sends);
  await settle();
  t.same(got, [0, 1, 2, 3, 4], 'delivered in the order of the calls');
  await p.master.stop();
  await p.backup.stop();
});

t.test('a send without wait behind a waiting send fails with ERR_QUEUE_FULL rather than overtake it', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { queueBytes: 2000 } });
  const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
  for (const c of masterSide) c.stalled = true;
  await p.master.send('prl', packet(0, 16));
  await settle();
  await p.master.send('prl', packet(1, 1164));
  const waiting = p.master.send('prl', packet(2, 964), { wait: true });
  await t.rejects(
    p.master.send('prl', packet(3, 16)),
    { code: 'ERR_QUEUE_FULL' },
    'it would fit, but not before the waiting one',
  );
  for (const c of masterSide) c.release();
  await waiting;
  await p.master.stop();
  await p.backup.stop();
});

t.test('send never throws: every failure is a rejection', async (t) => {
  const p = await pair({ up: false });
  let threw = false;
  let sent: Promise<void> | undefined;
  try {
    sent = p.master.send('prl', packet(1, 4));
  } catch {
    threw = true;
  }
  t.notOk(threw, 'no exception from the call');
  await t.rejects(sent!, { code: 'ERR_NOT_CONFIGURED' });
  await t.rejects(p.master.send('iha', packet(1, 4)), { code: 'ERR_WRONG_CLIENT' });
  await t.rejects(p.master.send('prl', { name: 'prl.nothing' } as unknown as MessageInput), {
    code: 'ERR_UNKNOWN_MESSAGE',
  });
  await p.master.stop();
  await p.backup.stop();
});

t.test('a waiting send with confirm resolves once the other side accepted it', async (t) => {
  const faulty = new FaultyTransport(new MemoryTransport());
  const p = await pair({ transport: faulty, master: { queueMessages: 1 } });
  const got: number[] = [];
  p.backup.register('prl', { message: (m) => got.push(handleOf(m)) });
  const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
  for (const c of masterSide) c.stalled = true;
  await p.master.send('prl', packet(0, 4));
  await settle();
  await p.master.send('prl', packet(1, 4));
  let confirmed = false;
  const waiting = p.master.send('prl', packet(2, 4), { wait: true, confirm: true }).then(() => {
    confirmed = true;
  });
  await settle();
  t.notOk(confirmed);
  for (const c of masterSide) c.release();
  await waiting;
  t.same(got, [0, 1, 2], 'confirmed after the handler had it');
  await p.master.stop();
  await p.backup.stop();
});

/** Sends a mix of types, partly in batches cut inside a run of one type; returns the stats of both sides. */
async function traffic(traced: boolean): Promise<{ master: unknown; backup: unknown; txEvents: string[] }> {
  const p = await pair();
  const txEvents: string[] = [];
  if (!traced) {
    p.master.removeAllListeners('event');
    p.backup.removeAllListeners('event');
  } else {
    p.master.on('event', (e) => {
      if (e.event === 'tx' && e.type !== 1) txEvents.push(`${e.name ?? ''}#${e.seq}`);
    });
  }
  p.backup.register('prl', { message: () => undefined });
  p.backup.register('iha', { message: () => undefined });
  const sends: Promise<void>[] = [];
  // Five 60 KiB packets: the 256 KiB batch ends inside the run.
  for (let i = 0; i < 5; i++) sends.push(p.master.send('prl', packet(i, 60_000)));
  sends.push(p.master.send('prl', { name: 'prl.packetDrop', body: { handle: 1, count: 2 } }));
  sends.push(p.master.send('prl', packet(9, 10)));
  sends.push(p.master.send('iha', { name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } }));
  await Promise.all(sends);
  await settle();
  const master = p.master.stats();
  const backup = p.backup.stats();
  await p.master.stop();
  await p.backup.stop();
  return { master, backup, txEvents };
}

t.test(
  'statistics are exact per channel and type, counted per run of one type, whether or not anyone traces',
  async (t) => {
    const quiet = await traffic(false);
    const traced = await traffic(true);
    const m = quiet.master as {
      channels: { receive: { txMessages: number; txBytes: number } };
      types: Record<string, { tx: number; txBytes: number }>;
    };
    t.equal(m.types['prl.packet']?.tx, 6);
    t.equal(m.types['prl.packet']?.txBytes, 5 * 60_036 + 46);
    t.equal(m.types['prl.packetDrop']?.tx, 1);
    t.equal(m.types['iha.handleTeardown']?.tx, 1);
    const b = quiet.backup as { types: Record<string, { rx: number; rxBytes: number }> };
    t.equal(b.types['prl.packet']?.rx, 6);
    t.equal(b.types['prl.packet']?.rxBytes, 5 * 60_036 + 46);
    t.same(traced.master, quiet.master, 'the same counters with a listener attached');
    t.same(traced.backup, quiet.backup);
    t.same(
      traced.txEvents,
      [
        'prl.packet#1',
        'prl.packet#2',
        'prl.packet#3',
        'prl.packet#4',
        'prl.packet#5',
        'prl.packetDrop#6',
        'prl.packet#7',
        'iha.handleTeardown#1',
      ],
      'one tx event per message, in order (the HELLO-ACK was number 0)',
    );
  },
);

t.test('a message handler that throws a non-Error is isolated like any other', async (t) => {
  const p = await pair();
  const contexts: unknown[] = [];
  p.backup.register('prl', {
    message: (m, ctx) => {
      contexts.push(ctx);
      if (handleOf(m) === 1) throw undefined;
    },
  });
  await t.rejects(p.master.send('prl', packet(1, 4), { confirm: true }), { code: 'ERR_HANDLER_FAILED' }, 'NACKed');
  await p.master.send('prl', packet(2, 4), { confirm: true });
  t.match(
    p.events.backup.filter((e) => e.event === 'handler-error'),
    [{ client: 'prl', handler: 'message', error: 'undefined' }],
  );
  t.equal(p.backup.stats().handlerErrors, 1);
  t.same(contexts, [{ channel: 'receive' }, { channel: 'receive' }], 'the delivery context names the channel');
  await p.master.stop();
  await p.backup.stop();
});

t.test(
  'trySend queues at once when there is room, answers false when the queue is full, and never overtakes a waiting send',
  async (t) => {
    const faulty = new FaultyTransport(new MemoryTransport());
    const p = await pair({ transport: faulty, master: { queueBytes: 2000, queueMessages: 3 } });
    const got: number[] = [];
    p.backup.register('prl', { message: (m) => got.push(handleOf(m)) });
    const masterSide = faulty.connections.filter((c) => c.remote.startsWith('memory:'));
    for (const c of masterSide) c.stalled = true;
    t.equal(p.master.trySend('prl', packet(0, 16)), true, 'queued');
    await settle();
    t.equal(p.master.trySend('prl', packet(1, 1164)), true);
    t.equal(p.master.trySend('prl', packet(2, 964)), false, 'no room for it: not queued');
    t.equal(p.master.stats().errors.ERR_QUEUE_FULL, undefined, 'and not counted as an error');
    const waiting = p.master.send('prl', packet(2, 964), { wait: true });
    t.equal(
      p.master.trySend('prl', packet(3, 16)),
      false,
      'room for a small one, but a send waiting for room goes first',
    );
    t.equal(p.master.status().queues.receive.depth, 1);
    for (const c of masterSide) c.release();
    await waiting;
    t.equal(p.master.trySend('prl', packet(3, 16)), true);
    t.equal(p.master.trySend('prl', packet(4, 16)), true);
    t.equal(p.master.trySend('prl', packet(5, 16)), false, 'the message bound counts too');
    await settle();
    t.same(got, [0, 1, 2, 3, 4], 'in the order of the calls');
    t.throws(() => p.master.trySend('iha', packet(5, 4)), { code: 'ERR_WRONG_CLIENT' }, 'other failures throw');
    t.throws(() => p.master.trySend('prl', packet(5, 4), { channel: 'send' }), { code: 'ERR_WRONG_CHANNEL' });
    t.throws(
      () =>
        p.master.trySend('prl', {
          name: 'prl.packet',
          body: { handle: -1, direction: 1, ifIndex: 2, timestampNs: 5n, packet: new Uint8Array(4) },
        }),
      { code: 'ERR_VALUE_OUT_OF_RANGE' },
    );
    await p.master.stop();
    t.throws(() => p.master.trySend('prl', packet(5, 4)), { code: 'ERR_NOT_CONFIGURED' });
    await p.backup.stop();
  },
);
