/**
 * The fault proxy of the chaos harness, between two reference peers in this process over
 * loopback TCP (the backup connects through the proxy), and between raw sockets where a
 * byte-exact view is needed: each fault has the effect it claims, seen from the peers'
 * events, their delivered messages and their connections' ends. Then the proxy as its own
 * process, driven over its JSON-lines protocol.
 *
 * One subject, the fault proxy, in one file past the usual length: the rig, the raw-socket
 * target and the process tests share the proxy's helpers, and each test is one fault.
 * Stalls run on a manual clock, so a stall lasts until the test ends it.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import {
  decodeClientMessage,
  decodeMessage,
  encodedLength,
  encodeMessage,
  ERROR_VALUES,
  MAGIC,
  type ChannelName,
} from '../../codec/src/index.js';
import {
  KkcmPeer,
  ManualClock,
  tcpTransport,
  type PeerEvent,
  type PeerOptions,
  type Transport,
} from '../../reference-impl/src/index.js';
import type { Connection } from '../../reference-impl/src/transport.js';
import { ProxyProcess } from '../src/chaos/proxy-client.js';
import type { FaultResult } from '../src/chaos/proxy-faults.js';
import { FaultProxy, type FaultProxyOptions } from '../src/chaos/proxy.js';
import { Prng } from '../src/prng.js';
import { nextEvent } from '../src/session.js';
import { until } from '../../reference-impl/test/processes.js';

const HOST = '127.0.0.1';
/** Bound of every wait. */
const WAIT_MS = 20_000;
/** Fast reconnection, so that a new session follows a fault quickly. */
const BACKOFF = { initialMs: 20, maxMs: 200 } as const;

/** How one of the backup's connections ended, as its transport saw it. */
interface ConnectionEnd {
  /** Connect order (0: the first session's send channel, 1: its receive channel). */
  readonly index: number;
  /** Error code when it failed (`ECONNRESET`), `end` when it ended cleanly; undefined while open. */
  end: string | undefined;
}

/** TCP, recording how each connection the backup makes ends. */
function recordingTransport(ends: ConnectionEnd[]): Transport {
  return {
    listen: (host, port, onConnection) => tcpTransport.listen(host, port, onConnection),
    async connect(host, port) {
      const inner = await tcpTransport.connect(host, port);
      const record: ConnectionEnd = { index: ends.length, end: undefined };
      ends.push(record);
      const wrapped: Connection = {
        remote: inner.remote,
        remoteHost: inner.remoteHost,
        attach: (h) =>
          inner.attach({
            data: h.data,
            drain: h.drain,
            close: (err) => {
              record.end = err === undefined ? 'end' : ((err as NodeJS.ErrnoException).code ?? err.message);
              h.close(err);
            },
          }),
        write: (chunks) => inner.write(chunks),
        end: () => inner.end(),
        destroy: () => inner.destroy(),
      };
      return wrapped;
    },
  };
}

/** A master, a backup connecting through a proxy, what each received, and their events. */
interface Rig {
  readonly master: KkcmPeer;
  readonly backup: KkcmPeer;
  readonly proxy: FaultProxy;
  /** Port the proxy listens on for the backup. */
  readonly port: number;
  readonly events: { readonly master: PeerEvent[]; readonly backup: PeerEvent[] };
  /** Tokens of the PRL OPAQUE messages the master's PRL client got, in order. */
  readonly atMaster: number[];
  /** Tokens of the IHA ASYNC-NOTIFY messages the backup's IHA client got, in order. */
  readonly atBackup: number[];
  /** ERROR messages the backup read: channel and code. */
  readonly errorsAtBackup: { channel: ChannelName; code: number }[];
  /** How the backup's connections ended. */
  readonly backupConnections: ConnectionEnd[];
}

interface RigOptions {
  readonly master?: Partial<PeerOptions>;
  readonly backup?: Partial<PeerOptions>;
  readonly proxy?: FaultProxyOptions;
}

