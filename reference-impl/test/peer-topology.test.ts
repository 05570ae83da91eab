/**
 * Who listens (design 7.2.b.2, the spec's session.topologies) and the two switchover
 * triggers (design 6.2.1.c): in dual-re RE0 listens whatever its protocol role and keeps
 * listening through a switchover; in cluster the listener moves with mastership; each
 * trigger names the role it leads to, so the second one, in either order, changes nothing.
 */
import t from 'tap';
import {
  ERROR_VALUES,
  RejectReason,
  Role as RoleValue,
  type ControlErrorBody,
  type ControlHelloBody,
  type ControlHelloRejectBody,
} from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, type PeerEvent, type PeerOptions } from '../src/index.js';
import { RawClient, settle } from './helpers.js';

/** RE0 and RE1 of one chassis (dual-re), RE0 listening at re0:7000; sessions up unless `up` is false. */
async function dualRe(roles: { re0: 'master' | 'backup'; re1: 'master' | 'backup' }, up = true) {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const common = { transport, clock, random: () => 0.5, topology: 'dual-re' } as const;
  const re0 = new KkcmPeer({
    ...common,
    role: roles.re0,
    slot: 0,
    listen: { host: 're0', port: 7000 },
    nodeName: 're0',
  });
  const re1 = new KkcmPeer({
    ...common,
    role: roles.re1,
    slot: 1,
    connect: { host: 're0', port: 7000 },
    nodeName: 're1',
  });
  const events = { re0: [] as PeerEvent[], re1: [] as PeerEvent[] };
  re0.on('event', (e) => events.re0.push(e));
  re1.on('event', (e) => events.re1.push(e));
  if (up) {
    await re0.configure();
    await re1.configure();
    clock.advance(0);
    await settle();
  }
  return { clock, transport, re0, re1, events };
}

/** Two chassis of a cluster, each able to listen and to connect; `a` starts as the master. */
async function cluster() {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const common = { transport, clock, random: () => 0.5, topology: 'cluster' } as const;
  const a = new KkcmPeer({
    ...common,
    role: 'master',
    listen: { host: 'a', port: 7000 },
    connect: { host: 'b', port: 7000 },
  });
  const b = new KkcmPeer({
    ...common,
    role: 'backup',
    listen: { host: 'b', port: 7000 },
    connect: { host: 'a', port: 7000 },
  });
  await a.configure();
  await b.configure();
  clock.advance(0);
  await settle();
  return { clock, a, b };
}

/** Lets the connecting side's reconnect delay run out and the handshake finish. */
async function reconnect(clock: ManualClock): Promise<void> {
  await settle();
  clock.advance(1000);
  await settle();
}

const stopAll = async (...peers: KkcmPeer[]): Promise<void> => {
  for (const p of peers) await p.stop();
};

t.test('dual-re: RE0 as backup listens and RE1 as master connects; the session comes up', async (t) => {
  const { re0, re1 } = await dualRe({ re0: 'backup', re1: 'master' });
  t.ok(re0.sessionUp && re1.sessionUp, 'session up on both');
  t.equal(re0.sessionId, re1.sessionId);
  t.same([re0.listens, re1.listens], [true, false], 'RE0 listens, RE1 connects');
  t.same(re0.status().listening, { host: 're0', port: 7000 });
  t.equal(re1.status().listening, null);
  t.same([re0.role, re1.role], ['backup', 'master']);
  await stopAll(re0, re1);
});

const orders: [string, (re0: KkcmPeer, re1: KkcmPeer) => Promise<boolean[]>][] = [
  [
    'relinquish first, then acquire',
    async (re0, re1) => {
      const first = await re1.switchover({ to: 'backup' });
      await settle();
      return [first, await re0.switchover({ to: 'master' })];
    },
  ],
  [
    'acquire first, then relinquish',
    async (re0, re1) => {
      const first = await re0.switchover({ to: 'master' });
      await settle();
      return [first, await re1.switchover({ to: 'backup' })];
    },
  ],
  [
    'both at once',
    async (re0, re1) => Promise.all([re1.switchover({ to: 'backup' }), re0.switchover({ to: 'master' })]),
  ],
];

