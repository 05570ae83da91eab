import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KkcmPeer, ManualClock, MemoryTransport, PeerError, type PeerEvent } from '../src/index.js';
import { attachEventLog } from '../src/trace/event-log.js';
import { parseTraceFilter } from '../src/trace/filter.js';

type Line = Record<string, unknown> & { ts: number; event: string };

const EPOCH = 1_700_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'kkcm-event-log-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tmpFile = (): string => join(dir, `events-${files++}.jsonl`);

const settle = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const readLines = (path: string): Line[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

/** A master and a backup over the memory transport, both with a PRL client. */
function pair(): {
  master: KkcmPeer;
  backup: KkcmPeer;
  clock: ManualClock;
  transport: MemoryTransport;
  start(): Promise<void>;
} {
  const transport = new MemoryTransport();
  const clock = new ManualClock();
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    transport,
    clock,
    random: () => 0.5,
  });
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: 'm', port: 7000 },
    transport,
    clock,
    random: () => 0.5,
  });
  master.register('prl', { message: () => undefined, cleanup: () => undefined });
  backup.register('prl', { message: () => undefined, cleanup: () => undefined });
  return {
    master,
    backup,
    clock,
    transport,
    async start() {
      await master.configure();
      await backup.configure();
      clock.advance(0);
      await settle();
    },
  };
}

t.test('writes one JSON object per line with ts and the contract fields of each event', async (t) => {
  const p = pair();
  const clockNow = (): number => EPOCH + p.clock.now();
  const mPath = tmpFile();
  const bPath = tmpFile();
  const mLog = attachEventLog(p.master, mPath, { now: clockNow });
  const bLog = attachEventLog(p.backup, bPath, { now: clockNow });
  await p.start();
  t.ok(p.master.sessionUp && p.backup.sessionUp, 'the session came up');
  const sessionId = p.master.sessionId!.toString();
  await p.master.send('prl', { name: 'prl.packetDrop', body: { handle: 1, count: 2 } });
  await p.backup.send('prl', { name: 'prl.packetDrop', body: { handle: 3, count: 4 } });
  await settle();
  p.clock.advance(5);
  await p.master.stop();
  await settle();
  await p.backup.stop();
  await settle();
  await Promise.all([mLog.close(), bLog.close()]);

  const m = readLines(mPath);
  const b = readLines(bPath);
  const raw = readFileSync(mPath, 'utf8');
  t.ok(raw.endsWith('\n'), 'the file ends with a newline');
  t.equal(raw.split('\n').length - 1, m.length, 'one object per line');
  const misshapen = [...m, ...b].filter(
    (l) => typeof l.ts !== 'number' || typeof l.event !== 'string' || Object.keys(l).slice(0, 2).join() !== 'ts,event',
  );
  t.same(misshapen, [], 'every line starts with a numeric ts and a string event');
  t.ok(m.length > 0 && m.every((l) => l.ts >= EPOCH), 'ts are milliseconds from the injected clock');
  t.equal(m.at(-1)!.ts, EPOCH + 5, 'time moves with the clock');
  t.equal(mLog.written, m.length, 'every accepted line is in the file');
  t.equal(mLog.dropped, 0);

  t.match(
    m.find((l) => l.event === 'listening'),
    { host: 'm', port: 7000 },
  );
  t.match(
    b.find((l) => l.event === 'connecting'),
    { host: 'm', port: 7000, attempt: 0 },
  );
  for (const [side, lines] of [
    ['master', m],
    ['backup', b],
  ] as const) {
    t.match(
      lines.find((l) => l.event === 'session-up'),
      { sessionId, version: 1, role: side },
      `${side} session-up`,
    );
    t.match(
      lines.find((l) => l.event === 'session-down'),
      { sessionId, reason: String },
      `${side} session-down`,
    );
    t.match(
      lines.find((l) => l.event === 'cleanup'),
      { client: 'prl', reason: String, sessionId },
      `${side} cleanup`,
    );
  }
  t.match(
    m.find((l) => l.event === 'cleanup'),
    { reason: 'nsrDeconfigured', detail: 'localShutdown' },
    'stop() cleans up with the local shutdown',
  );

  const prlTx = m.find((l) => l.event === 'tx' && l.name === 'prl.packetDrop');
  t.match(prlTx, { channel: 'receive', type: 0x20, subtype: 0x02, seq: Number, length: 24 });
  const prlRx = b.find((l) => l.event === 'rx' && l.name === 'prl.packetDrop');
  t.same({ ...prlRx, ts: 0, event: 'tx' }, { ...prlTx, ts: 0 }, 'what the master wrote is what the backup read');
  const helloTx = b.find((l) => l.event === 'tx' && l.name === 'control.hello');
  t.match(helloTx, { type: 0x01, subtype: 0x01, seq: 0, length: Number }, 'the backup traces its HELLO');
  t.ok(
    m.some((l) => l.event === 'rx' && l.name === 'prl.packetDrop'),
    'rx on the master',
  );
});