/** Starts the rig and waits for the first session on both sides. Stopped at teardown. */
async function rig(t: Test, options: RigOptions = {}): Promise<Rig> {
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: HOST, port: 0 },
    nodeName: 'chaos-master',
    ...options.master,
  });
  const proxy = await FaultProxy.start(options.proxy);
  const backupConnections: ConnectionEnd[] = [];
  const peers: KkcmPeer[] = [master];
  t.teardown(async () => {
    for (const p of peers.reverse()) await p.stop();
    await proxy.close();
  });
  await master.configure();
  const port = await proxy.listen('master', HOST, 0, HOST, master.listenAddress!.port);
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: HOST, port },
    nodeName: 'chaos-backup',
    backoff: BACKOFF,
    transport: recordingTransport(backupConnections),
    ...options.backup,
  });
  peers.push(backup);
  const r: Rig = {
    master,
    backup,
    proxy,
    port,
    events: { master: [], backup: [] },
    atMaster: [],
    atBackup: [],
    errorsAtBackup: [],
    backupConnections,
  };
  master.on('event', (e) => r.events.master.push(e));
  backup.on('event', (e) => r.events.backup.push(e));
  master.register('prl', {
    message: (raw) => {
      const msg = decodeClientMessage(raw);
      if (msg.name === 'prl.opaque') r.atMaster.push(tokenOf(msg.body.data));
    },
  });
  backup.register('iha', {
    message: (raw) => {
      const msg = decodeClientMessage(raw);
      if (msg.name === 'iha.asyncNotify') r.atBackup.push(msg.body.handle);
    },
  });
  backup.on('frame', (channel, direction, frame) => {
    if (direction !== 'rx') return;
    const msg = decodeMessage(frame, { anyVersion: true });
    if (msg.name === 'control.error') r.errorsAtBackup.push({ channel, code: msg.body.code });
  });
  const up = Promise.all([sessionUp(master), sessionUp(backup)]);
  await backup.configure();
  await up;
  return r;
}

function sessionUp(peer: KkcmPeer, not?: bigint): Promise<PeerEvent> {
  return nextEvent(peer, (e) => e.event === 'session-up' && e.sessionId !== not?.toString(), WAIT_MS, 'session-up');
}

function sessionDown(peer: KkcmPeer): Promise<Extract<PeerEvent, { event: 'session-down' }>> {
  return nextEvent(peer, (e) => e.event === 'session-down', WAIT_MS, 'session-down') as Promise<
    Extract<PeerEvent, { event: 'session-down' }>
  >;
}

/** A PRL OPAQUE payload of `size` bytes starting with `token`. */
function payload(token: number, size = 4): Uint8Array {
  const data = new Uint8Array(Math.max(4, size));
  new DataView(data.buffer).setUint32(0, token);
  return data;
}

function tokenOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

