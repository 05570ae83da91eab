import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { KkcmPeer, MemoryTransport, type PeerStatus } from '../src/index.js';
import {
  AdminError,
  adminRequest,
  formatAdminAddress,
  parseAdminAddress,
  startAdminServer,
  type AdminResponse,
  type AdminServer,
} from '../src/admin.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-admin-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Polls `cond` until it holds, failing after a bounded deadline (no fixed sleeps). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Pair {
  readonly master: KkcmPeer;
  readonly backup: KkcmPeer;
  readonly received: string[];
  stop(): Promise<void>;
}

/** A master and a backup over the memory transport, session up, system clock. */
async function pair(): Promise<Pair> {
  const transport = new MemoryTransport();
  const common = { transport, backoff: { initialMs: 5, maxMs: 20 }, lingerMs: 50 };
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    connect: { host: 'b', port: 7001 },
    nodeName: 're0',
    ...common,
  });
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: 'm', port: 7000 },
    listen: { host: 'b', port: 7001 },
    nodeName: 're1',
    ...common,
  });
  const received: string[] = [];
  for (const p of [master, backup])
    p.register('prl', { message: (msg) => received.push(msg.name ?? 'unlisted'), cleanup: () => undefined });
  await master.configure();
  await backup.configure();
  await until(() => master.sessionUp && backup.sessionUp, 'the session');
  return { master, backup, received, stop: async () => void (await Promise.all([master.stop(), backup.stop()])) };
}

/** A line client over a raw socket: writes requests, reads response lines in order. */
class LineClient {
  readonly lines: string[] = [];
  closed = false;
  private rest = '';
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const parts = (this.rest + text).split('\n');
      this.rest = parts.pop()!;
      this.lines.push(...parts);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(server: AdminServer): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const e = server.endpoint;
      const socket = 'path' in e ? connect(e.path) : connect(e.port, e.host);
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Waits for the `n`th response line (1-based) and parses it. */
  async response(n: number): Promise<AdminResponse & Record<string, unknown>> {
    await until(() => this.lines.length >= n || this.closed, `response ${n}`);
    const line = this.lines[n - 1];
    if (line === undefined) throw new Error('closed before answering');
    return JSON.parse(line) as AdminResponse & Record<string, unknown>;
  }

  close(): void {
    this.socket.destroy();
  }
}

const errorCode = (r: AdminResponse): string | undefined => (r.ok ? undefined : r.error.code);

async function rejectionCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

t.test('admin addresses: HOST:PORT, [v6]:PORT, anything else a Unix socket path', async (t) => {
  t.same(parseAdminAddress('127.0.0.1:7100'), { host: '127.0.0.1', port: 7100 });
  t.same(parseAdminAddress('localhost:0'), { host: 'localhost', port: 0 });
  t.same(parseAdminAddress('[::1]:7100'), { host: '::1', port: 7100 });
  t.same(parseAdminAddress('/run/kkcm.sock'), { path: '/run/kkcm.sock' });
  t.same(parseAdminAddress('kkcm.sock'), { path: 'kkcm.sock' });
  t.equal(formatAdminAddress({ host: '::1', port: 1 }), '[::1]:1');
  t.equal(formatAdminAddress({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
  t.equal(formatAdminAddress({ path: '/x.sock' }), '/x.sock');
  for (const bad of ['', '127.0.0.1:65536']) {
    t.throws(() => parseAdminAddress(bad), AdminError, bad);
    t.equal(await rejectionCode(Promise.resolve().then(() => parseAdminAddress(bad))), 'ERR_ADMIN_BAD_REQUEST', bad);
  }
});

t.test('over TCP: status, stats with extra counters, and send with delivery confirmation', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0', {
    extraStats: () => ({ clients: { prl: { messages: p.received.length } }, big: 2n ** 64n }),
  });
  t.teardown(async () => {
    await admin.close();
    await p.stop();
  });
  t.match(admin.address, /^127\.0\.0\.1:\d+$/);
  t.not(admin.address, '127.0.0.1:0', 'the actual port is reported');

  const status = await adminRequest(admin.address, { cmd: 'status', id: 1 });
  t.equal(status.ok, true);
  t.equal(status.id, 1, 'the id is echoed');
  const s = (status as { result: PeerStatus }).result;
  t.equal(s.role, 'master');
  t.equal(s.state, 'up');
  t.equal(typeof s.session?.id, 'string', 'the 64-bit session id is a string');
  t.equal(s.session?.id, p.master.sessionId?.toString());
  t.same(s.clients, ['prl']);

  const sent = await adminRequest(admin.endpoint, {
    cmd: 'send',
    client: 'prl',
    message: { name: 'prl.packetDrop', body: { handle: 7, count: 3 } },
    options: { wait: true, confirm: true },
  });
  t.same(sent, { ok: true, result: { sent: true, confirmed: true } });
  t.same(p.received, ['prl.packetDrop'], 'the confirmation means the other side delivered it');

  const stats = await adminRequest(admin.address, { cmd: 'stats' });
  t.equal(stats.ok, true);
  const r = (stats as { result: { types: Record<string, { tx: number }>; clients: unknown; big: unknown } }).result;
  t.equal(r.types['prl.packetDrop']?.tx, 1);
  t.same(r.clients, { prl: { messages: 1 } });
  t.equal(r.big, '18446744073709551616', 'bigints are written as decimal strings');
});