t.test('writes error events with their code', async (t) => {
  const p = pair();
  const path = tmpFile();
  const log = attachEventLog(p.master, path);
  await p.master.configure();
  // Garbage instead of a HELLO: the master's framer fails on the magic.
  const conn = await p.transport.connect('m', 7000);
  conn.attach({ data: () => undefined, drain: () => undefined, close: () => undefined });
  conn.write([new Uint8Array(16).fill(0xee)]);
  await settle();
  await p.master.stop();
  await log.close();
  t.match(
    readLines(path).find((l) => l.event === 'error'),
    { code: 'ERR_BAD_MAGIC', channel: null, text: String },
  );
});

t.test('writes bigints as decimal strings', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const path = tmpFile();
  const log = attachEventLog(peer, path, { now: () => EPOCH });
  peer.emit('event', {
    event: 'channel-bound',
    channel: 'send',
    sessionId: 18446744073709551615n,
  } as unknown as PeerEvent);
  await log.close();
  t.same(readLines(path), [{ ts: EPOCH, event: 'channel-bound', channel: 'send', sessionId: '18446744073709551615' }]);
});

t.test('keeps only the events and messages the filter selects', async (t) => {
  const p = pair();
  const prlOnly = tmpFile();
  const controlAndState = tmpFile();
  const logA = attachEventLog(p.master, prlOnly, { filter: parseTraceFilter('event=tx,rx,session-up name=prl.*') });
  const logB = attachEventLog(p.master, controlAndState, { filter: { types: [0x01] } });
  await p.start();
  await p.master.send('prl', { name: 'prl.packetDrop', body: { handle: 1, count: 2 } });
  await settle();
  await p.master.stop();
  await p.backup.stop();
  await settle();
  await logA.close();
  await logB.close();

  const a = readLines(prlOnly);
  t.same([...new Set(a.map((l) => l.event))].sort(), ['session-up', 'tx'], 'only the selected events');
  const sent = a.filter((l) => l.event === 'tx');
  t.ok(sent.length > 0 && sent.every((l) => l.name === 'prl.packetDrop'), 'only PRL messages');
  const b = readLines(controlAndState);
  const messages = b.filter((l) => l.event === 'tx' || l.event === 'rx');
  t.ok(messages.length > 0 && messages.every((l) => l.type === 0x01), 'only control messages');
  t.ok(b.some((l) => l.event === 'listening') && b.some((l) => l.event === 'cleanup'), 'other events are kept');
});

t.test('close flushes, removes exactly its listener and is safe twice', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const other = (): void => undefined;
  peer.on('event', other);
  const path = tmpFile();
  const log = attachEventLog(peer, path, { now: () => EPOCH });
  t.equal(peer.listenerCount('event'), 2);
  peer.emit('event', { event: 'peer-down' });
  const first = log.close();
  const second = log.close();
  t.equal(first, second, 'the same promise');
  t.equal(peer.listenerCount('event'), 1, 'its listener is gone');
  t.same(peer.listeners('event'), [other], 'the other listener stays');
  peer.emit('event', { event: 'peer-up' });
  await first;
  await log.close();
  t.same(readLines(path), [{ ts: EPOCH, event: 'peer-down' }], 'nothing written after close');
});