/** Sends tokens `from..to` from the backup to the master (PRL, receive channel), in order. */
async function backupSends(r: Rig, from: number, to: number, size = 4): Promise<void> {
  for (let i = from; i <= to; i++)
    await r.backup.send('prl', { name: 'prl.opaque', body: { data: payload(i, size) } }, { wait: true });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Sequence numbers of the messages `peer` read on `channel` in session `sessionId`. */
function rxSeqs(events: readonly PeerEvent[], channel: ChannelName, sessionId: bigint): number[] {
  const sid = sessionId.toString();
  let inSession = false;
  const seqs: number[] = [];
  for (const e of events) {
    if (e.event === 'channel-bound' && e.sessionId === sid) inSession = true;
    if (e.event === 'session-down' && e.sessionId === sid) break;
    if (inSession && e.event === 'rx' && e.channel === channel) seqs.push(e.seq);
  }
  return seqs;
}

t.test(
  'a session comes up through the proxy, which names each connection by its HELLO and counts its traffic',
  async (t) => {
    const r = await rig(t);
    const sid = r.master.sessionId!.toString();
    t.equal(r.backup.sessionId!.toString(), sid, 'one session on both sides');
    await backupSends(r, 1, 5);
    for (let i = 1; i <= 5; i++)
      await r.master.send('iha', { name: 'iha.asyncNotify', body: { handle: i, event: 1, value: 0n } }, { wait: true });
    await until('the ten messages', () => (r.atMaster.length === 5 && r.atBackup.length === 5 ? true : undefined));
    t.same(r.atMaster, range(1, 5));
    t.same(r.atBackup, range(1, 5));
    const conns = r.proxy.connections();
    t.same(conns.map((c) => c.channel).sort(), ['receive', 'send'], 'one connection per channel, named from the HELLO');
    t.ok(
      conns.every((c) => c.sessionId === sid && c.listener === 'master' && c.state === 'open'),
      'both carry the session id of their HELLO',
    );
    t.ok(
      conns.every((c) => c.tracking.towardListener && c.tracking.towardConnector),
      'boundaries known both ways',
    );
    const send = conns.find((c) => c.channel === 'send')!;
    const receive = conns.find((c) => c.channel === 'receive')!;
    // HELLO, then the five PRL messages; HELLO-ACK, then the five IHA messages.
    t.equal(receive.messages.towardListener, 6, 'HELLO and 5 PRL messages toward the master on the receive channel');
    t.equal(send.messages.towardConnector, 6, 'HELLO-ACK and 5 IHA messages toward the backup on the send channel');
    t.ok(receive.bytes.towardListener > send.bytes.towardListener, 'bytes are counted per direction');
  },
);

t.test('reset: both peers lose the session with socketIoError/connectionReset and a new one comes up', async (t) => {
  const r = await rig(t);
  const first = r.master.sessionId!;
  const downs = Promise.all([sessionDown(r.master), sessionDown(r.backup)]);
  const ups = Promise.all([sessionUp(r.master, first), sessionUp(r.backup, first)]);
  const result = await r.proxy.inject({ kind: 'reset' });
  t.equal(result.outcome, 'applied');
  t.same(
    result.hits.map((h) => h.connection.channel).sort(),
    ['receive', 'send'],
    'both channels of the session were hit',
  );
  const [m, b] = await downs;
  for (const [name, e] of [
    ['master', m],
    ['backup', b],
  ] as const) {
    t.equal(e.reason, 'socketIoError', `${name}: cleanup reason socketIoError`);
    t.equal(e.detail, 'connectionReset', `${name}: detail connectionReset`);
  }
  await ups;
  t.not(r.master.sessionId, first, 'a new session');
  t.equal(r.master.sessionId, r.backup.sessionId);
  t.same(
    r.backupConnections.slice(0, 2).map((c) => c.end),
    ['ECONNRESET', 'ECONNRESET'],
    'the backup saw an RST on both connections',
  );
  const ended = r.proxy.closed().filter((c) => c.sessionId === first.toString());
  t.same(ended.map((c) => c.end.fault).sort(), ['reset', 'reset']);
});

t.test(
  'drop-channel: only that channel is reset; the peers then close the other one cleanly, and a new session comes up',
  async (t) => {
    const r = await rig(t);
    const first = r.master.sessionId!;
    const downs = Promise.all([sessionDown(r.master), sessionDown(r.backup)]);
    const ups = Promise.all([sessionUp(r.master, first), sessionUp(r.backup, first)]);
    const result = await r.proxy.inject({ kind: 'drop-channel', channel: 'send' });
    t.equal(result.outcome, 'applied');
    t.same(
      result.hits.map((h) => h.connection.channel),
      ['send'],
      'one connection hit: the send channel',
    );
    const [m, b] = await downs;
    t.match(m, { reason: 'socketIoError', detail: 'connectionReset' }, 'master');
    t.match(b, { reason: 'socketIoError', detail: 'connectionReset' }, 'backup');
    await ups;
    // The backup connects the send channel first, then the receive channel.
    await until('both first connections closed', () =>
      r.backupConnections[0]?.end !== undefined && r.backupConnections[1]?.end !== undefined ? true : undefined,
    );
    t.equal(r.backupConnections[0]!.end, 'ECONNRESET', 'the send connection was reset');
    t.equal(r.backupConnections[1]!.end, 'end', 'the receive connection ended cleanly, after the session went down');
    const ended = await until('both pairs of the first session closed', () => {
      const c = r.proxy.closed().filter((x) => x.sessionId === first.toString());
      return c.length === 2 ? c : undefined;
    });
    t.match(ended.find((c) => c.channel === 'send')!.end, { cause: 'fault', fault: 'drop-channel' });
    t.match(
      ended.find((c) => c.channel === 'receive')!.end,
      { cause: 'end' },
      'the receive pair ended with a FIN from a peer',
    );
  },
);

t.test(
  'garbage at a message boundary: the receiving peer answers ERROR ERR_BAD_MAGIC and closes; a new session comes up',
  async (t) => {
    const r = await rig(t);
    const first = r.master.sessionId!;
    const seed = 7;
    const head = new Prng(seed).bytes(4);
    t.not(
      ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0,
      MAGIC,
      'precondition: the garbage does not start with the magic',
    );
    const masterError = nextEvent(r.master, (e) => e.event === 'error', WAIT_MS, 'an error event on the master');
    const downs = Promise.all([sessionDown(r.master), sessionDown(r.backup)]);
    const ups = Promise.all([sessionUp(r.master, first), sessionUp(r.backup, first)]);
    const result = await r.proxy.inject({ kind: 'garbage', channel: 'send', toward: 'listener', bytes: 32, seed });
    t.equal(result.outcome, 'applied');
    t.equal(result.hits.length, 1);
    t.equal(
      result.hits[0]!.at,
      result.hits[0]!.connection.bytes.towardListener,
      'injected at the boundary the stream rested on',
    );
    t.match(
      await masterError,
      { code: 'ERR_BAD_MAGIC', channel: 'send' },
      'the master reports the bad magic on the send channel',
    );
    const [m, b] = await downs;
    t.match(m, { reason: 'socketIoError', detail: 'protocolError' });
    t.equal(b.reason, 'socketIoError');
    t.same(
      r.errorsAtBackup,
      [{ channel: 'send', code: ERROR_VALUES.ERR_BAD_MAGIC }],
      'the master sent ERROR ERR_BAD_MAGIC before closing',
    );
    t.comment(`backup: session-down detail ${b.detail} (${b.text})`);
    await ups;
  },
);

t.test('half-close toward the backup: it reads end of stream and the session goes down on both sides', async (t) => {
  const r = await rig(t);
  const first = r.master.sessionId!;
  const downs = Promise.all([sessionDown(r.master), sessionDown(r.backup)]);
  const ups = Promise.all([sessionUp(r.master, first), sessionUp(r.backup, first)]);
  const result = await r.proxy.inject({ kind: 'half-close', channel: 'send', toward: 'connector' });
  t.equal(result.outcome, 'applied');
  const [m, b] = await downs;
  t.match(b, { reason: 'socketIoError', detail: 'endOfStream' }, 'the backup saw end of stream');
  t.equal(m.reason, 'socketIoError');
  t.comment(`master: session-down detail ${m.detail} (${m.text})`);
  await ups;
  const ended = await until('the send pair closed', () =>
    r.proxy.closed().find((c) => c.sessionId === first.toString() && c.channel === 'send'),
  );
  t.match(ended.end, { cause: 'fault', fault: 'half-close' });
});

t.test(
  'stall-reader shorter than the dead-connection limit: backpressure reaches the sender, then everything arrives, in order',
  async (t) => {
    // The proxy's time is manual: the stall lasts until the test ends it.
    const clock = new ManualClock();
    const r = await rig(t, {
      backup: { queueMessages: 16, deadConnectionMs: 120_000 },
      master: { deadConnectionMs: 120_000 },
      proxy: { clock },
    });
    const sid = r.master.sessionId!;
    const result = await r.proxy.inject({ kind: 'stall-reader', channel: 'receive', toward: 'listener', ms: 4000 });
    t.equal(result.outcome, 'applied');
    const forwarded = (): number => r.proxy.connections().find((c) => c.channel === 'receive')!.bytes.towardListener;
    const before = forwarded();
    const written = r.backup.stats().channels.receive.txMessages;
    const count = 320;
    // 320 × 64 KiB = 20 MiB: more than the socket buffers of both legs hold.
    const flood = backupSends(r, 1, count, 65536);
    await until('the backup queue full, with messages written to its socket, while the proxy does not read', () =>
      r.backup.status().queues.receive.depth === 16 && r.backup.stats().channels.receive.txMessages > written
        ? true
        : undefined,
    );
    // Round trips through the proxy on the other channel: had the proxy read the stalled
    // connection, the bytes the backup wrote to it before them would have crossed by now.
    for (let handle = 1; handle <= 3; handle++) {
      await r.master.send('iha', { name: 'iha.asyncNotify', body: { handle, event: 1, value: 0n } }, { wait: true });
      await until(`notification ${handle} at the backup`, () => (r.atBackup.includes(handle) ? true : undefined));
    }
    const pair = r.proxy.connections().find((c) => c.channel === 'receive')!;
    t.ok(pair.stalled.towardListener, 'the stall is still on');
    t.equal(pair.bytes.towardListener, before, 'nothing crossed the proxy toward the master during the stall');
    clock.advance(4000);
    t.notOk(r.proxy.connections().find((c) => c.channel === 'receive')!.stalled.towardListener, 'the stall ended');
    await flood;
    await until(`${count} messages at the master`, () => (r.atMaster.length >= count ? true : undefined));
    t.same(r.atMaster, range(1, count), 'every message arrived once, in order');
    t.ok(forwarded() > before, 'traffic resumed');
    t.equal(r.master.sessionId, sid, 'the same session');
    t.equal(
      r.events.master.filter((e) => e.event === 'session-down').length +
        r.events.backup.filter((e) => e.event === 'session-down').length,
      0,
      'no session-down',
    );
  },
);

t.test(
  'stall-reader longer than the dead-connection limit: the blocked sender ends the session with deadConnection',
  async (t) => {
    const r = await rig(t, { backup: { queueMessages: 16, deadConnectionMs: 1000 } });
    const first = r.master.sessionId!;
    const backupDown = sessionDown(r.backup);
    const masterDown = sessionDown(r.master);
    const result = await r.proxy.inject({ kind: 'stall-reader', channel: 'receive', toward: 'listener', ms: 8000 });
    t.equal(result.outcome, 'applied');
    const flood = backupSends(r, 1, 320, 65536).catch((err: Error) => err);
    t.match(
      await backupDown,
      { reason: 'socketIoError', detail: 'deadConnection' },
      'the backup, with output stuck and no input, declares the connection dead',
    );
    const sent = await flood;
    t.match(sent, { code: 'ERR_SESSION_DOWN' }, 'the waiting sender learns the session went down');
    const m = await masterDown;
    t.equal(m.reason, 'socketIoError');
    t.comment(`master: session-down detail ${m.detail} (${m.text}); ${r.atMaster.length} messages had reached it`);
    t.same(r.atMaster, range(1, r.atMaster.length), 'what reached the master is a prefix, in order');
    await Promise.all([sessionUp(r.master, first), sessionUp(r.backup, first)]);
  },
);

t.test(
  'stall-writer: half a message is forwarded, the rest held, then everything arrives in order in the same session',
  async (t) => {
    const clock = new ManualClock();
    const r = await rig(t, { proxy: { clock } });
    const sid = r.master.sessionId!;
    const injected = r.proxy.inject({ kind: 'stall-writer', channel: 'receive', toward: 'listener', ms: 3000 });
    const count = 50;
    const sending = backupSends(r, 1, count, 1024);
    const result = await injected;
    t.equal(result.outcome, 'applied');
    const cut = result.hits[0]!.cut!;
    t.equal(cut.seq, 1, 'the first message after the fault was armed was cut');
    t.equal(
      cut.length,
      encodedLength({ name: 'prl.opaque', body: { data: payload(1, 1024) } }),
      'a PRL OPAQUE of 1024 data bytes',
    );
    t.equal(cut.forwarded, Math.floor(cut.length / 2), 'its first half went through');
    // Round trips through the proxy on the other channel: had the proxy forwarded the held
    // bytes, the master would have read them by now.
    for (let handle = 1; handle <= 3; handle++) {
      await r.master.send('iha', { name: 'iha.asyncNotify', body: { handle, event: 1, value: 0n } }, { wait: true });
      await until(`notification ${handle} at the backup`, () => (r.atBackup.includes(handle) ? true : undefined));
    }
    const pair = r.proxy.connections().find((c) => c.channel === 'receive')!;
    t.ok(pair.stalled.towardListener, 'the rest is held');
    t.equal(
      pair.bytes.towardListener,
      result.hits[0]!.connection.bytes.towardListener,
      'nothing crossed toward the master after the first half',
    );
    t.notOk(
      rxSeqs(r.events.master, 'receive', sid).includes(cut.seq),
      'the master has not read the cut message while the rest is held',
    );
    clock.advance(3000);
    await sending;
    await until(`${count} messages at the master`, () => (r.atMaster.length >= count ? true : undefined));
    t.same(r.atMaster, range(1, count), 'every message arrived once, in order');
    t.same(rxSeqs(r.events.master, 'receive', sid), range(0, count), 'HELLO then every sequence number, none twice');
    t.equal(r.master.sessionId, sid, 'the same session');
  },
);

t.test(
  'partial-close: half a message then FIN; the master reads end of stream and never delivers the partial message',
  async (t) => {
    const r = await rig(t);
    const sid = r.master.sessionId!;
    const downs = Promise.all([sessionDown(r.master), sessionDown(r.backup)]);
    const injected = r.proxy.inject({ kind: 'partial-close', channel: 'receive', toward: 'listener' });
    const sending = backupSends(r, 1, 20, 512).catch((err: Error) => err);
    const result = await injected;
    t.equal(result.outcome, 'applied');
    const cut = result.hits[0]!.cut!;
    t.ok(
      cut.forwarded > 0 && cut.forwarded < cut.length,
      `cut inside message ${cut.seq}: ${cut.forwarded} of ${cut.length} bytes`,
    );
    const [m, b] = await downs;
    t.match(m, { reason: 'socketIoError', detail: 'endOfStream' }, 'the master read end of stream');
    t.equal(b.reason, 'socketIoError');
    t.comment(`backup: session-down detail ${b.detail} (${b.text})`);
    await sending;
    t.same(
      rxSeqs(r.events.master, 'receive', sid),
      range(0, cut.seq - 1),
      'the master read every message before the cut one, and not it',
    );
    t.same(r.atMaster, range(1, cut.seq - 1), 'the PRL client got exactly the messages before the cut one');
  },
);

t.test(
  'a fault that matches no live connection resolves "none-matched"; one that needs traffic on a quiet link resolves "no-traffic"',
  async (t) => {
    const empty = await FaultProxy.start();
    t.teardown(() => empty.close());
    const none: FaultResult = await empty.inject({ kind: 'reset' });
    t.match(none, { outcome: 'none-matched', hits: [] });
    t.match(await empty.inject({ kind: 'drop-channel', channel: 'receive' }), { outcome: 'none-matched' });
    await t.rejects(
      empty.inject({ kind: 'garbage', toward: 'listener', bytes: -1, seed: 1 } as never),
      /bytes/,
      'a malformed fault is an error',
    );
    await t.rejects(empty.inject({ kind: 'drop-channel' } as never), /channel/);

    const r = await rig(t, { proxy: { faultWaitMs: 300 } });
    const quiet = await r.proxy.inject({ kind: 'stall-writer', channel: 'send', toward: 'connector', ms: 100 });
    t.match(quiet, { outcome: 'no-traffic', hits: [] }, 'no message to cut on a quiet session');
    // A connection that has not sent its HELLO is never a fault's target.
    await t.rejects(r.proxy.listen('master', HOST, 0, HOST, 1), /exists/, 'listener names are unique');
    const raw = createConnection({ host: HOST, port: r.port });
    raw.on('error', () => undefined);
    t.teardown(() => raw.destroy());
    await once(raw, 'connect');
    await until('the unnamed pair', () => (r.proxy.connections().length === 3 ? true : undefined));
    const hit = await r.proxy.inject({ kind: 'stall-reader', toward: 'listener', ms: 1 });
    t.same(
      hit.hits.map((h) => h.connection.channel).sort(),
      ['receive', 'send'],
      'only the named pairs of the session',
    );
  },
);

// ---------------------------------------------------------------- raw sockets: byte-exact views

/** A target server that records everything it reads and can write back. */
async function rawTarget(t: Test): Promise<{ port: number; received: () => Buffer; sockets: Socket[] }> {
  const chunks: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => chunks.push(c));
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, received: () => Buffer.concat(chunks), sockets };
}

