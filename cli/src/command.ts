/**
 * What a kkcm command is: a summary, a help text, its options and a run function. Each
 * command file exports one; main.ts is the table of them.
 *
 * @module
 */
import type { Io } from './io.js';

/** A command's options, in the form `node:util` `parseArgs` takes. */
export type OptionSpec = Readonly<
  Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string; readonly multiple?: boolean }>
>;

/** Parsed options of a command: strings, booleans, and positionals. */
export interface CommandArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** One `kkcm` command. */
export interface Command {
  /** One line for `kkcm --help`. */
  readonly summary: string;
  /** The text of `kkcm COMMAND --help` (and of a usage error). */
  readonly help: string;
  /** Its options (`--help` is added by main.ts). */
  readonly options: OptionSpec;
  /**
   * Runs the command.
   *
   * @returns the exit code (see `ExitCode`).
   * @throws UsageError for a bad command line (exit code 2).
   */
  readonly run: (args: CommandArgs, io: Io) => number | Promise<number>;
}

/** The value of a string option, or undefined when it is absent. */
export function stringArg(args: CommandArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}
