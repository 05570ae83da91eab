/**
 * `kkcm conformance` judges a peer on either side whatever its protocol role (issue 11,
 * point 1; design 7.2.b.2): the reference peer passes the whole catalogue in all four
 * listen/role combinations. Full runs, not a subset: the embedded peer runs each combination
 * in about five seconds on a loaded two-core machine, so CI can afford the four.
 */
import t from 'tap';
import { CASES } from '../../conformance/src/catalog.js';
import type { ConformanceReport } from '../../conformance/src/report.js';
import { type MainRun, runMain } from './run-main.js';

const run = (argv: string[]): Promise<MainRun> => runMain(argv);

const COMBINATIONS = [
  { role: 'master', side: 'listen', target: /master, listening, cluster/ },
  { role: 'backup', side: 'listen', target: /backup, listening, dual-re RE0/ },
  { role: 'master', side: 'connect', target: /master, connecting, dual-re RE1/ },
  { role: 'backup', side: 'connect', target: /backup, connecting, cluster/ },
] as const;

for (const { role, side, target } of COMBINATIONS) {
  t.test(`the reference peer conforms as a ${side === 'listen' ? 'listening' : 'connecting'} ${role}`, async (t) => {
    const r = await run(['conformance', '--role', role, '--side', side, '--format', 'json']);
    const report = JSON.parse(r.out) as ConformanceReport;
    const notPassed = report.cases.filter((c) => c.verdict !== 'pass');
    t.equal(r.code, 0, JSON.stringify(notPassed, null, 1));
    t.equal(report.conforming, true);
    t.same(report.mustNotRun, [], 'no MUST case skipped');
    t.ok(
      report.cases.every((c) => c.role === role),
      'every case judged the peer in its protocol role',
    );
    t.match(report.cases[0]?.rerun, new RegExp(`--role ${role} --side ${side}$`), 'the rerun names role and side');
    const ran = new Set(report.cases.map((c) => c.id));
    // The cases of the other side do not run; those of this side do, whatever the role.
    const own = side === 'listen' ? 'handshake.role.conflict' : 'handshake.connecting.rejects-own-role';
    const other = side === 'listen' ? 'handshake.connecting.rejects-own-role' : 'handshake.role.conflict';
    t.ok(ran.has(own), `${own} ran`);
    t.notOk(ran.has(other), `${other} did not run`);
    t.equal(
      ran.has('handshake.slot.conflict'),
      side === 'listen' && role === 'backup',
      'the slot rule: dual-re RE0 only',
    );
    t.ok(ran.size > CASES.length / 2, `most of the catalogue ran (${ran.size} of ${CASES.length})`);
    // The embedded peer's topology is the one the side gives its role.
    const text = await run(['conformance', '--role', role, '--side', side, '--case', 'handshake.binding.two-channels']);
    t.equal(text.code, 0, text.out);
    t.match(text.out, target);
  });
}

t.test('the default keeps the master listening and the backup connecting', async (t) => {
  const r = await run(['conformance', '--case', 'handshake.*', '--format', 'json']);
  const report = JSON.parse(r.out) as ConformanceReport;
  t.equal(r.code, 0, JSON.stringify(report.cases.filter((c) => c.verdict !== 'pass')));
  const by = (id: string): string[] => report.cases.filter((c) => c.id === id).map((c) => c.role);
  t.same(by('handshake.role.conflict'), ['master'], 'the listening side is the master');
  t.same(by('handshake.connecting.rejects-own-role'), ['backup'], 'the connecting side is the backup');
  t.same(by('handshake.slot.conflict'), [], 'cluster: no slot rule');
});

t.test('side and topology usage errors exit 2', async (t) => {
  for (const argv of [
    ['conformance', '--side', 'both'],
    ['conformance', '--connect', '127.0.0.1:7000', '--side', 'connect'],
    ['conformance', '--listen', '127.0.0.1:0', '--side', 'listen'],
    ['conformance', '--topology', 'dual-re'],
    ['conformance', '--connect', '127.0.0.1:7000', '--topology', 'ring'],
  ]) {
    const r = await run(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, /--side|--topology/);
  }
});