const HELLO = encodeMessage({
  name: 'control.hello',
  body: {
    minVersion: 1,
    maxVersion: 1,
    role: 2,
    channel: 1,
    features: 0,
    nodeId: 0,
    maxMessage: 262144,
    sessionId: 5n,
    nodeName: 'raw',
  },
});

/** A raw client through `proxy` to `targetPort` that has sent a HELLO for the send channel. */
async function rawClient(t: Test, proxy: FaultProxy, targetPort: number): Promise<Socket> {
  const port = await proxy.listen(`raw-${targetPort}`, HOST, 0, HOST, targetPort);
  const c = createConnection({ host: HOST, port, allowHalfOpen: true });
  c.on('error', () => undefined);
  t.teardown(() => c.destroy());
  await once(c, 'connect');
  c.write(HELLO);
  await until('the HELLO seen by the proxy', () => (proxy.connections()[0]?.channel === 'send' ? true : undefined));
  return c;
}

t.test('half-close sends FIN toward one side only: the other direction keeps flowing', async (t) => {
  const target = await rawTarget(t);
  const proxy = await FaultProxy.start();
  t.teardown(() => proxy.close());
  const client = await rawClient(t, proxy, target.port);
  const ended = once(client, 'end');
  t.equal((await proxy.inject({ kind: 'half-close', toward: 'connector' })).outcome, 'applied');
  await ended;
  t.pass('the connector read end of stream');
  client.write(Buffer.from('still flowing'));
  await until('bytes after the half-close at the target', () =>
    target.received().includes('still flowing') ? true : undefined,
  );
  t.pass('bytes the connector sent after its FIN reached the listener');
});

