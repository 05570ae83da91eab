/**
 * TLS with mutual authentication: a session over TLS, refused cleartext, refused or missing
 * certificates on either side, each with a coded `error` event. Certificates are made
 * in-process at test time (./certs.ts).
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { encodeMessage } from '../../codec/src/index.js';
import { KkcmPeer, TlsTransport, type PeerEvent } from '../../reference-impl/src/index.js';
import { LiveSession, nextEvent } from '../src/session.js';
import { makeTestCerts, type TestCerts } from './certs.js';
import { ipv6Missing } from './support.js';

const noIpv6 = await ipv6Missing();
const certs = await makeTestCerts();
t.teardown(() => certs.remove());
run(certs);

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
      nodeName: 'clear',
    },
  });

const isError =
  (code: string) =>
  (e: PeerEvent): boolean =>
    e.event === 'error' && e.code === code;

/** Everything a raw socket received until the other side closed it. */
function rawExchange(port: number, bytes: Uint8Array): Promise<{ received: number; error: string | undefined }> {
  return new Promise((resolve) => {
    let received = 0;
    let error: string | undefined;
    const s = netConnect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', (d: Buffer) => {
      received += d.byteLength;
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code;
    });
    s.on('close', () => resolve({ received, error }));
  });
}

async function masterPeer(t: Test, transport: TlsTransport): Promise<{ peer: KkcmPeer; port: number }> {
  const peer = new KkcmPeer({
    role: 'master',
    listen: { host: '127.0.0.1', port: 0 },
    transport,
    handshakeTimeoutMs: 2000,
  });
  t.teardown(() => peer.stop());
  await peer.configure();
  return { peer, port: peer.listenAddress!.port };
}

