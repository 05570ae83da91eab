/**
 * The CLI run in this process through its I/O seam: what it printed on each stream and its exit
 * code. For tests that need a child process (signals, pipes, the built bin) see `kkcm-process.ts`.
 */
import { main } from '../src/main.js';
import type { Io } from '../src/io.js';

/** What one run of the CLI left. */
export interface MainRun {
  code: number;
  out: string;
  err: string;
}

/** How {@link runMain} presents itself to the CLI. */
export interface RunMainOptions {
  /** Standard input (default empty). */
  readonly stdin?: string;
  /** Whether stdout looks like a terminal (default false). */
  readonly isTty?: boolean;
  /** The periodic-timer seam, for tests that fire the ticks themselves. */
  readonly every?: Io['every'];
}

/** An {@link Io} that keeps what is written; `text()` reads it so far. */
export function captureIo(options: RunMainOptions = {}): Io & { text: () => Omit<MainRun, 'code'> } {
  let out = '';
  let err = '';
  return {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    stdin: async () => Buffer.from(options.stdin ?? ''),
    isTty: options.isTty ?? false,
    ...(options.every !== undefined ? { every: options.every } : {}),
    text: () => ({ out, err }),
  };
}

/** Runs `kkcm ARGV` in this process. */
export async function runMain(argv: readonly string[], options: RunMainOptions = {}): Promise<MainRun> {
  const io = captureIo(options);
  const code = await main(argv, io);
  return { ...io.text(), code };
}