t.test('boundary tracking stops at a header the codec refuses, and the bytes still pass unchanged', async (t) => {
  const target = await rawTarget(t);
  const proxy = await FaultProxy.start();
  t.teardown(() => proxy.close());
  const client = await rawClient(t, proxy, target.port);
  // A header with the right magic and a length of 4 GiB - 1, then 1 MiB: nothing may wait for the "body".
  const huge = Buffer.from(HELLO.subarray(0, 16));
  huge.writeUInt32BE(0xffffffff, 8);
  const tail = Buffer.from(new Prng(3).bytes(1 << 20));
  client.write(huge);
  client.write(tail);
  const expected = Buffer.concat([HELLO, huge, tail]);
  await until('every byte at the target', () => (target.received().length >= expected.length ? true : undefined));
  t.ok(target.received().equals(expected), 'the target got the stream byte for byte');
  const c = proxy.connections()[0]!;
  t.equal(c.tracking.towardListener, false, 'tracking stopped toward the listener');
  t.equal(c.messages.towardListener, 1, 'only the HELLO was counted as a message');
  t.equal(c.bytes.towardListener, expected.length);
  // Without boundaries, garbage goes in at the current position, at once.
  const g = await proxy.inject({ kind: 'garbage', toward: 'listener', bytes: 8, seed: 9 });
  t.match(g, { outcome: 'applied', hits: [{ at: expected.length }] });
  await until('the garbage at the target', () => (target.received().length === expected.length + 8 ? true : undefined));
  t.ok(
    target
      .received()
      .subarray(expected.length)
      .equals(Buffer.from(new Prng(9).bytes(8))),
    "the garbage is the seed's bytes",
  );
});

