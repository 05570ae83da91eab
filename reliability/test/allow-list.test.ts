/**
 * The allow-list: a connection from a host not on it gets HELLO-REJECT notAllowed and the
 * master reports it (`refused` event, `connectionsRefused`). Loopback aliases only:
 * 127.0.0.1 and 127.0.0.2 are two hosts of the loopback network, ::1 another.
 */
import { connect as netConnect } from 'node:net';
import t from 'tap';
import { decodeMessage, encodeMessage, Framer, RejectReason, type DecodedMessage } from '../../codec/src/index.js';
import {
  KkcmPeer,
  MemoryTransport,
  type Connection,
  type Listener,
  type PeerEvent,
  type Transport,
} from '../../reference-impl/src/index.js';
import { LiveSession, nextEvent } from '../src/session.js';
import { ipv6Missing } from './support.js';

const noIpv6 = await ipv6Missing();

const hello = (sessionId: bigint): Uint8Array =>
  encodeMessage({
    name: 'control.hello',
    body: {
      minVersion: 1,
      maxVersion: 1,
      role: 2,
      channel: 1,
      features: 0,
      nodeId: 1,
      maxMessage: 262144,
      sessionId,
      nodeName: 'stranger',
    },
  });

/** Sends a HELLO from `localAddress` and returns what came back before the close. */
function helloFrom(port: number, localAddress: string): Promise<DecodedMessage[]> {
  return new Promise((resolve, reject) => {
    const framer = new Framer({ anyVersion: true });
    const got: DecodedMessage[] = [];
    const s = netConnect({ port, host: '127.0.0.1', localAddress }, () => s.write(hello(99n)));
    s.on('data', (d: Buffer) => {
      for (const f of framer.push(d)) got.push(decodeMessage(f, { anyVersion: true }));
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

const refused = (e: PeerEvent): boolean => e.event === 'refused';

t.test('a backup from a host not on the allow-list gets HELLO-REJECT notAllowed; the master reports it', async (t) => {
  // The list names only ::1; the backup comes from 127.0.0.1 (no IPv6 needed for that).
  const master = new KkcmPeer({ role: 'master', listen: { host: '127.0.0.1', port: 0 }, allow: ['::1'] });
  t.teardown(() => master.stop());
  await master.configure();
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: '127.0.0.1', port: master.listenAddress!.port },
    backoff: { initialMs: 1000, maxMs: 1000 },
  });
  t.teardown(() => backup.stop());
  const onMaster = nextEvent(master, refused, 5000, 'refused on the master');
  const onBackup = nextEvent(backup, (e) => e.event === 'rejected', 5000, 'rejected on the backup');
  await backup.configure();
  t.match(await onMaster, { event: 'refused', reason: 'notAllowed', remote: /^127\.0\.0\.1:/ });
  t.match(await onBackup, { event: 'rejected', reason: 'notAllowed', text: /127\.0\.0\.1 is not on the allow-list/ });
  t.notOk(master.sessionUp);
  t.ok(master.stats().connectionsRefused >= 1);
  t.equal(master.stats().sessions.up, 0);
});

t.test('an allow-list entry for ::1 admits a backup connecting from ::1', { skip: noIpv6 ?? false }, async (t) => {
  const master = new KkcmPeer({ role: 'master', listen: { host: '::1', port: 0 }, allow: ['::1'] });
  t.teardown(() => master.stop());
  await master.configure();
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: '::1', port: master.listenAddress!.port },
    backoff: { initialMs: 20, maxMs: 200 },
  });
  t.teardown(() => backup.stop());
  const events: PeerEvent[] = [];
  master.on('event', (e) => events.push(e));
  const up = Promise.all([
    nextEvent(master, (e) => e.event === 'session-up', 5000, 'session-up on the master'),
    nextEvent(backup, (e) => e.event === 'session-up', 5000, 'session-up on the backup'),
  ]);
  await backup.configure();
  await up;
  const accepted = events.filter((e) => e.event === 'accepted');
  t.equal(accepted.length, 2, 'both channels accepted');
  t.ok(
    accepted.every((e) => e.event === 'accepted' && e.remote.startsWith('::1:')),
    `from ::1: ${accepted.map((e) => (e.event === 'accepted' ? e.remote : '')).join(', ')}`,
  );
  t.equal(master.stats().connectionsRefused, 0, 'none refused');
  t.ok(master.sessionUp && backup.sessionUp, 'the session from ::1 is up');
});

t.test('an allow-list naming one loopback alias refuses another (127.0.0.2) and admits it', async (t) => {
  const master = new KkcmPeer({ role: 'master', listen: { host: '127.0.0.1', port: 0 }, allow: ['127.0.0.1'] });
  t.teardown(() => master.stop());
  await master.configure();
  const port = master.listenAddress!.port;
  const onMaster = nextEvent(master, refused, 5000, 'refused on the master');
  const got = await helloFrom(port, '127.0.0.2');
  t.match(await onMaster, { reason: 'notAllowed', remote: /^127\.0\.0\.2:/ });
  t.equal(got.length, 1, 'one answer, then the close');
  t.match(got[0], { name: 'control.helloReject', body: { reason: RejectReason.notAllowed } });
  // The host that is on the list gets further: its HELLO (of one channel) is accepted.
  const admitted = await new Promise<DecodedMessage[]>((resolve, reject) => {
    const framer = new Framer({ anyVersion: true });
    const s = netConnect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => s.write(hello(100n)));
    s.on('data', (d: Buffer) => {
      const msgs = framer.push(d).map((f) => decodeMessage(f, { anyVersion: true }));
      s.destroy();
      resolve(msgs);
    });
    s.on('error', reject);
  });
  t.equal(admitted[0]?.name, 'control.helloAck', 'the listed host is admitted');
});

t.test('a session from a listed host comes up and carries traffic', async (t) => {
  const s = await LiveSession.start({ master: { allow: ['127.0.0.1'] } });
  t.teardown(() => s.stop());
  await s.echo();
  t.ok(s.intact);
});

t.test('an IPv4 entry admits the IPv4-mapped IPv6 form a dual-stack listener reports', async (t) => {
  // A transport whose accepted connections come from ::ffff:192.0.2.7, as a listener on :: reports them.
  const memory = new MemoryTransport();
  const mapped: Transport = {
    listen: (host, port, onConnection): Promise<Listener> =>
      memory.listen(host, port, (c) =>
        onConnection({
          remote: '[::ffff:192.0.2.7]:4000',
          remoteHost: '::ffff:192.0.2.7',
          attach: (h) => c.attach(h),
          write: (chunks) => c.write(chunks),
          end: () => c.end(),
          destroy: () => c.destroy(),
        } satisfies Connection),
      ),
    connect: (host, port) => memory.connect(host, port),
  };
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    transport: mapped,
    allow: ['192.0.2.7'],
  });
  const backup = new KkcmPeer({ role: 'backup', connect: { host: 'm', port: 7000 }, transport: mapped });
  t.teardown(async () => {
    await backup.stop();
    await master.stop();
  });
  const up = nextEvent(master, (e) => e.event === 'session-up', 5000, 'session-up');
  await master.configure();
  await backup.configure();
  await up;
  t.ok(master.sessionUp);
});