t.test('send: coded errors for a wrong client, a raw message, bad options and bad bodies', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0');
  t.teardown(async () => {
    await admin.close();
    await p.stop();
  });
  const drop = { name: 'prl.packetDrop', body: { handle: 7, count: 3 } };
  const cases: [string, Record<string, unknown>, string][] = [
    ['wrong client', { cmd: 'send', client: 'iha', message: drop }, 'ERR_WRONG_CLIENT'],
    ['no client', { cmd: 'send', message: drop }, 'ERR_ADMIN_BAD_REQUEST'],
    [
      'raw message',
      { cmd: 'send', client: 'prl', message: { type: 32, subtype: 3, body: '00' } },
      'ERR_ADMIN_BAD_REQUEST',
    ],
    ['unknown message', { cmd: 'send', client: 'prl', message: { name: 'prl.nope', body: {} } }, 'ERR_UNKNOWN_MESSAGE'],
    [
      'bad body',
      {
        cmd: 'send',
        client: 'prl',
        message: { name: 'prl.packet', body: { handle: 1, direction: 1, ifIndex: 1, timestampNs: 'soon', packet: '' } },
      },
      'ERR_INVALID_VALUE',
    ],
    ['options not an object', { cmd: 'send', client: 'prl', message: drop, options: 3 }, 'ERR_ADMIN_BAD_REQUEST'],
    [
      'confirm not a boolean',
      { cmd: 'send', client: 'prl', message: drop, options: { confirm: 'yes' } },
      'ERR_ADMIN_BAD_REQUEST',
    ],
    [
      'bad channel',
      { cmd: 'send', client: 'prl', message: drop, options: { channel: 'sideways' } },
      'ERR_ADMIN_BAD_REQUEST',
    ],
    ['wrong channel', { cmd: 'send', client: 'prl', message: drop, options: { channel: 'send' } }, 'ERR_WRONG_CHANNEL'],
  ];
  for (const [what, req, code] of cases) {
    const r = await adminRequest(admin.address, req as { cmd: string });
    t.equal(errorCode(r), code, what);
    if (!r.ok) t.type(r.error.message, 'string');
  }
});