t.test('stall-writer holds the second half of the next message, then forwards it unchanged', async (t) => {
  const target = await rawTarget(t);
  const clock = new ManualClock();
  const proxy = await FaultProxy.start({ clock });
  t.teardown(() => proxy.close());
  const client = await rawClient(t, proxy, target.port);
  await until('the HELLO at the target', () => (target.received().length === HELLO.length ? true : undefined));
  const injected = proxy.inject({ kind: 'stall-writer', toward: 'listener', ms: 3000 });
  const msg = encodeMessage({ name: 'control.echoRequest', body: { token: 1, payload: new Prng(4).bytes(300) } });
  client.write(msg);
  const result = await injected;
  const cut = result.hits[0]!.cut!;
  t.match(cut, { seq: 0, length: msg.byteLength, forwarded: Math.floor(msg.byteLength / 2) });
  await until('the first half at the target', () =>
    target.received().length >= HELLO.length + cut.forwarded ? true : undefined,
  );
  t.ok(proxy.connections()[0]!.stalled.towardListener, 'the rest is held');
  t.equal(target.received().length, HELLO.length + cut.forwarded, 'exactly the first half, while the rest is held');
  clock.advance(3000);
  await until('the whole message at the target', () =>
    target.received().length === HELLO.length + msg.byteLength ? true : undefined,
  );
  t.ok(target.received().equals(Buffer.concat([HELLO, msg])), 'the stream is unchanged');
});

