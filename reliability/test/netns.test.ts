/**
 * Two network namespaces joined by a veth pair: a `kkcm peer` master in one, a backup in
 * the other, their session across the veth; then the fault proxy as a process in the
 * backup's namespace, forwarding across the veth. Admin sockets are Unix socket paths: the
 * filesystem is shared between namespaces, the loopback is not. Skipped, with the reason,
 * where namespaces cannot be created (no iproute2, not root).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerStatus } from '../../reference-impl/src/index.js';
import { PeerProcess } from '../../reference-impl/test/processes.js';
import { ProxyProcess } from '../src/chaos/proxy-client.js';
import { createNetnsPair, listNetns, type NetnsPair } from '../src/netns.js';

/** Why this file skips, from a first pair made and deleted at once; undefined when namespaces work. */
const probe = await createNetnsPair('probe');
const skip = 'skip' in probe ? probe.skip : undefined;
if ('skip' in probe) t.comment(`skipped: ${probe.skip}`);
else await probe.close();

/** A namespace pair for one test, deleted at teardown. */
async function netns(t: Test, tag: string): Promise<NetnsPair> {
  const pair = await createNetnsPair(tag);
  if ('skip' in pair) throw new Error(`namespaces worked for the probe, not for ${tag}: ${pair.skip}`);
  t.teardown(() => pair.close());
  return pair;
}

const dir = mkdtempSync(join(tmpdir(), 'kkcm-netns-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test(
  'createNetnsPair makes two namespaces with addresses on a veth, and close deletes them',
  { skip: skip ?? false },
  async (t) => {
    const pair = await netns(t, 'shape');
    t.match(pair.a.ns, new RegExp(`^kkcm-${process.pid}-shape-a$`));
    t.match(pair.b.ns, new RegExp(`^kkcm-${process.pid}-shape-b$`));
    t.match(pair.a.addr, /^10\.213\.\d+\.\d+$/);
    const [a, b] = [pair.a.addr, pair.b.addr].map((x) => x.split('.').map(Number));
    t.equal(b![3]! - a![3]!, 1, '.1 and .2 of one /30');
    t.equal(a![3]! % 4, 1);
    t.same(pair.prefix(pair.a.ns), ['ip', 'netns', 'exec', pair.a.ns]);
    const names = await listNetns();
    t.ok(names.includes(pair.a.ns) && names.includes(pair.b.ns), 'both exist');
    await t.rejects(createNetnsPair('shape'), /already live/, 'a tag is unique among live pairs');
    await t.rejects(createNetnsPair('Bad Tag'), /tag/);
    await pair.close();
    await pair.close();
    const after = await listNetns();
    t.notOk(after.includes(pair.a.ns) || after.includes(pair.b.ns), 'both deleted');
  },
);

t.test(
  'a master in one namespace and a backup in the other hold a session across the veth',
  { skip: skip ?? false },
  async (t) => {
    const pair = await netns(t, 'peers');
    const master = await PeerProcess.start(
      t,
      dir,
      'p-master',
      ['--role', 'master', '--listen', `${pair.a.addr}:0`, '--node-name', 're0'],
      { prefix: pair.prefix(pair.a.ns), admin: join(dir, 'p-master.sock') },
    );
    const listen = master.listen;
    t.match(
      listen,
      new RegExp(`^${pair.a.addr.replace(/\./g, '\\.')}:\\d+$`),
      'the master listens on its veth address',
    );
    const backup = await PeerProcess.start(
      t,
      dir,
      'p-backup',
      ['--role', 'backup', '--connect', listen!, '--node-name', 're1', '--backoff-max-ms', '200'],
      { prefix: pair.prefix(pair.b.ns), admin: join(dir, 'p-backup.sock') },
    );
    const [m, b] = await Promise.all([master.waitEvent('session-up'), backup.waitEvent('session-up')]);
    t.equal(m.sessionId, b.sessionId, 'one session on both sides');
    const accepted = master.eventsOf('accepted');
    t.ok(
      accepted.length >= 2 && accepted.every((e) => e.remote.startsWith(`${pair.b.addr}:`)),
      `the master accepted both channels from ${pair.b.addr}, across the veth`,
    );
    // The admin sockets are Unix paths: reachable from this namespace.
    const status = await master.request({ cmd: 'status' });
    t.ok(status.ok, 'the admin socket answers across namespaces');
    if (status.ok)
      t.match(status.result as PeerStatus, {
        role: 'master',
        state: 'up',
        session: { id: m.sessionId, peerNode: 're1' },
      });
    t.equal(await backup.stop(), 0, 'the backup stops cleanly');
    t.equal(await master.stop(), 0, 'the master stops cleanly');
  },
);

t.test(
  'the proxy process in the backup namespace forwards across the veth, and its faults reach the peers',
  { skip: skip ?? false },
  async (t) => {
    const pair = await netns(t, 'proxy');
    const master = await PeerProcess.start(
      t,
      dir,
      'x-master',
      ['--role', 'master', '--listen', `${pair.a.addr}:0`, '--node-name', 're0'],
      { prefix: pair.prefix(pair.a.ns), admin: join(dir, 'x-master.sock') },
    );
    const listen = master.listen!;
    const proxy = await ProxyProcess.spawn({ prefix: pair.prefix(pair.b.ns) });
    t.teardown(() => proxy.kill());
    const masterPort = Number(listen.slice(listen.lastIndexOf(':') + 1));
    // The proxy listens on the loopback of namespace b: only the backup, also in b, can reach it.
    const port = await proxy.listen('master', '127.0.0.1', 0, pair.a.addr, masterPort);
    const backup = await PeerProcess.start(
      t,
      dir,
      'x-backup',
      ['--role', 'backup', '--connect', `127.0.0.1:${port}`, '--node-name', 're1', '--backoff-max-ms', '200'],
      { prefix: pair.prefix(pair.b.ns), admin: join(dir, 'x-backup.sock') },
    );
    const [m, b] = await Promise.all([master.waitEvent('session-up'), backup.waitEvent('session-up')]);
    t.equal(m.sessionId, b.sessionId);
    const conns = await proxy.connections();
    t.same(conns.map((c) => c.channel).sort(), ['receive', 'send'], 'both channels go through the proxy');
    t.ok(conns.every((c) => c.sessionId === m.sessionId && c.target === `${pair.a.addr}:${masterPort}`));
    const accepted = master.eventsOf('accepted');
    t.ok(
      accepted.length >= 2 && accepted.every((e) => e.remote.startsWith(`${pair.b.addr}:`)),
      "the master sees the proxy's connections from namespace b",
    );

    const result = await proxy.inject({ kind: 'reset' });
    t.equal(result.outcome, 'applied');
    t.equal(result.hits.length, 2);
    const [md, bd] = await Promise.all([master.waitEvent('session-down'), backup.waitEvent('session-down')]);
    t.match(md, { sessionId: m.sessionId, reason: 'socketIoError', detail: 'connectionReset' });
    t.match(bd, { sessionId: m.sessionId, reason: 'socketIoError', detail: 'connectionReset' });
    const again = await master.waitEvent('session-up', (e) => e.sessionId !== m.sessionId);
    await backup.waitEvent('session-up', (e) => e.sessionId === again.sessionId);
    t.pass('a new session came up through the proxy');
    t.equal(await backup.stop(), 0);
    t.equal(await master.stop(), 0);
    t.equal(await proxy.close(), 0, 'the proxy process exits 0');
  },
);
