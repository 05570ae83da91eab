/**
 * End to end, who listens (design 7.2.b.2) and the two switchover triggers (6.2.1.c), with
 * each peer in its own `kkcm peer` process over loopback TCP, triggered with `kkcm ctl
 * switchover --to` and judged by `ctl status` and the event files. In dual-re RE0 listens as
 * the backup and keeps listening through the switchover; in cluster the listener moves.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctl, freePort, PeerProcess, sessionUp } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'kkcm-topology-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const start = (t: Test, name: string, args: readonly string[]): Promise<PeerProcess> =>
  PeerProcess.start(t, dir, `${name}-${++serial}`, [...args, '--node-name', name, '--backoff-max-ms', '200']);

/** `kkcm ctl switchover --to ROLE` on `peer`; its exit code must be 0. */
async function trigger(t: Test, peer: PeerProcess, to: 'master' | 'backup'): Promise<void> {
  const run = await ctl(t, ['switchover', '--to', to, '--admin', peer.admin]);
  t.equal(run.code, 0, `ctl switchover --to ${to} on ${peer.name}: ${run.err}`);
}

for (const order of ['relinquish first', 'acquire first'] as const) {
  t.test(
    `dual-re, ${order}: RE0 listens as backup, RE1 connects as master; after the switchover RE0 still listens`,
    async (t) => {
      const re0 = await start(t, 're0', [
        '--topology',
        'dual-re',
        '--slot',
        '0',
        '--role',
        'backup',
        '--listen',
        '127.0.0.1:0',
      ]);
      t.ok(re0.listen, 'RE0 as backup printed a listen address');
      const re1 = await start(t, 're1', [
        '--topology',
        'dual-re',
        '--slot',
        '1',
        '--role',
        'master',
        '--connect',
        re0.listen!,
      ]);
      const [up0, up1] = await Promise.all([sessionUp(re0), sessionUp(re1)]);
      t.equal(up0.sessionId, up1.sessionId, 'one session');
      t.same([up0.role, up1.role], ['backup', 'master']);
      if (order === 'relinquish first') {
        await trigger(t, re1, 'backup');
        await trigger(t, re0, 'master');
      } else {
        await trigger(t, re0, 'master');
        await trigger(t, re1, 'backup');
      }
      const [next0, next1] = await Promise.all([sessionUp(re0, up0.sessionId), sessionUp(re1, up1.sessionId)]);
      t.equal(next0.sessionId, next1.sessionId, 'a new session came up');
      const [s0, s1] = await Promise.all([re0.status(), re1.status()]);
      t.same([s0.role, s1.role], ['master', 'backup'], 'the roles swapped once');
      t.same([s0.listens, s1.listens], [true, false], 'RE0 still listens, RE1 still connects');
      t.equal(
        s0.listening === null ? undefined : `${s0.listening.host}:${s0.listening.port}`,
        re0.listen,
        'on the same address',
      );
      t.equal(re0.eventsOf('listening').length, 1, 'RE0 never closed its listener');
      t.equal(re1.eventsOf('role-change').length, 1, 'RE1 changed role once');
      t.equal(await re0.stop(), 0);
      t.equal(await re1.stop(), 0);
    },
  );
}

t.test(
  'cluster: the master listens; after relinquish and acquire the new master listens and the old one connects',
  async (t) => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await start(t, 'a', ['--role', 'master', '--listen', `127.0.0.1:${pa}`, '--connect', `127.0.0.1:${pb}`]);
    const b = await start(t, 'b', ['--role', 'backup', '--listen', `127.0.0.1:${pb}`, '--connect', `127.0.0.1:${pa}`]);
    const [upA] = await Promise.all([sessionUp(a), sessionUp(b)]);
    t.same([(await a.status()).listens, (await b.status()).listens], [true, false], 'the master listens');
    await trigger(t, b, 'master');
    await trigger(t, a, 'backup');
    const [nextA, nextB] = await Promise.all([sessionUp(a, upA.sessionId), sessionUp(b, upA.sessionId)]);
    t.equal(nextA.sessionId, nextB.sessionId, 'a new session came up');
    const [sa, sb] = [await a.status(), await b.status()];
    t.same([sa.role, sb.role], ['backup', 'master'], 'the roles swapped once');
    t.same([sa.listening, sb.listening?.port], [null, pb], 'the listener moved to the new master');
    t.equal(await a.stop(), 0);
    t.equal(await b.stop(), 0);
  },
);
