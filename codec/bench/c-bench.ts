/**
 * The generated C codec's side of the codec benchmark: builds `codec/c/bench/kkcm-c-bench.c`
 * with the generated codec (`gcc -O2`, into a temporary folder, never through Node), feeds it
 * the benchmark's messages and returns its rounds under the TypeScript cases' names. The C
 * program times itself (clock_gettime, batches of about 1 ms, rounds interleaved across its
 * cases) and prints the messages it decoded, which are checked against the TypeScript codec.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { packageRoot } from '../../spec/src/index.js';
import { decodeMessage, messageToJson, stringify } from '../src/index.js';
import type { CaseResult } from './measure.js';
import { median } from './measure.js';

/** What {@link runCBench} gives: the C cases, or why there are none. */
export type CBenchResult =
  | { readonly available: true; readonly compiler: string; readonly cases: readonly CaseResult[] }
  | { readonly available: false; readonly reason: string };

/** The compiler's first line of `--version`, or undefined when it is not installed. */
function compilerVersion(compiler: string): string | undefined {
  try {
    return execFileSync(compiler, ['--version'], { encoding: 'utf8', stdio: 'pipe' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

/**
 * Builds and runs the C benchmark on the given messages.
 *
 * @param names - the TypeScript case name of each C case (`decode-ack` → `decode/control.ack`).
 * @throws Error when the C program fails or decodes the messages differently from the TypeScript codec.
 */
export function runCBench(
  messages: { readonly ack: Uint8Array; readonly packet: Uint8Array; readonly stream: Uint8Array },
  names: Readonly<Record<string, string>>,
  settings: { readonly smoke: boolean; readonly rounds: number; readonly roundMs: number; readonly warmupMs: number },
  chunkBytes: number,
): CBenchResult {
  const compiler = process.env.KKCM_BENCH_CC ?? 'gcc';
  const version = compilerVersion(compiler);
  if (version === undefined) return { available: false, reason: `${compiler} not found: the C columns are left out` };
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-c-bench-'));
  try {
    const c = join(packageRoot(), 'codec', 'c');
    const bin = join(dir, 'kkcm-c-bench');
    execFileSync(
      compiler,
      ['-std=c99', '-O2', '-Wall', '-Wextra', '-pedantic', '-I', join(c, 'gen')]
        .concat([join(c, 'gen', 'kkcm.c'), join(c, 'gen', 'kkcm-json.c'), join(c, 'bench', 'kkcm-c-bench.c')])
        .concat(['-o', bin]),
      { stdio: 'pipe' },
    );
    const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
    const args = settings.smoke
      ? ['--smoke']
      : ['--rounds', String(settings.rounds), '--round-ms', String(settings.roundMs)];
    args.push('--warmup-ms', String(settings.warmupMs), '--chunk', String(chunkBytes));
    const out = execFileSync(bin, args, {
      input: `${hex(messages.ack)}\n${hex(messages.packet)}\n${hex(messages.stream)}\n`,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const report = JSON.parse(out) as {
      ack: unknown;
      packet: unknown;
      cases: { name: string; rounds: number[] }[];
    };
    // The C codec must decode what the TypeScript codec decodes, or the comparison means nothing.
    for (const [what, frame, got] of [
      ['ACK', messages.ack, report.ack],
      ['PACKET', messages.packet, report.packet],
    ] as const) {
      if (!isDeepStrictEqual(got, JSON.parse(stringify(messageToJson(decodeMessage(frame))))))
        throw new Error(`benchmark self-check failed: the C codec decodes the ${what} differently`);
    }
    const cases = report.cases.map(({ name, rounds }): CaseResult => {
      const opsPerSec = median(rounds);
      return {
        name: names[name] ?? name,
        impl: 'c',
        opsPerSec,
        nsPerOp: 1e9 / opsPerSec,
        rounds,
        spread: (Math.max(...rounds) - Math.min(...rounds)) / opsPerSec,
      };
    });
    return { available: true, compiler: version, cases };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