t.test('the triggers: switchover swaps roles, peer-down/up, deconfigure/configure', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0');
  t.teardown(async () => {
    await admin.close();
    await p.stop();
  });
  const cleanups: string[] = [];
  p.master.on('event', (e) => {
    if (e.event === 'cleanup') cleanups.push(e.reason);
  });
  const call = async (cmd: string): Promise<PeerStatus> => {
    const r = await adminRequest(admin.address, { cmd });
    if (!r.ok) throw new Error(`${cmd}: ${r.error.code}`);
    return r.result as PeerStatus;
  };

  const down = await call('deconfigure');
  t.equal(down.configured, false);
  t.equal(down.state, 'idle');
  t.equal(
    errorCode(await adminRequest(admin.address, { cmd: 'switchover' })),
    'ERR_NOT_CONFIGURED',
    'a coded peer error',
  );
  t.equal((await call('configure')).configured, true);
  await until(() => p.master.sessionUp && p.backup.sessionUp, 'the session after configure');

  t.equal((await call('switchover')).role, 'backup', 'switchover: the master became the backup');
  await until(() => p.master.sessionUp && p.backup.sessionUp, 'the session after the switchover');
  t.equal(p.backup.role, 'master');

  const gone = await call('peer-down');
  t.equal(gone.peerAlive, false, 'peer-down: the other side is down');
  t.equal(gone.role, 'master', 'a backup told its master is down takes over');
  t.equal((await call('peer-up')).peerAlive, true);
  t.same(cleanups, ['nsrDeconfigured', 'switchover', 'peerDown'], 'one cleanup per trigger, with its reason');
});

t.test('bad input gets a coded error and the connection stays usable', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0', {
    extraStats: () => {
      throw new Error('boom');
    },
  });
  const c = await LineClient.open(admin);
  t.teardown(async () => {
    c.close();
    await admin.close();
    await p.stop();
  });
  c.socket.write('this is not json\n');
  t.equal(errorCode(await c.response(1)), 'ERR_ADMIN_BAD_JSON');
  c.socket.write('[1,2]\n{"cmd":7}\n{"cmd":"frobnicate","id":"x"}\n');
  t.equal(errorCode(await c.response(2)), 'ERR_ADMIN_BAD_REQUEST', 'not an object');
  t.equal(errorCode(await c.response(3)), 'ERR_ADMIN_BAD_REQUEST', 'cmd not a string');
  const unknown = await c.response(4);
  t.equal(errorCode(unknown), 'ERR_ADMIN_UNKNOWN_COMMAND');
  t.equal(unknown.id, 'x');
  c.socket.write('{"cmd":"stats"}\n');
  t.equal(errorCode(await c.response(5)), 'ERR_ADMIN_INTERNAL', 'an uncoded failure');
  // Empty lines are skipped; a request split over writes is one request; CRLF is fine.
  c.socket.write('\n\r\n{"cmd":"sta');
  await new Promise((resolve) => setImmediate(resolve));
  c.socket.write('tus","id":2}\r\n');
  const status = await c.response(6);
  t.equal(status.ok, true, 'still healthy');
  t.equal(status.id, 2);
  t.equal(c.lines.length, 6, 'one response per request');
});

t.test('many pipelined requests are all answered, in order', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0');
  const c = await LineClient.open(admin);
  t.teardown(async () => {
    c.close();
    await admin.close();
    await p.stop();
  });
  const n = 100;
  c.socket.write(Array.from({ length: n }, (_v, i) => `{"cmd":"status","id":${i}}\n`).join(''));
  await c.response(n);
  t.same(
    c.lines.map((l) => (JSON.parse(l) as { id: number }).id),
    Array.from({ length: n }, (_v, i) => i),
  );
});

t.test('an over-long request line is answered with an error without being buffered', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0', { maxLineBytes: 1024 });
  const c = await LineClient.open(admin);
  t.teardown(async () => {
    c.close();
    await admin.close();
    await p.stop();
  });
  c.socket.write(`{"cmd":"status","pad":"${'x'.repeat(700)}`);
  c.socket.write(`${'y'.repeat(700)}"}\n{"cmd":"status"}\n`);
  t.equal(errorCode(await c.response(1)), 'ERR_ADMIN_LINE_TOO_LONG');
  t.equal((await c.response(2)).ok, true, 'the next line is served');
  c.socket.write(`${'z'.repeat(3000)}\n{"cmd":"status","id":3}\n`);
  t.equal(errorCode(await c.response(3)), 'ERR_ADMIN_LINE_TOO_LONG', 'a long line inside one chunk');
  t.equal((await c.response(4)).id, 3);
});