function run(certs: TestCerts): void {
  const nodeA = new TlsTransport({ ca: certs.ca, cert: certs.nodeA.cert, key: certs.nodeA.key });
  const nodeB = new TlsTransport({ ca: certs.ca, cert: certs.nodeB.cert, key: certs.nodeB.key });

  t.test('a session comes up over TLS with both certificates checked, and carries echoes', async (t) => {
    const s = await LiveSession.start({ masterTransport: nodeA, backupTransport: nodeB });
    t.teardown(() => s.stop());
    t.ok(s.intact, 'both sides hold the session');
    for (let i = 0; i < 20; i++) await s.echo();
    t.equal(s.sessionDrops, 0);
    t.same(
      s.events.master.filter((e) => e.event === 'error'),
      [],
      'no error on the master',
    );
  });

  t.test('the TLS transport serves ::1 as well', { skip: noIpv6 ?? false }, async (t) => {
    const s = await LiveSession.start({ host: '::1', masterTransport: nodeA, backupTransport: nodeB });
    t.teardown(() => s.stop());
    await s.echo();
    t.ok(s.intact);
  });

  t.test('a cleartext connection to a TLS peer is closed unread and reported as ERR_TLS_REQUIRED', async (t) => {
    const { peer, port } = await masterPeer(t, nodeA);
    const reported = nextEvent(peer, isError('ERR_TLS_REQUIRED'), 5000, 'ERR_TLS_REQUIRED');
    const r = await rawExchange(port, hello(7n));
    const e = await reported;
    t.equal(r.received, 0, 'not one byte came back: no cleartext HELLO-REJECT or ERROR');
    t.match(e, { event: 'error', code: 'ERR_TLS_REQUIRED', channel: null });
    t.equal(peer.stats().errors.ERR_TLS_REQUIRED, 1, 'counted');
    t.notOk(peer.sessionUp);
  });

  t.test('a client without a certificate is refused with ERR_TLS_HANDSHAKE', async (t) => {
    const { peer, port } = await masterPeer(t, nodeA);
    const reported = nextEvent(peer, isError('ERR_TLS_HANDSHAKE'), 5000, 'ERR_TLS_HANDSHAKE');
    const clientError = await new Promise<string | undefined>((resolve) => {
      let code: string | undefined;
      const s = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca }, () => s.write(hello(8n)));
      s.on('error', (err: NodeJS.ErrnoException) => {
        code = err.code;
      });
      s.on('close', () => resolve(code));
    });
    const e = await reported;
    t.match(e, { event: 'error', code: 'ERR_TLS_HANDSHAKE' });
    t.match((e as { text: string }).text, /CERTIFICATE/i, 'the text says why');
    t.match(
      clientError,
      /CERTIFICATE_REQUIRED|ECONNRESET/,
      `the client learns it was refused (${String(clientError)})`,
    );
    t.notOk(peer.sessionUp);
  });

  t.test(
    'a backup whose certificate another CA signed is refused by the master, and no session comes up',
    async (t) => {
      const { peer, port } = await masterPeer(t, nodeA);
      const refusedTwice = new Promise<void>((resolve) => {
        let n = 0;
        peer.on('event', (e) => {
          if (isError('ERR_TLS_HANDSHAKE')(e) && ++n === 2) resolve();
        });
      });
      const rogue = new KkcmPeer({
        role: 'backup',
        connect: { host: '127.0.0.1', port },
        transport: new TlsTransport({ ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key }),
        backoff: { initialMs: 20, maxMs: 50 },
      });
      t.teardown(() => rogue.stop());
      await rogue.configure();
      await refusedTwice;
      t.notOk(peer.sessionUp, 'no session on the master');
      t.notOk(rogue.sessionUp, 'no session on the rogue backup');
      t.equal(peer.stats().sessions.up, 0);
    },
  );

  t.test(
    'a backup refuses a master whose certificate another CA signed, with ERR_TLS_HANDSHAKE and connect-failed',
    async (t) => {
      const rogueMaster = new TlsTransport({ ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key });
      const { peer, port } = await masterPeer(t, rogueMaster);
      const backup = new KkcmPeer({
        role: 'backup',
        connect: { host: '127.0.0.1', port },
        transport: nodeB,
        backoff: { initialMs: 20, maxMs: 50 },
      });
      t.teardown(() => backup.stop());
      const coded = nextEvent(backup, isError('ERR_TLS_HANDSHAKE'), 5000, 'ERR_TLS_HANDSHAKE on the backup');
      const failed = nextEvent(backup, (e) => e.event === 'connect-failed', 5000, 'connect-failed');
      await backup.configure();
      t.match(await coded, { code: 'ERR_TLS_HANDSHAKE', text: /certificate/i });
      t.match(await failed, { event: 'connect-failed', error: /TLS handshake/ });
      t.notOk(peer.sessionUp);
    },
  );

  t.test('a backup refuses a master certificate that does not carry the expected name', async (t) => {
    const { peer, port } = await masterPeer(t, nodeA);
    const strict = new TlsTransport({
      ca: certs.ca,
      cert: certs.nodeB.cert,
      key: certs.nodeB.key,
      serverName: 'other.example',
    });
    const err = await strict.connect('127.0.0.1', port).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    t.equal(err?.code, 'ERR_TLS_HANDSHAKE');
    t.match(err?.message, /ALTNAME|other\.example/);
    t.notOk(peer.sessionUp);
  });

  t.test('a custom server identity check can accept peers by their CA alone', async (t) => {
    const { port } = await masterPeer(t, nodeA);
    const byCa = new TlsTransport({
      ca: certs.ca,
      cert: certs.nodeB.cert,
      key: certs.nodeB.key,
      serverName: 'any-name',
      checkServerIdentity: () => undefined,
    });
    const c = await byCa.connect('127.0.0.1', port);
    c.destroy();
    t.pass('connected');
  });

  t.test('a TLS client that never completes its handshake is closed by the handshake timeout', async (t) => {
    const peer = new KkcmPeer({
      role: 'master',
      listen: { host: '127.0.0.1', port: 0 },
      transport: nodeA,
      handshakeTimeoutMs: 200,
    });
    t.teardown(() => peer.stop());
    await peer.configure();
    const timedOut = nextEvent(peer, isError('ERR_HANDSHAKE_TIMEOUT'), 5000, 'ERR_HANDSHAKE_TIMEOUT');
    // A TLS record header that announces a ClientHello which never comes.
    const r = await rawExchange(peer.listenAddress!.port, Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00));
    t.match(await timedOut, { event: 'error' });
    t.equal(r.received, 0, 'nothing in cleartext came back');
  });
}
