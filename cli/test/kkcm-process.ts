/**
 * The `kkcm` command as users run it: a child process with pipes (never a terminal), for the
 * tests of the CLI in scripts and CI (issue 12). It runs the built bin (`bin/kkcm.js`, the
 * code `npm ci` compiles into dist/ through "prepare", as CI does) when dist/ is at least as
 * new as every source file it is compiled from; otherwise (a working tree edited since the
 * last build, or never built) the same entry point from source through tsx, and
 * {@link KKCM_RUNS} says which and why, for the test to print.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';

const ROOT = packageRoot();

/** The folders tsconfig.build.json compiles into dist/ (without their test, bench, tools). */
const BUILT_FROM = ['spec/src', 'codec/src', 'conformance/src', 'reference-impl/src', 'cli/src'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function choose(): { argv: readonly string[]; why: string } {
  const built = mtime(join(ROOT, 'dist', 'cli', 'src', 'main.js'));
  const source = { argv: ['--import', 'tsx', join(ROOT, 'cli', 'src', 'run.ts')] };
  if (built === undefined)
    return { ...source, why: 'running cli/src/run.ts through tsx: dist/ is not built (npm ci builds it)' };
  const newest = Math.max(...BUILT_FROM.map((d) => newestSource(join(ROOT, d))));
  if (newest > built)
    return {
      ...source,
      why: 'running cli/src/run.ts through tsx: sources changed since dist/ was built (npm run build)',
    };
  return { argv: [join(ROOT, 'bin', 'kkcm.js')], why: 'running the built bin/kkcm.js' };
}

/** Which entry point {@link kkcm} runs, and why: a line for `t.comment`. */
export const KKCM_RUNS = choose();

/** How a `kkcm` child process ended, with everything it wrote. */
export interface KkcmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs `kkcm ARGS` as a child process in the package root, stdout and stderr as pipes.
 *
 * @param onStart - called with the child as soon as it is spawned (to signal it).
 * @param env - added to the environment.
 */
export function kkcm(
  args: readonly string[],
  onStart?: (child: ChildProcess) => void,
  env: Readonly<Record<string, string>> = {},
): Promise<KkcmExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...KKCM_RUNS.argv, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out, err }));
    onStart?.(child);
  });
}

/** True while a process with this id exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` holds or `ms` pass (a bound on a wait, not a timing assertion). */
export async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
