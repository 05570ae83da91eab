/**
 * The conformance suite against the reference peer running as its own `kkcm peer`
 * process, in both roles: the suite connects to a master process (`--connect`), and a
 * backup process connects to the suite (`--listen`). Every case must pass; the only skip
 * allowed is the one a peer the suite did not launch forces.
 */
import t, { type Test } from 'tap';
import type { ConformanceReport } from '../../conformance/src/report.js';
import { freePort, KkcmProcess } from '../../reference-impl/test/processes.js';
import { runMain } from './run-main.js';

/**
 * Skips allowed, with why: with --connect or --listen the suite cannot stop a peer it did
 * not launch, so it cannot watch the SHUTDOWN of a deliberate close.
 */
const ALLOWED_SKIPS: Record<string, RegExp> = {
  'control.shutdown.on-deliberate-close': /cannot ask the peer to stop/,
};

/** The peer's options that match what the suite is told (`--handshake-timeout 1000`). */
const PEER_OPTIONS = ['--conformance-probe', '--handshake-timeout-ms', '1000', '--periodic-ms', '50'] as const;

async function conformance(argv: readonly string[]): Promise<{ code: number; report: ConformanceReport; err: string }> {
  const r = await runMain(['conformance', ...argv, '--handshake-timeout', '1000', '--format', 'json']);
  return { code: r.code, report: JSON.parse(r.out) as ConformanceReport, err: r.err };
}

function judge(t: Test, report: ConformanceReport): void {
  const bad = report.cases.filter((c) => c.verdict !== 'pass' && c.verdict !== 'skip');
  t.same(
    bad.map((c) => `${c.id}: ${c.verdict} ${c.observed ?? c.reason ?? ''}`),
    [],
    'no case fails or errs',
  );
  const skips = report.cases.filter((c) => c.verdict === 'skip');
  t.same(
    skips.map((c) => c.id),
    Object.keys(ALLOWED_SKIPS),
    'only the allowed skips',
  );
  for (const c of skips) t.match(c.reason, ALLOWED_SKIPS[c.id], `${c.id} is skipped with its reason`);
  t.ok(report.summary.pass >= 40, `${report.summary.pass} cases pass`);
  t.same(report.problems, []);
  t.equal(report.conforming, true);
}

t.test('a master process passes the suite through --connect', async (t) => {
  const peer = new KkcmProcess(t, ['peer', '--role', 'master', '--listen', '127.0.0.1:0', ...PEER_OPTIONS]);
  const listen = (await peer.waitForOutput(/kkcm peer: ready role=master listen=(\S+)/))[1]!;
  const r = await conformance(['--connect', listen]);
  // control.shutdown.on-deliberate-close cannot run without --exec: conforming, but incomplete.
  t.equal(r.code, 4, 'kkcm conformance exits 4 (a MUST case not run)');
  t.same(r.report.mustNotRun, [`control.shutdown.on-deliberate-close (${r.report.cases[0]?.role ?? ''})`]);
  t.match(r.report.target, new RegExp(`^connect ${listen.replace(/\./g, '\\.')}$`));
  t.ok(
    r.report.cases.every((c) => c.role === 'master'),
    'the peer plays the master',
  );
  judge(t, r.report);
  t.ok(peer.running, 'the peer survived the whole suite');
});

t.test('a backup process passes the suite through --listen', async (t) => {
  const port = await freePort();
  // The backup may start before the suite listens: it retries until it is there.
  const run = conformance(['--listen', `127.0.0.1:${port}`]);
  const peer = new KkcmProcess(t, [
    'peer',
    '--role',
    'backup',
    '--connect',
    `127.0.0.1:${port}`,
    '--backoff-max-ms',
    '50',
    ...PEER_OPTIONS,
  ]);
  const r = await run;
  // control.shutdown.on-deliberate-close cannot run without --exec: conforming, but incomplete.
  t.equal(r.code, 4, 'kkcm conformance exits 4 (a MUST case not run)');
  t.same(r.report.mustNotRun, [`control.shutdown.on-deliberate-close (${r.report.cases[0]?.role ?? ''})`]);
  t.ok(
    r.report.cases.every((c) => c.role === 'backup'),
    'the peer plays the backup',
  );
  t.ok(
    r.report.cases.some((c) => c.id === 'handshake.backup.timeout' && c.verdict === 'pass'),
    'the handshake timeout case runs and passes',
  );
  judge(t, r.report);
  t.ok(peer.running, 'the peer survived the whole suite');
});
