/**
 * The conformance suite over TLS: against a TLS reference master (the suite connects) and a
 * TLS reference backup (the suite listens), through the library and through
 * `kkcm conformance --tls-cert/--tls-key/--tls-ca`.
 */
import t, { type Test } from 'tap';
import { main } from '../../cli/src/main.js';
import { EMBEDDED_TIMERS } from '../../conformance/src/harness/target.js';
import { runConformance } from '../../conformance/src/runner.js';
import { KkcmPeer, TlsTransport, type PeerEvent } from '../../reference-impl/src/index.js';
import { KkcmProcess, until } from '../../reference-impl/test/processes.js';
import { makeTestCerts, type TestCerts } from './certs.js';

run(await makeTestCerts());

const MASTER_CASES = [
  'handshake.hello.compatible',
  'handshake.second-session.refused',
  'framing.magic.bad',
  'framing.split.byte-by-byte',
  'control.echo.exact',
  'dispatch.probe.echo',
];
const BACKUP_CASES = ['handshake.backup.hello-first', 'handshake.backup.reconnect'];

function run(certs: TestCerts): void {
  t.teardown(() => certs.remove());
  const peerTls = new TlsTransport({ ca: certs.ca, cert: certs.nodeA.cert, key: certs.nodeA.key });
  const suiteTls = new TlsTransport({ ca: certs.ca, cert: certs.nodeB.cert, key: certs.nodeB.key });

  /** A TLS master with the conformance probe; its events are collected in `events`. */
  async function tlsMaster(t: Test, events: PeerEvent[] = []): Promise<number> {
    const peer = new KkcmPeer({
      ...EMBEDDED_TIMERS,
      role: 'master',
      listen: { host: '127.0.0.1', port: 0 },
      transport: peerTls,
      conformanceProbe: true,
    });
    peer.on('event', (e) => events.push(e));
    t.teardown(() => peer.stop());
    await peer.configure();
    return peer.listenAddress!.port;
  }

  t.test('the suite connects over TLS to a TLS master and its cases pass', async (t) => {
    const port = await tlsMaster(t);
    const report = await runConformance({
      target: { kind: 'connect', host: '127.0.0.1', port, transport: suiteTls },
      selection: { cases: MASTER_CASES },
      handshakeTimeoutMs: EMBEDDED_TIMERS.handshakeTimeoutMs,
    });
    t.same(report.cases.map((c) => [c.id, c.verdict]).sort(), MASTER_CASES.map((id) => [id, 'pass']).sort());
  });

  t.test('the suite listens over TLS for a TLS backup and its cases pass', async (t) => {
    // The backup connects to the suite's listener, whose port is known once the suite listens:
    // a fixed free port is taken first.
    const probe = await suiteTls.listen('127.0.0.1', 0, (c) => c.destroy());
    const port = probe.port;
    await probe.close();
    const backup = new KkcmPeer({
      ...EMBEDDED_TIMERS,
      role: 'backup',
      connect: { host: '127.0.0.1', port },
      transport: peerTls,
      conformanceProbe: true,
    });
    t.teardown(() => backup.stop());
    await backup.configure();
    const report = await runConformance({
      target: { kind: 'listen', host: '127.0.0.1', port, transport: suiteTls },
      selection: { cases: BACKUP_CASES },
      handshakeTimeoutMs: EMBEDDED_TIMERS.handshakeTimeoutMs,
    });
    t.same(report.cases.map((c) => [c.id, c.verdict]).sort(), BACKUP_CASES.map((id) => [id, 'pass']).sort());
  });

  t.test('a suite whose certificate the peer does not trust is refused in the TLS handshake', async (t) => {
    const events: PeerEvent[] = [];
    const port = await tlsMaster(t, events);
    const stranger = new TlsTransport({ ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key });
    const report = await runConformance({
      target: { kind: 'connect', host: '127.0.0.1', port, transport: stranger },
      selection: { cases: ['handshake.hello.compatible'] },
      caseTimeoutMs: 3000,
    });
    t.equal(report.summary.pass, 0, 'no case passes');
    const refusal = await until('the peer to report the refused handshake', () =>
      events.find((e) => e.event === 'error' && e.code === 'ERR_TLS_HANDSHAKE'),
    );
    t.pass(`the peer refused the TLS handshake: ${refusal.event === 'error' ? refusal.text : ''}`);
    t.equal(
      events.filter((e) => e.event === 'session-up' || e.event === 'rx').length,
      0,
      'no KKCM message was read and no session came up',
    );
  });

  t.test(
    'kkcm conformance --tls-cert/--tls-key/--tls-ca runs the cases over TLS and puts the flags in the rerun line',
    async (t) => {
      const port = await tlsMaster(t);
      let out = '';
      const io = {
        out: (s: string) => void (out += s),
        err: () => undefined,
        stdin: () => Promise.resolve(new Uint8Array()),
        isTty: false,
      };
      const code = await main(
        [
          'conformance',
          '--connect',
          `127.0.0.1:${port}`,
          '--tls-cert',
          certs.nodeB.certPath,
          '--tls-key',
          certs.nodeB.keyPath,
          '--tls-ca',
          certs.caPath,
          '--case',
          'handshake.hello.compatible',
          '--handshake-timeout',
          String(EMBEDDED_TIMERS.handshakeTimeoutMs),
          '--format',
          'json',
        ],
        io,
      );
      const report = JSON.parse(out) as { cases: { verdict: string; rerun: string }[] };
      t.equal(code, 0);
      t.equal(report.cases[0]?.verdict, 'pass');
      t.match(report.cases[0]?.rerun, `--tls-cert ${certs.nodeB.certPath}`);
    },
  );

  t.test('kkcm peer --tls-cert/--tls-key/--tls-ca serves the suite over TLS and refuses cleartext', async (t) => {
    const peer = new KkcmProcess(t, [
      'peer',
      '--role',
      'master',
      '--listen',
      '127.0.0.1:0',
      '--conformance-probe',
      '--handshake-timeout-ms',
      '1500',
      '--tls-cert',
      certs.nodeA.certPath,
      '--tls-key',
      certs.nodeA.keyPath,
      '--tls-ca',
      certs.caPath,
      '--tls-required',
    ]);
    const ready = await peer.waitForOutput(/ready role=master listen=127\.0\.0\.1:(\d+).* tls=mutual/);
    const port = Number(ready[1]);
    const report = await runConformance({
      target: { kind: 'connect', host: '127.0.0.1', port, transport: suiteTls },
      selection: { cases: ['handshake.hello.compatible', 'dispatch.probe.echo'] },
      handshakeTimeoutMs: 1500,
    });
    t.same(
      report.cases.map((c) => c.verdict),
      ['pass', 'pass'],
    );
    const cleartext = await runConformance({
      target: { kind: 'connect', host: '127.0.0.1', port },
      selection: { cases: ['handshake.hello.compatible'] },
      caseTimeoutMs: 3000,
    });
    t.equal(cleartext.summary.pass, 0, 'a cleartext suite gets nowhere');
    peer.signal('SIGTERM');
    t.equal(await peer.exit(), 0);
    t.match(peer.err, /ERR_TLS_REQUIRED/, 'the peer logged the refused cleartext connection');
  });

  t.test('kkcm peer refuses a partial TLS option set, unreadable files, and --tls-required without TLS', async (t) => {
    const io = {
      out: () => undefined,
      err: () => undefined,
      stdin: () => Promise.resolve(new Uint8Array()),
      isTty: false,
    };
    const base = ['peer', '--role', 'master', '--listen', '127.0.0.1:0'];
    t.equal(
      await main([...base, '--tls-cert', certs.nodeA.certPath, '--tls-key', certs.nodeA.keyPath], io),
      2,
      'no CA',
    );
    t.equal(
      await main(
        [...base, '--tls-cert', certs.nodeA.certPath, '--tls-key', '/nonexistent', '--tls-ca', certs.caPath],
        io,
      ),
      2,
      'a missing key file',
    );
    t.equal(await main([...base, '--tls-required'], io), 2, '--tls-required alone');
    t.equal(await main([...base, '--max-pending', '0'], io), 2, '--max-pending 0');
  });

  t.test('kkcm conformance refuses an incomplete TLS option set and TLS without a target', async (t) => {
    const io = {
      out: () => undefined,
      err: () => undefined,
      stdin: () => Promise.resolve(new Uint8Array()),
      isTty: false,
    };
    t.equal(await main(['conformance', '--connect', '127.0.0.1:1', '--tls-cert', certs.nodeB.certPath], io), 2);
    t.equal(
      await main(
        ['conformance', '--tls-cert', certs.nodeB.certPath, '--tls-key', certs.nodeB.keyPath, '--tls-ca', certs.caPath],
        io,
      ),
      2,
    );
    t.equal(
      await main(
        [
          'conformance',
          '--connect',
          '127.0.0.1:1',
          '--tls-cert',
          '/nonexistent',
          '--tls-key',
          certs.nodeB.keyPath,
          '--tls-ca',
          certs.caPath,
        ],
        io,
      ),
      2,
    );
  });
}