t.test('throws at once when the file cannot be created, without listening', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  t.throws(() => attachEventLog(peer, join(dir, 'no-such-dir', 'x.jsonl')), { code: 'ENOENT' });
  t.equal(peer.listenerCount('event'), 0);
});

t.test('rejects an invalid filter with ERR_BAD_INPUT before creating the file', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const path = join(dir, 'never.jsonl');
  t.throws(() => attachEventLog(peer, path, { filter: { types: [999] } }), PeerError);
  t.throws(() => attachEventLog(peer, path, { filter: { types: [999] } }), { code: 'ERR_BAD_INPUT' });
  t.notOk(existsSync(path));
  t.equal(peer.listenerCount('event'), 0);
});

t.test('drops lines past the buffer bound and says how many at close', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const path = tmpFile();
  const log = attachEventLog(peer, path, { now: () => EPOCH, maxBufferedBytes: 64 });
  // In one synchronous burst the disk completes nothing: the first line is accepted (the
  // buffer was empty), the rest exceed the bound.
  for (let i = 0; i < 100; i++) peer.emit('event', { event: 'connecting', host: 'm', port: 7000, attempt: i });
  t.equal(log.written, 1);
  t.equal(log.dropped, 99);
  await log.close();
  t.same(readLines(path), [
    { ts: EPOCH, event: 'connecting', host: 'm', port: 7000, attempt: 0 },
    { ts: EPOCH, event: 'trace-dropped', count: 99 },
  ]);
});

t.test('reports drops before the next line that fits, and loses count of none', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const path = tmpFile();
  const log = attachEventLog(peer, path, { now: () => EPOCH, maxBufferedBytes: 64 });
  let attempt = 0;
  const burst = (): void => {
    for (let i = 0; i < 20; i++) peer.emit('event', { event: 'connecting', host: 'm', port: 7000, attempt: attempt++ });
  };
  burst();
  // Wait (a bounded number of turns) for the disk to take the first line, then burst again.
  for (let i = 0; i < 2000 && log.written < 3; i++) {
    await new Promise((r) => setTimeout(r, 1));
    burst();
  }
  t.ok(log.written >= 3, 'later lines were written once the disk caught up');
  await log.close();
  const lines = readLines(path);
  const notices = lines.filter((l) => l.event === 'trace-dropped');
  const events = lines.filter((l) => l.event === 'connecting');
  t.equal(events.length, log.written, 'every accepted line is in the file');
  t.equal(events.length + log.dropped, attempt, 'every event was written or counted');
  t.equal(
    notices.reduce((n, l) => n + (l.count as number), 0),
    log.dropped,
    'the notices add up to the drops',
  );
  t.ok(notices.length >= 2, 'a notice came before a later line, not only at close');
  const firstNotice = lines.findIndex((l) => l.event === 'trace-dropped');
  t.equal(lines[firstNotice + 1]?.event, 'connecting', 'the notice precedes the line that fit');
  const attempts = events.map((l) => l.attempt as number);
  t.same(
    attempts,
    [...attempts].sort((x, y) => x - y),
    'lines stay in order',
  );
});

t.test(
  'rejects close with the write error when the disk fails',
  { skip: existsSync('/dev/full') ? false : 'no /dev/full on this system' },
  async (t) => {
    const peer = new KkcmPeer({ role: 'master' });
    const log = attachEventLog(peer, '/dev/full');
    peer.emit('event', { event: 'peer-down' });
    await t.rejects(log.close(), { code: 'ENOSPC' });
    await t.rejects(log.close(), { code: 'ENOSPC' }, 'the second close says the same');
    peer.emit('event', { event: 'peer-up' });
    t.equal(peer.listenerCount('event'), 0);
  },
);
