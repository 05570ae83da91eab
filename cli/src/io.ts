/**
 * Small I/O helpers shared by the CLI commands: exit codes, usage errors, input reading,
 * output, the one-line form of a codec error.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { CodecError } from '../../codec/src/index.js';

/** Exit codes of every kkcm command. */
export const ExitCode = {
  /** Success (for `conformance`: the peer conforms). */
  ok: 0,
  /** Bad input, or (for `conformance`) the peer does not conform. */
  failure: 1,
  /** Usage error: unknown command or option, missing argument. */
  usage: 2,
  /** Harness error: the tool itself could not do its job (also: a target that cannot be reached at all). */
  harness: 3,
  /** `conformance`: the run finished but `--out` could not be written; the report went to stdout. */
  outputFailed: 5,
} as const;

/** A usage error: the command line itself is wrong. Exit code 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Where a command writes. Injected so that tests capture output without a process. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Reads all of standard input. */
  readonly stdin: () => Promise<Uint8Array>;
  /** True when standard output is a terminal. */
  readonly isTty: boolean;
  /**
   * Calls `tick` every `ms` milliseconds until the returned function is called (that
   * function is safe to call twice). Default {@link every}; tests inject their own, so a
   * heartbeat is tested without waiting for it.
   */
  readonly every?: (ms: number, tick: () => void) => () => void;
}

/**
 * A repeating timer that never keeps the process alive on its own (unref'd).
 *
 * @returns the function that stops it; calling it again does nothing.
 */
export function every(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** A reader that went away (`kkcm … | head`) is not an error: stop quietly. */
function onOutputError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(ExitCode.ok);
  throw err;
}

/** The process's own standard streams. */
export function processIo(): Io {
  process.stdout.on('error', onOutputError);
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    isTty: process.stdout.isTTY === true,
  };
}

/** Reads a file, turning a missing file into a usage error. */
export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Parses a non-negative integer option. */
export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** One line describing a codec error: code, byte offset, field path, message. */
export function describeError(err: CodecError): string {
  const where = err.offset !== undefined ? ` at byte ${err.offset}` : '';
  const path = err.path !== undefined ? ` (${err.path})` : '';
  return `${err.code}${where}${path}: ${err.message}`;
}
