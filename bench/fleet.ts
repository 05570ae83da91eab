/**
 * `npm run bench:fleet`: the five-target fleet of the fleet test (three reference peers as
 * processes, a mutant peer process, an unreachable address; cli/test/fleet-targets.ts) run
 * with `--jobs 1` (the baseline, measured in the same run) and with `--jobs 3`, each
 * `--rounds N` times (default 1); prints a table and one JSON line with the ratio
 * jobs 3 / jobs 1 of the medians (issue 12 wants it under 0.5). Each round also checks that
 * the verdicts are the expected ones, so a fast wrong run cannot pass for a fast one.
 *
 * Not part of `npm test`.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFleet } from '../conformance/src/fleet/run-fleet.js';
import { parseTargets } from '../conformance/src/fleet/targets-file.js';
import { freePort } from '../conformance/src/harness/target.js';
import { packageRoot } from '../spec/src/index.js';
import { FLEET_CASES, fleetTargetsFile, listenPeerArgs } from '../cli/test/fleet-targets.js';

const EXPECTED =
  'ref-master=conforming ref-backup=conforming ref-listen=conforming mutant=not-conforming nowhere=unreachable';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
  const rounds = Math.max(1, Number(values.rounds ?? 1));
  const port = await freePort();
  const targets = parseTargets(fleetTargetsFile(port), join(packageRoot(), 'fleet.txt'));
  // The backup of the listen target, for the whole benchmark: it reconnects to each run.
  const backup = spawn(process.execPath, ['--import', 'tsx', 'cli/src/run.ts', ...listenPeerArgs(port)], {
    cwd: packageRoot(),
    stdio: 'ignore',
  });
  const times: Record<string, number[]> = { 'fleet/5 targets jobs=1': [], 'fleet/5 targets jobs=3': [] };
  try {
    for (let round = 0; round < rounds; round++)
      for (const jobs of [1, 3]) {
        const started = performance.now();
        const { matrix } = await runFleet({ targets, jobs, selection: { cases: [...FLEET_CASES] } });
        const ms = performance.now() - started;
        const verdicts = matrix.targets.map((t) => `${t.name}=${t.verdict}`).join(' ');
        if (verdicts !== EXPECTED) throw new Error(`unexpected verdicts with --jobs ${jobs}: ${verdicts}`);
        times[`fleet/5 targets jobs=${jobs}`]!.push(ms);
        const each = matrix.targets.map((t) => `${t.name} ${(t.durationMs / 1000).toFixed(2)} s`).join(', ');
        process.stderr.write(`round ${round + 1}, jobs ${jobs}: ${(ms / 1000).toFixed(2)} s (${each})\n`);
      }
  } finally {
    backup.kill('SIGTERM');
  }
  const base = median(times['fleet/5 targets jobs=1']!);
  const rows = Object.entries(times).map(([name, ms]) => ({
    name,
    medianMs: Math.round(median(ms)),
    runs: ms.length,
    ratio: Number((median(ms) / base).toFixed(3)),
  }));
  console.log('case                     median      runs  ratio to jobs=1');
  for (const r of rows)
    console.log(
      `${r.name.padEnd(24)} ${`${(r.medianMs / 1000).toFixed(2)} s`.padStart(9)}  ${String(r.runs).padStart(4)}  ${r.ratio.toFixed(3)}`,
    );
  const ratio = rows[1]!.ratio;
  console.log(
    JSON.stringify({
      cases: rows,
      ratios: { 'fleet/jobs=3 vs jobs=1': ratio },
      target: { 'fleet/jobs=3 vs jobs=1': '< 0.5' },
      met: ratio < 0.5,
      machine: { cpus: cpus().length, loadavg: loadavg().map((x) => Number(x.toFixed(2))), node: process.version },
    }),
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
