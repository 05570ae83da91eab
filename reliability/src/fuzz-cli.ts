/**
 * `npm run fuzz -- --runs N [--seed S] [--max-message N] [--live [--connections N]] [--json]`:
 * the offline fuzzer over the codec, and with `--live` the live one against a running peer.
 * Exit 0 when nothing failed, 1 on any crash, divergence or live violation, 2 on a usage
 * error.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { Limits } from '../../codec/src/index.js';
import { fuzzCodec, type FuzzReport } from './fuzz.js';
import { fuzzLive, type LiveFuzzReport } from './live-fuzz.js';
import { freshSeed } from './prng.js';

/** Help text. */
export const FUZZ_HELP = `Usage: npm run fuzz -- [--runs N] [--seed S] [--max-message N] [--live] [--connections N] [--json]

Offline: mutated golden vectors and random bytes through decodeMessage, the Framer (one
chunk and cut at random points) and the StreamDecoder. A crash is an exception that is
not a CodecError, a frame outside the length bounds, or more bytes buffered than the
limit; a divergence is two paths (or two ways of cutting the stream) that disagree.

Live (--live): a master reference peer holds a session with a backup (echo traffic
running); a hostile client connects again and again with random and mutated messages,
some after a valid HELLO. Each connection must end with ERROR (coded) or HELLO-REJECT and
a close; the session must stay up and answer an echo after every --check-every ones.

Options:
  --runs N           offline inputs (default 200000; 0: none)
  --seed S           PRNG seed, printed (default: from the clock)
  --max-message N    the framers' length limit (default 4096, from ${Limits.minMaxMessage} to ${Limits.absoluteMaxMessage})
  --live             run the live fuzz too
  --connections N    hostile connections of the live fuzz (default 500)
  --check-every N    echo through the real session after every N connections (default 10)
  --json             one JSON object on standard output: the offline report, with the live
                     one under "live"
  --help             this text

Exit: 0 nothing found, 1 a crash, divergence or live violation, 2 usage error.
`;

class UsageError extends Error {}

function count(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new UsageError(`--${name} wants an integer of at least ${min}, got ${JSON.stringify(value)}`);
  return Number(value);
}

function offlineText(r: FuzzReport): string {
  const codes = Object.entries(r.byCode)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `  ${c.padEnd(26)} ${n}`)
    .join('\n');
  const lines = [
    `offline: ${r.runs} runs in ${(r.durationMs / 1000).toFixed(1)} s (${Math.round(r.runs / Math.max(r.durationMs / 1000, 0.001))} runs/s), seed ${r.seed}`,
    `  crashes ${r.crashes}, divergences ${r.divergences}, max buffered ${r.maxBufferedBytes} bytes (limit ${r.limit}), messages decoded ${r.messages}`,
    `  inputs: ${Object.entries(r.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    'how the streams ended (Framer + decodeMessage):',
    codes,
  ];
  for (const f of r.failures)
    lines.push(`  ${f.kind} in ${f.target} (run ${f.run}): ${f.detail}\n    input ${f.input}`);
  return `${lines.join('\n')}\n`;
}

function liveText(r: LiveFuzzReport): string {
  const lines = [
    `live: ${r.liveConnections} hostile connections in ${(r.durationMs / 1000).toFixed(1)} s, seed ${r.seed}; session drops ${r.sessionDrops}, health checks ${r.healthChecks}, echoes carried ${r.echoes}`,
    `  inputs: ${Object.entries(r.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    'reactions:',
    ...Object.entries(r.reactions)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `  ${c.padEnd(34)} ${n}`),
  ];
  for (const v of r.violations.slice(0, 20))
    lines.push(
      `  VIOLATION ${v.kind} (connection ${v.connection}): ${v.detail}${v.input !== '' ? `\n    input ${v.input}` : ''}`,
    );
  if (r.violations.length > 20) lines.push(`  … ${r.violations.length - 20} more violations`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the command.
 *
 * @returns the exit code.
 */
export async function fuzzMain(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        runs: { type: 'string' },
        seed: { type: 'string' },
        'max-message': { type: 'string' },
        live: { type: 'boolean' },
        connections: { type: 'string' },
        'check-every': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err(`fuzz: ${(e as Error).message}\n${FUZZ_HELP}`);
    return 2;
  }
  if (values.help === true) {
    out(FUZZ_HELP);
    return 0;
  }
  let runs: number;
  let seed: number;
  let maxMessage: number;
  let connections: number;
  let checkEvery: number;
  try {
    runs = count('runs', values.runs as string | undefined, 200000);
    seed = count('seed', values.seed as string | undefined, freshSeed()) >>> 0;
    maxMessage = count('max-message', values['max-message'] as string | undefined, 4096, Limits.minMaxMessage);
    if (maxMessage > Limits.absoluteMaxMessage)
      throw new UsageError(`--max-message must be at most ${Limits.absoluteMaxMessage}`);
    connections = count('connections', values.connections as string | undefined, 500, 1);
    checkEvery = count('check-every', values['check-every'] as string | undefined, 10, 1);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`fuzz: ${e.message}\n`);
    return 2;
  }
  const json = values.json === true;
  err(
    `fuzz: seed ${seed} (replay with --seed ${seed}); node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})\n`,
  );
  const offline = fuzzCodec({
    runs,
    seed,
    maxMessage,
    progressEvery: 100000,
    onProgress: json ? undefined : (n) => err(`  ${n} runs…\n`),
  });
  if (!json) out(offlineText(offline));
  let live: LiveFuzzReport | undefined;
  if (values.live === true) {
    live = await fuzzLive({
      connections,
      seed,
      checkEvery,
      onProgress: json ? undefined : (n) => (n % 500 === 0 ? err(`  ${n} connections…\n`) : undefined),
    });
    if (!json) out(liveText(live));
  }
  if (json) out(`${JSON.stringify({ ...offline, ...(live !== undefined ? { live } : {}) }, null, 2)}\n`);
  const failed =
    offline.crashes > 0 ||
    offline.divergences > 0 ||
    (live !== undefined && (live.violations.length > 0 || live.sessionDrops > 0));
  return failed ? 1 : 0;
}
