/**
 * Two peers in this process over real loopback TCP, through a whole life — session up,
 * traffic, switchover, deconfigure, stop — must leave nothing behind: no socket, no
 * listening server, no timer (Node's active resources, compared with a baseline taken
 * before the first peer existed).
 */
import t from 'tap';
import type { ClientName, MessageInput } from '../../codec/src/index.js';
import { KkcmPeer, type CleanupInfo, type PeerEvent, type PeerOptions } from '../src/index.js';
import { freePort, until } from './processes.js';

/** Active resources by kind: `TCPSocketWrap`, `TCPServerWrap`, `Timeout`… */
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/** Kinds of which more are active now than in `baseline`, with how many more. */
function leftOver(baseline: Map<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, n] of resources()) if (n > (baseline.get(kind) ?? 0)) extra[kind] = n - (baseline.get(kind) ?? 0);
  return extra;
}

/** What is left beyond `baseline` once sockets had (bounded) time to close on both ends. */
function settledLeftOver(baseline: Map<string, number>): Promise<Record<string, number>> {
  return until(
    'every socket, server and timer of the peers to go away',
    () => {
      const extra = leftOver(baseline);
      return Object.keys(extra).length === 0 ? extra : undefined;
    },
    5000,
  ).catch(() => leftOver(baseline));
}

const CLIENTS = ['iha', 'sdrl', 'psrm', 'prl'] as const satisfies readonly ClientName[];
const MESSAGES: Record<(typeof CLIENTS)[number], MessageInput> = {
  iha: { name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } },
  sdrl: { name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 4096n } },
  psrm: { name: 'psrm.stateBatch', body: { entries: [] } },
  prl: { name: 'prl.packetDrop', body: { handle: 1, count: 2 } },
};

/** A peer with the four clients registered; their messages and cleanups are recorded. */
function peer(options: PeerOptions): { peer: KkcmPeer; received: string[]; cleanups: CleanupInfo[] } {
  const p = new KkcmPeer({ periodicMs: 20, backoff: { initialMs: 10, maxMs: 50 }, ...options });
  const received: string[] = [];
  const cleanups: CleanupInfo[] = [];
  for (const client of CLIENTS)
    p.register(client, { message: (m) => received.push(m.name ?? 'unlisted'), cleanup: (i) => cleanups.push(i) });
  return { peer: p, received, cleanups };
}

const isUp = (e: PeerEvent): boolean => e.event === 'session-up';

t.test(
  'two peers over real TCP leave no socket, server or timer behind after session, traffic, switchover, deconfigure and stop',
  async (t) => {
    const baseline = resources();
    const host = '127.0.0.1';
    const port = await freePort();
    const a = peer({ role: 'master', listen: { host, port: 0 }, connect: { host, port }, nodeName: 'a' });
    await a.peer.configure();
    const b = peer({
      role: 'backup',
      connect: { host, port: a.peer.listenAddress!.port },
      listen: { host, port },
      nodeName: 'b',
    });
    t.teardown(async () => {
      // Only on failure is anything still running here; stop() is a no-op the second time.
      await a.peer.stop();
      await b.peer.stop();
    });

    let up = Promise.all([a.peer.waitFor(isUp), b.peer.waitFor(isUp)]);
    await b.peer.configure();
    await up;
    t.ok(a.peer.sessionUp && b.peer.sessionUp, 'session up');
    // The probe sees what the peers hold (else the final check could never fail).
    t.match(
      leftOver(baseline),
      { TCPSocketWrap: 4, TCPServerWrap: 1, Timeout: Number },
      'four sockets, one listener and timers while up',
    );

    for (const client of CLIENTS) {
      await a.peer.send(client, MESSAGES[client], { confirm: true });
      await b.peer.send(client, MESSAGES[client], { confirm: true });
    }
    t.same(
      a.received,
      Object.values(MESSAGES).map((m) => m.name),
      'traffic from b',
    );
    t.same(
      b.received,
      Object.values(MESSAGES).map((m) => m.name),
      'traffic from a',
    );

    up = Promise.all([a.peer.waitFor(isUp), b.peer.waitFor(isUp)]);
    await a.peer.switchover();
    await up;
    t.same([a.peer.role, b.peer.role], ['backup', 'master'], 'switchover: the roles swapped and a new session is up');

    const bDown = b.peer.waitFor((e) => e.event === 'session-down');
    const aDown = a.peer.waitFor((e) => e.event === 'session-down');
    await b.peer.deconfigure();
    await Promise.all([aDown, bDown]);
    t.same(
      [...new Set(a.cleanups.map((c) => c.reason))],
      ['switchover', 'nsrDeconfigured'],
      'a cleaned up for the switchover, then for the deconfigure',
    );
    t.same([...new Set(b.cleanups.map((c) => c.reason))], ['switchover', 'nsrDeconfigured']);

    await a.peer.stop();
    await b.peer.stop();
    // Sockets close when both ends have closed: wait for that (bounded), then nothing may remain.
    t.same(await settledLeftOver(baseline), {}, 'no resource left beyond the baseline');
  },
);

t.test(
  'stopping with the session up (what SIGTERM does to kkcm peer) and a backup left retrying leave nothing behind either',
  async (t) => {
    const baseline = resources();
    const host = '127.0.0.1';
    const a = peer({ role: 'master', listen: { host, port: 0 } });
    await a.peer.configure();
    const b = peer({ role: 'backup', connect: { host, port: a.peer.listenAddress!.port } });
    t.teardown(async () => {
      await a.peer.stop();
      await b.peer.stop();
    });
    const up = Promise.all([a.peer.waitFor(isUp), b.peer.waitFor(isUp)]);
    await b.peer.configure();
    await up;
    await a.peer.send('prl', MESSAGES.prl, { confirm: true });

    // The master goes first: the backup sees SHUTDOWN, then retries against a closed port.
    const retrying = b.peer.waitFor((e) => e.event === 'connect-failed');
    await a.peer.stop();
    await retrying;
    t.equal(b.peer.status().state, 'backoff', 'the backup is waiting to retry');
    t.same([...new Set(b.cleanups.map((c) => c.reason))], ['peerDown'], 'the backup cleaned up with peerDown');
    await b.peer.stop();
    t.same(await settledLeftOver(baseline), {}, 'no resource left beyond the baseline');
  },
);

t.test('a master asked for port 0 comes back on the same port after deconfigure and configure', async (t) => {
  const { KkcmPeer, tcpTransport } = await import('../src/index.js');
  const peer = new KkcmPeer({ role: 'master', listen: { host: '127.0.0.1', port: 0 }, transport: tcpTransport });
  await peer.configure();
  const first = peer.listenAddress?.port;
  t.ok(first !== undefined && first > 0);
  await peer.deconfigure();
  await peer.configure();
  t.equal(peer.listenAddress?.port, first);
  await peer.stop();
});