t.test('connections beyond the limit are refused with a coded error', async (t) => {
  const p = await pair();
  const admin = await startAdminServer(p.master, '127.0.0.1:0', { maxConnections: 1 });
  t.teardown(async () => {
    await admin.close();
    await p.stop();
  });
  const first = await LineClient.open(admin);
  first.socket.write('{"cmd":"status"}\n');
  t.equal((await first.response(1)).ok, true);
  const second = await LineClient.open(admin);
  t.equal(errorCode(await second.response(1)), 'ERR_ADMIN_TOO_MANY_CONNECTIONS');
  await until(() => second.closed, 'the refused connection to close');
  first.close();
  await until(() => first.closed, 'the first connection to close');
  // The server learns of the close asynchronously: poll until a new connection is served.
  let served = false;
  const deadline = Date.now() + 10_000;
  while (!served && Date.now() < deadline) served = (await adminRequest(admin.address, { cmd: 'status' })).ok;
  t.ok(served, 'a slot frees up when a connection closes');
});

t.test('over a Unix socket: serves, replaces a stale socket file, refuses a regular file, closes twice', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const path = join(dir, 'admin.sock');
  const admin = await startAdminServer(p.master, path);
  t.equal(admin.address, path);
  t.same(admin.endpoint, { path });
  const r = await adminRequest(path, { cmd: 'status' });
  t.equal(r.ok, true);
  t.equal((r as { result: PeerStatus }).result.state, 'up');
  const open = await LineClient.open(admin);
  await admin.close();
  await admin.close();
  await until(() => open.closed, 'open admin connections to be closed');
  t.notOk(existsSync(path), 'the socket file is removed');

  // A socket file left by a process that died: nobody listens, so it is replaced.
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.ok(existsSync(path), 'the killed process left its socket file');
  const again = await startAdminServer(p.master, path);
  t.equal((await adminRequest(path, { cmd: 'status' })).ok, true, 'served at the stale path');
  // A live server at the path is not replaced.
  t.equal(await rejectionCode(startAdminServer(p.master, path)), 'EADDRINUSE');
  await again.close();

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'keep me');
  t.equal(await rejectionCode(startAdminServer(p.master, file)), 'EADDRINUSE', 'a regular file is never removed');
  t.ok(existsSync(file));
});

t.test('adminRequest: unreachable, hang-up, timeout and bad answers are coded errors', async (t) => {
  const closedPort = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  t.equal(await rejectionCode(adminRequest(`127.0.0.1:${closedPort}`, { cmd: 'status' })), 'ERR_ADMIN_UNREACHABLE');
  t.equal(await rejectionCode(adminRequest(join(dir, 'nobody.sock'), { cmd: 'status' })), 'ERR_ADMIN_UNREACHABLE');

  const answers: ((s: Socket) => void)[] = [
    (s) => s.end(),
    () => undefined,
    (s) => s.write('hello\n'),
    (s) => s.write('{"ok":false}\n'),
    (s) => s.write('[]\n'),
  ];
  let next = 0;
  const fake = createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => answers[next++]?.(s));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => fake.close(() => resolve())));
  const at = `127.0.0.1:${(fake.address() as { port: number }).port}`;
  t.equal(
    await rejectionCode(adminRequest(at, { cmd: 'status' })),
    'ERR_ADMIN_UNREACHABLE',
    'hung up without answering',
  );
  t.equal(
    await rejectionCode(adminRequest(at, { cmd: 'status' }, { timeoutMs: 50 })),
    'ERR_ADMIN_TIMEOUT',
    'never answered',
  );
  t.equal(await rejectionCode(adminRequest(at, { cmd: 'status' })), 'ERR_ADMIN_BAD_RESPONSE', 'not JSON');
  t.equal(
    await rejectionCode(adminRequest(at, { cmd: 'status' })),
    'ERR_ADMIN_BAD_RESPONSE',
    'an error response without an error',
  );
  t.equal(await rejectionCode(adminRequest(at, { cmd: 'status' })), 'ERR_ADMIN_BAD_RESPONSE', 'not an object');
});
