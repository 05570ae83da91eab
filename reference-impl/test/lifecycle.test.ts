/**
 * Module lifecycle: init routines called on every session-up (design 6.2, 7.2.b.3), a failed
 * configure() that leaves the module unconfigured, and the periodic service that runs from
 * the clients' init to their cleanup (KKCM-PER-1, design 7.2.g.1).
 */
import t from 'tap';
import { createServer } from 'node:net';
import { KkcmPeer, MemoryTransport, PeerError, type ClientHandlers } from '../src/index.js';
import { FaultyTransport, handleOf, pair, settle } from './helpers.js';

t.test(
  'a PRL-style client registered by its init routine and unregistered in its cleanup gets traffic again after a reconnect',
  async (t) => {
    const faulty = new FaultyTransport(new MemoryTransport());
    const p = await pair({ transport: faulty, up: false });
    const got: string[] = [];
    const prl: ClientHandlers = {
      message: (m) => got.push(`${p.backup.sessionId}:${handleOf(m)}`),
      // The design's jsr_prl_cleanup: its last step unregisters PRL.
      cleanup: () => p.backup.unregister('prl'),
    };
    let inits = 0;
    // The design's jsr_prl_init: registers PRL with KKCM.
    p.backup.addInitRoutine('prl', () => {
      inits++;
      p.backup.register('prl', prl);
    });
    t.throws(() => p.backup.addInitRoutine('prl', () => undefined), { code: 'ERR_DUPLICATE_REGISTRATION' });
    t.throws(() => p.backup.addInitRoutine('kkcm', () => undefined), { code: 'ERR_INVALID_REGISTRATION' });
    await p.master.configure();
    await p.backup.configure();
    p.clock.advance(0);
    await settle();
    t.equal(inits, 1, 'the init routine ran at session-up');
    const first = p.backup.sessionId;
    await p.master.send('prl', { name: 'prl.packetDrop', body: { handle: 1, count: 1 } });
    await settle();
    faulty.connections[0]!.destroy();
    await settle();
    t.notOk(p.backup.status().clients.includes('prl'), 'PRL unregistered itself in its cleanup');
    p.clock.advance(200);
    await settle(40);
    t.ok(p.master.sessionUp && p.backup.sessionUp, 'the backup reconnected');
    t.equal(inits, 2, 'the init routine ran again at the second session-up');
    await p.master.send('prl', { name: 'prl.packetDrop', body: { handle: 2, count: 1 } });
    await settle();
    t.same(got, [`${first}:1`, `${p.backup.sessionId}:2`], 'PRL gets the traffic of both sessions');
    t.equal(p.backup.stats().undelivered, 0, 'nothing undelivered');
    p.backup.removeInitRoutine('prl');
    await p.master.stop();
    await p.backup.stop();
  },
);

t.test('an init routine that throws is isolated: the session comes up and the other routines run', async (t) => {
  const p = await pair({ up: false });
  const ran: string[] = [];
  p.backup.addInitRoutine('iha', () => {
    throw new Error('iha init failed');
  });
  p.backup.addInitRoutine('sdrl', () => ran.push('sdrl'));
  await p.master.configure();
  await p.backup.configure();
  p.clock.advance(0);
  await settle();
  t.ok(p.backup.sessionUp);
  t.same(ran, ['sdrl']);
  t.match(
    p.events.backup.filter((e) => e.event === 'handler-error'),
    [{ client: 'iha', handler: 'init', error: 'iha init failed' }],
  );
  await p.master.stop();
  await p.backup.stop();
});

t.test(
  'a configure() that cannot listen leaves the module unconfigured with ERR_LISTEN_FAILED, and a retry works',
  async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const peer = new KkcmPeer({ role: 'master', listen: { host: '127.0.0.1', port } });
    const errors: string[] = [];
    peer.on('event', (e) => {
      if (e.event === 'error') errors.push(e.code);
    });
    const err = await peer.configure().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof PeerError, 'a PeerError');
    t.equal((err as PeerError).code, 'ERR_LISTEN_FAILED');
    t.same(errors, ['ERR_LISTEN_FAILED'], 'and an error event');
    t.equal(peer.status().configured, false, 'the module is not configured');
    t.equal(peer.listenAddress, undefined, 'nothing listens');
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    await peer.configure();
    t.equal(peer.status().configured, true, 'the retry configures the module');
    t.equal(peer.listenAddress?.port, port, 'and listens on the port');
    await peer.stop();
  },
);

t.test('the periodic service runs from the clients init to their cleanup, not while no session is up', async (t) => {
  const p = await pair({ up: false, master: { periodicMs: 100 } });
  let ticks = 0;
  p.master.register('sdrl', { periodic: () => ticks++ });
  await p.master.configure();
  p.clock.advance(1000);
  await settle();
  t.equal(ticks, 0, 'configured, no session: no periodic call (no client is initialised)');
  await p.backup.configure();
  p.clock.advance(0);
  await settle();
  t.ok(p.master.sessionUp);
  p.clock.advance(1000);
  await settle();
  t.equal(ticks, 10, 'ten calls in ten intervals while the session is up');
  await p.backup.stop();
  await settle();
  t.notOk(p.master.sessionUp);
  p.clock.advance(1000);
  await settle();
  t.equal(ticks, 10, 'none after the cleanup (design 7.2.g.1 stops the periodic timer)');
  await p.master.stop();
});