for (const [name, triggers] of orders) {
  t.test(`dual-re switchover, ${name}: the roles swap once, RE0 keeps listening, RE1 reconnects`, async (t) => {
    const { clock, re0, re1, events } = await dualRe({ re0: 'backup', re1: 'master' });
    const before = re0.sessionId;
    const changed = await triggers(re0, re1);
    await reconnect(clock);
    t.same([re0.role, re1.role], ['master', 'backup'], 'the roles swapped, and not back');
    t.ok(re0.sessionUp && re1.sessionUp, 'a new session came up');
    t.not(re0.sessionId, before, 'it is a new session');
    t.same([re0.listens, re1.listens], [true, false], 'RE0 still listens');
    t.equal(events.re0.filter((e) => e.event === 'listening').length, 1, 'RE0 never closed and reopened its listener');
    t.ok(events.re1.filter((e) => e.event === 'connecting').length >= 2, 'RE1 connected again');
    if (name === 'both at once') t.same(changed, [true, true], 'each trigger changed its own side');
    else t.same(changed, [true, false], 'the second trigger found its role already held');
    const cleanups = events.re0.filter((e) => e.event === 'session-down');
    t.equal(cleanups.length, 1, 'one session went down');
    t.equal((cleanups[0] as { reason: string }).reason, 'switchover');
    await stopAll(re0, re1);
  });
}

t.test('cluster switchover, either order: the listener moves with mastership', async (t) => {
  for (const order of ['relinquish-first', 'acquire-first', 'both'] as const) {
    const { clock, a, b } = await cluster();
    t.same([a.listens, b.listens], [true, false], `${order}: the master listens`);
    if (order === 'relinquish-first') {
      t.equal(await a.switchover({ to: 'backup' }), true);
      await settle();
      t.equal(await b.switchover({ to: 'master' }), false, `${order}: acquire after the SHUTDOWN does nothing`);
    } else if (order === 'acquire-first') {
      t.equal(await b.switchover({ to: 'master' }), true);
      await settle();
      t.equal(await a.switchover({ to: 'backup' }), false, `${order}: relinquish after the SHUTDOWN does nothing`);
    } else {
      t.same(await Promise.all([a.switchover({ to: 'backup' }), b.switchover({ to: 'master' })]), [true, true]);
    }
    await reconnect(clock);
    t.same([a.role, b.role], ['backup', 'master'], `${order}: the roles swapped once`);
    t.same([a.listens, b.listens], [false, true], `${order}: the new master listens`);
    t.equal(a.status().listening, null, `${order}: the old master closed its listener`);
    t.ok(a.sessionUp && b.sessionUp, `${order}: the session came up again, the other way round`);
    await stopAll(a, b);
  }
});

t.test('a switchover without a target swaps whatever the role is', async (t) => {
  const { clock, re0, re1 } = await dualRe({ re0: 'master', re1: 'backup' });
  t.equal(await re0.switchover(), true);
  await reconnect(clock);
  t.same([re0.role, re1.role], ['backup', 'master']);
  await stopAll(re0, re1);
});

t.test('dual-re RE0 refuses a HELLO claiming its own role (roleConflict) or another slot (slotConflict)', async (t) => {
  const { transport, re0 } = await dualRe({ re0: 'backup', re1: 'master' }, false);
  await re0.configure();
  const answer = async (extra: Partial<ControlHelloBody>): Promise<number | undefined> => {
    const c = await RawClient.connect(transport, 're0', 7000);
    c.send({ name: 'control.hello', body: RawClient.hello('send', 77n, { nodeId: 1, ...extra }) });
    await settle();
    const m = c.last();
    c.connection.destroy();
    await settle();
    return m?.name === 'control.helloReject' ? (m.body as ControlHelloRejectBody).reason : undefined;
  };
  t.equal(await answer({ role: RoleValue.backup }), RejectReason.roleConflict, 'both claim backup');
  t.equal(await answer({ role: RoleValue.master, nodeId: 0 }), RejectReason.slotConflict, 'both claim slot 0');
  t.equal(await answer({ role: RoleValue.master }), undefined, 'a master in slot 1 is accepted');
  await re0.stop();
});

