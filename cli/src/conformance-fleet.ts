/**
 * `kkcm conformance --targets FILE [--jobs N] [--out DIR]`: the suite against every endpoint
 * of a fleet, a bounded number at a time, with one report per target and the matrix report.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Selection } from '../../conformance/src/catalog.js';
import { renderMatrixHtml } from '../../conformance/src/fleet/matrix-html.js';
import { renderMatrixJson } from '../../conformance/src/fleet/matrix-report.js';
import { fleetFiles, renderMatrixHuman, renderMatrixJunit } from '../../conformance/src/fleet/render-matrix.js';
import { runFleet } from '../../conformance/src/fleet/run-fleet.js';
import { loadTargets, TargetsFileError, type FleetTarget } from '../../conformance/src/fleet/targets-file.js';
import { formatDuration } from '../../conformance/src/reporters/common.js';
import { EmptySelectionError } from '../../conformance/src/runner.js';
import { ExitCode, UsageError, type Io } from './io.js';
import { stopLaunchedPeersOnSignal } from './launched-peers.js';

/** Options of a single run that a fleet run cannot take: each target says its own. */
const SINGLE_RUN_ONLY = [
  'connect',
  'listen',
  'exec',
  'role',
  'tls-cert',
  'tls-key',
  'tls-ca',
  'expected-failures',
  'baseline',
];

/** `--format` values a fleet run prints on standard output. */
const FLEET_FORMATS = ['human', 'json', 'junit', 'html'];

function number(flag: string, value: unknown, integer: boolean, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
    throw new UsageError(
      `--${flag} wants ${integer ? 'an integer' : 'a number'} of at least ${min}, got ${JSON.stringify(value)}`,
    );
  return n;
}

function loadFleet(file: string): FleetTarget[] {
  try {
    return loadTargets(file);
  } catch (err) {
    if (err instanceof TargetsFileError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Runs the fleet of `--targets FILE`: per-target progress lines on standard error, the
 * matrix on standard output (in `--format` human, json, junit or html), and with `--out DIR`
 * every report file in DIR (created when missing). The exit code is the fleet's
 * (`fleetExitCode`): 1 some target not conforming, else 3 some unreachable or errored, else 4
 * some incomplete, else 0; 2 for a usage error (a bad targets file included); 5 when the run
 * finished but `--out DIR` could not be written (the matrix is still printed). SIGINT and
 * SIGTERM end the exec targets' peers (`stopLaunchedPeersOnSignal`).
 *
 * @param values - the parsed options of `kkcm conformance`.
 * @param selection - the case selection, already checked.
 * @throws UsageError for a bad targets file, `--jobs`, `--format`, or a single-run option.
 */
export async function runFleetCommand(
  values: Readonly<Record<string, unknown>>,
  selection: Selection,
  io: Io,
): Promise<number> {
  const given = SINGLE_RUN_ONLY.filter((k) => values[k] !== undefined);
  if (given.length > 0)
    throw new UsageError(
      `--targets takes no ${given.map((k) => `--${k}`).join(', ')}: each target in the file says its own`,
    );
  const format = typeof values.format === 'string' ? values.format : 'human';
  if (!FLEET_FORMATS.includes(format))
    throw new UsageError(`--format with --targets wants ${FLEET_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const targets = loadFleet(values.targets as string);
  const jobs = number('jobs', values.jobs, true, 1) ?? 1;
  const stopSignals = stopLaunchedPeersOnSignal(io);
  const run = await runFleet({
    targets,
    jobs,
    selection,
    seed: number('seed', values.seed, true),
    repeat: number('repeat', values.repeat, true),
    timeoutScale: number('timeout-scale', values['timeout-scale'], false),
    caseTimeoutMs: number('case-timeout', values['case-timeout'], true),
    runTimeoutMs: number('run-timeout', values['run-timeout'], true),
    handshakeTimeoutMs: number('handshake-timeout', values['handshake-timeout'], true),
    allowSkippedMust: values['allow-skipped-must'] === true,
    onTargetStart: (t) => io.err(`kkcm conformance: ${t.name}: started (${t.kind} ${t.address})\n`),
    onTargetEnd: (r) => io.err(`kkcm conformance: ${r.name}: ${r.verdictLine} (${formatDuration(r.durationMs)})\n`),
  })
    .catch((err: unknown) => {
      if (err instanceof EmptySelectionError) throw new UsageError(`${err.message} (see --list)`);
      throw err;
    })
    .finally(stopSignals);

  const out = typeof values.out === 'string' ? values.out : undefined;
  let matrix = run.matrix;
  let exitCode = matrix.exitCode;
  if (out !== undefined) {
    const files = fleetFiles(run);
    matrix = JSON.parse(files.get('matrix.json')!) as typeof matrix;
    try {
      mkdirSync(out, { recursive: true });
      for (const [name, text] of files) writeFileSync(join(out, name), text);
      io.err(
        `kkcm conformance: fleet reports written to ${out} (matrix.html, matrix.json, matrix.xml, ${files.size - 3} target reports)\n`,
      );
    } catch (err) {
      // The run is finished: never lose it to an output error. The matrix is printed below,
      // and the exit code is the single run's for the same failure.
      io.err(
        `kkcm conformance: could not write the reports to ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the ${format} matrix went to standard output\n`,
      );
      exitCode = ExitCode.outputFailed;
    }
  }
  const text =
    format === 'json'
      ? renderMatrixJson(matrix)
      : format === 'junit'
        ? renderMatrixJunit(matrix, run.reports)
        : format === 'html'
          ? renderMatrixHtml(matrix)
          : renderMatrixHuman(matrix);
  io.out(text);
  return exitCode;
}
