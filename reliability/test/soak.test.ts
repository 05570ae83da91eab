/**
 * The soak: the flatness criterion on made-up series (it can say "not flat"), and a short
 * run of the command in its own process that prints its table and verdict fields with no
 * error and no oracle violation.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAT_CRITERION, flatness, warmupSeconds, type SoakReport } from '../src/chaos/soak.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MIB = 1024 * 1024;

t.test('flatness', async (t) => {
  const series = (f: (t: number) => number): { t: number; y: number }[] =>
    Array.from({ length: 61 }, (_, i) => ({ t: i * 10, y: f(i * 10) }));
  // 10 minutes of samples every 10 s, warm-up 30 s.
  const steady = flatness(
    series((s) => 9 * MIB + ((s * 7919) % 13) * 0.05 * MIB),
    30,
    MIB,
  );
  t.ok(steady.flat, 'noise of half a megabyte on a 9 MiB heap is flat');
  const leak = flatness(
    series((s) => 9 * MIB + s * 20_000),
    30,
    MIB,
  );
  t.notOk(leak.flat, 'a steady 20 kB/s growth (12 MB over the run, on a 9 MiB heap) is not flat');
  t.ok(leak.growth > 0 && leak.slopePerMin > 0);
  const lateLeak = flatness(
    series((s) => 9 * MIB + (s > 450 ? (s - 450) * 60_000 : 0)),
    30,
    MIB,
  );
  t.notOk(lateLeak.flat, 'growth that starts late shows in the second half trend');
  const warm = flatness(
    series((s) => (s < 30 ? 2 * MIB : 9 * MIB)),
    30,
    MIB,
  );
  t.ok(warm.flat, 'the warm-up is left out');
  t.equal(warmupSeconds(600), 30);
  t.equal(warmupSeconds(5), 1);
  t.notOk(flatness([], 0, MIB).flat, 'no samples is no verdict of flat');
});

t.test('npm run soak -- --seconds 5 --json: runs and prints its verdict fields', async (t) => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'reliability/src/chaos/soak.ts', '--seconds', '5', '--json'],
    { cwd: ROOT },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const report = JSON.parse(out) as SoakReport;
  t.comment(
    `soak 5 s: ${report.messages.delivered} delivered, flat ${report.flat}, a heap ${(report.sides.a.heapUsed.secondMean / MIB).toFixed(1)} MiB`,
  );
  t.equal(report.seconds, 5);
  t.ok(report.samples.length >= 5, `${report.samples.length} samples`);
  for (const s of report.samples)
    t.ok(
      s.a.heapUsed > 0 && s.a.rss > 0 && s.b.heapUsed > 0 && s.b.rss > 0,
      `sample at ${s.t} s has both sides' memory`,
    );
  for (const n of ['a', 'b'] as const) {
    for (const m of ['heapUsed', 'rss'] as const) t.type(report.sides[n][m].flat, 'boolean', `${n} ${m} has a verdict`);
  }
  t.equal(report.criterion, FLAT_CRITERION);
  t.same(report.errors, { a: {}, b: {} }, 'no peer error, failed send or damaged message');
  t.same(report.violations, [], 'the oracle finds no violation');
  t.ok(report.messages.delivered > 0 && report.messages.confirmed > 0, 'traffic flowed, some of it confirmed');
  t.equal(code, report.ok ? 0 : 1, `exit code follows the verdict: ${err}`);
});

t.test('usage errors exit 2', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'reliability/src/chaos/soak.ts', '--seconds', 'soon'], {
    cwd: ROOT,
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.equal(code, 2);
  t.match(err, /--seconds wants a positive number/);
});