t.test(
  'cluster: the master refuses a HELLO that also claims master; a backup in slot-free cluster is accepted',
  async (t) => {
    const clock = new ManualClock();
    const transport = new MemoryTransport();
    const m = new KkcmPeer({ role: 'master', transport, clock, listen: { host: 'm', port: 7000 } });
    await m.configure();
    const c = await RawClient.connect(transport, 'm', 7000);
    c.send({ name: 'control.hello', body: RawClient.hello('send', 5n, { role: RoleValue.master }) });
    const d = await RawClient.connect(transport, 'm', 7000);
    d.send({ name: 'control.hello', body: RawClient.hello('send', 6n, { nodeId: 0 }) });
    await settle();
    t.equal((c.last()?.body as ControlHelloRejectBody).reason, RejectReason.roleConflict);
    t.equal(d.last()?.name, 'control.helloAck', 'nodeId is not checked in cluster');
    await m.stop();
  },
);

t.test('the connecting side closes a HELLO-ACK claiming its own role with ERROR ERR_BAD_HELLO', async (t) => {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const { next, listener } = await RawClient.accept(transport, 're0', 7000);
  const options: PeerOptions = {
    role: 'master',
    topology: 'dual-re',
    slot: 1,
    transport,
    clock,
    connect: { host: 're0', port: 7000 },
  };
  const re1 = new KkcmPeer(options);
  await re1.configure();
  clock.advance(0);
  const server = await next;
  await settle();
  const hello = server.received[0]?.body as ControlHelloBody;
  t.equal(hello.role, RoleValue.master, 'RE1 claims its protocol role');
  t.equal(hello.nodeId, 1, 'RE1 sends its slot as node id');
  server.send({
    name: 'control.helloAck',
    body: { ...hello, version: 1, reserved: undefined, role: RoleValue.master },
  } as never);
  await settle();
  const err = server.received.find((m) => m.name === 'control.error');
  t.equal((err?.body as ControlErrorBody | undefined)?.code, ERROR_VALUES.ERR_BAD_HELLO);
  t.notOk(re1.sessionUp);
  await re1.stop();
  await listener.close();
});

t.test('dual-re peer down: RE1 takes mastership with masterOffline and keeps connecting', async (t) => {
  const { clock, re0, re1, events } = await dualRe({ re0: 'master', re1: 'backup' });
  await re1.peerDown();
  await settle();
  t.equal(re1.role, 'master');
  t.equal(re1.listens, false, 'RE1 still connects');
  const down = events.re1.find((e) => e.event === 'session-down') as { detail: string } | undefined;
  t.equal(down?.detail, 'masterOffline');
  await re0.switchover({ to: 'backup' });
  re1.peerUp();
  await reconnect(clock);
  t.ok(re1.sessionUp, 'with RE0 back as backup, RE1 connects again as master');
  await stopAll(re0, re1);
});

t.test('the listening side keeps accepting while membership says the other side is offline', async (t) => {
  const { clock, re0, re1 } = await dualRe({ re0: 'master', re1: 'backup' });
  await re0.peerDown();
  await re1.switchover({ to: 'backup' }); // already backup: nothing
  await reconnect(clock);
  t.equal(re0.status().peerAlive, false, 'membership still says offline');
  t.ok(re0.sessionUp, 'yet the HELLO from RE1 was accepted: the session is up');
  await stopAll(re0, re1);
});
