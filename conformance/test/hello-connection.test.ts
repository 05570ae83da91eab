/**
 * The suite listens and the peer connects: a connection the peer closes before sending a
 * byte (an attempt it gave up, its other channel refused or dropped) is passed over, not
 * judged as a missing HELLO; a peer that only ever does that still fails KKCM-SESS-1.
 */
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { runConformance } from '../src/index.js';
import type { Target } from '../src/harness/target.js';
import { KkcmPeer } from '../../reference-impl/src/index.js';

const HANDSHAKE_MS = 1000;

/** Opens a connection to `port` and closes it before a byte; resolves once it is closed. */
function silentConnection(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: '127.0.0.1', port }, () => s.end());
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
}

t.test('a connection closed before a byte is an attempt the peer gave up: passed over', async (t) => {
  let peer: KkcmPeer | undefined;
  const report = await runConformance({
    target: { kind: 'listen', host: '127.0.0.1', port: 0, role: 'backup' },
    selection: { cases: ['handshake.backup.checks-hello-ack', 'handshake.backup.timeout'] },
    handshakeTimeoutMs: HANDSHAKE_MS,
    onTargetStarted: (target: Target) => {
      const port = (target as Target & { port: number }).port;
      // Two silent connections wait in the accept queue before the peer's first attempt.
      void silentConnection(port)
        .then(() => silentConnection(port))
        .then(() => {
          peer = new KkcmPeer({
            role: 'backup',
            connect: { host: '127.0.0.1', port },
            nodeName: 'b',
            handshakeTimeoutMs: HANDSHAKE_MS,
            backoff: { initialMs: 10, maxMs: 100, multiplier: 2, jitter: 0.1 },
          });
          return peer.configure();
        });
    },
  });
  await peer?.stop();
  t.same(
    report.cases.map((c) => `${c.id}: ${c.verdict} ${c.observed ?? c.reason ?? ''}`.trim()).sort(),
    ['handshake.backup.checks-hello-ack: pass', 'handshake.backup.timeout: pass'],
    'both cases pass, though the first connections closed without a HELLO',
  );
});

t.test('a peer that closes every connection before a byte fails KKCM-SESS-1', async (t) => {
  let stop = false;
  const report = await runConformance({
    target: { kind: 'listen', host: '127.0.0.1', port: 0, role: 'backup' },
    selection: { cases: ['handshake.backup.checks-hello-ack'] },
    handshakeTimeoutMs: HANDSHAKE_MS,
    onTargetStarted: (target: Target) => {
      const port = (target as Target & { port: number }).port;
      void (async () => {
        while (!stop) {
          await silentConnection(port);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
    },
  });
  stop = true;
  const c = report.cases.find((x) => x.id === 'handshake.backup.checks-hello-ack');
  t.equal(c?.verdict, 'fail');
  t.same(c?.violated, ['KKCM-SESS-1'], 'the requirement it breaks: HELLO first');
  t.match(c?.observed, /8 connections in a row closed by the peer before a single byte/);
  t.equal(report.conforming, false);
});