t.test(
  'message boundaries are found whatever the chunking: every header counted, garbage lands after the last message',
  async (t) => {
    const target = await rawTarget(t);
    const proxy = await FaultProxy.start();
    t.teardown(() => proxy.close());
    const client = await rawClient(t, proxy, target.port);
    client.setNoDelay(true);
    const prng = new Prng(11);
    const messages = Array.from({ length: 30 }, (_, i) =>
      encodeMessage({
        name: 'control.echoRequest',
        seq: i + 1,
        body: { token: i, payload: prng.bytes(prng.below(200)) },
      }),
    );
    const stream = Buffer.concat(messages);
    // Slices of 1 to 40 bytes, each its own write after a turn of the event loop.
    for (let at = 0; at < stream.length;) {
      const end = Math.min(stream.length, at + prng.between(1, 40));
      client.write(stream.subarray(at, end));
      at = end;
      await new Promise((r) => setImmediate(r));
    }
    const total = HELLO.length + stream.length;
    await until('every byte at the target', () => (target.received().length === total ? true : undefined));
    const c = proxy.connections()[0]!;
    t.equal(c.messages.towardListener, 31, 'the HELLO and 30 messages');
    t.ok(c.tracking.towardListener, 'still tracking');
    t.match(await proxy.inject({ kind: 'garbage', toward: 'listener', bytes: 5, seed: 1 }), {
      outcome: 'applied',
      hits: [{ at: total }],
    });
  },
);

// ---------------------------------------------------------------- the proxy as a process

t.test(
  'the proxy process: ready, listen, a session through it, a fault, connections, close with exit code 0',
  async (t) => {
    const proc = await ProxyProcess.spawn();
    t.teardown(() => proc.kill());
    const master = new KkcmPeer({ role: 'master', listen: { host: HOST, port: 0 } });
    const peers: KkcmPeer[] = [master];
    t.teardown(async () => {
      for (const p of peers.reverse()) await p.stop();
    });
    await master.configure();
    const port = await proc.listen('master', HOST, 0, HOST, master.listenAddress!.port);
    t.ok(port > 0, `listening on ${port}`);
    await t.rejects(proc.listen('master', HOST, 0, HOST, 1), /exists/, 'an error answer rejects');
    const backup = new KkcmPeer({ role: 'backup', connect: { host: HOST, port }, backoff: BACKOFF });
    peers.push(backup);
    const up = Promise.all([sessionUp(master), sessionUp(backup)]);
    await backup.configure();
    await up;
    const first = master.sessionId!;
    const conns = await proc.connections();
    t.same(conns.map((c) => c.channel).sort(), ['receive', 'send']);
    t.ok(conns.every((c) => c.sessionId === first.toString()));
    const down = sessionDown(master);
    const again = Promise.all([sessionUp(master, first), sessionUp(backup, first)]);
    const result = await proc.inject({ kind: 'drop-channel', channel: 'receive' });
    t.match(result, { outcome: 'applied', hits: [{ connection: { channel: 'receive' } }] });
    t.match(await down, { reason: 'socketIoError' });
    await again;
    t.equal(
      (await proc.closed()).filter((c) => c.sessionId === first.toString()).length,
      2,
      'both pairs of the first session closed',
    );
    await backup.stop();
    t.equal(await proc.close(), 0, 'exit code 0');
  },
);

t.test('the proxy process closes everything and exits 0 when its standard input ends', async (t) => {
  const proc = await ProxyProcess.spawn();
  t.teardown(() => proc.kill());
  t.ok((await proc.listen('x', HOST, 0, HOST, 1)) > 0);
  t.equal(await proc.endInput(), 0);
});
