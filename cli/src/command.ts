/**
 * What a kkcm command is: a usage line, a description, its options (each with its help text)
 * and a run function. Each command file exports one; main.ts is the table of them, and
 * help.ts turns a command into its `--help` text, so help and parsing read the same
 * definitions and cannot drift.
 *
 * @module
 */
import type { Io } from './io.js';

/**
 * One option of a command: what `node:util` `parseArgs` takes (`type`, `short`, `multiple`)
 * plus what `--help` prints about it. Adding an option is adding one of these: the parser
 * accepts it and the help lists it.
 */
export interface OptionDef {
  /** `string` takes a value (`--out FILE`), `boolean` is a switch (`--list`). */
  readonly type: 'string' | 'boolean';
  /** One-letter alias (`-h`). */
  readonly short?: string;
  /** Repeatable: the values arrive as an array. */
  readonly multiple?: boolean;
  /** The value's placeholder in help (`HOST:PORT`); default `VALUE` for a string option. */
  readonly value?: string;
  /**
   * What the option does, for `--help`: wrapped to the help width; `\n` forces a line break.
   * Every option has one (a test walks the table of commands).
   */
  readonly description?: string;
  /** The help section that lists it (`Target`, `Output`…); default `Options`. */
  readonly group?: string;
}

/** A command's options by long name (without the leading `--`). */
export type OptionSpec = Readonly<Record<string, OptionDef>>;

/** One positional argument a command accepts, in the order given. */
export interface PositionalDef {
  /** Its name in help (`COMMAND`, `-`). */
  readonly name: string;
  /** What it is, for `--help`; positionals without one are named only by the usage line. */
  readonly description?: string;
  /** The help section that lists it; default `Arguments`. */
  readonly group?: string;
}

/** Parsed options of a command: strings, booleans, and positionals. */
export interface CommandArgs {
  /** Option values by long name; a `multiple` option's value is an array of strings. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** One `kkcm` command. */
export interface Command {
  /** One line for `kkcm --help`. */
  readonly summary: string;
  /** What follows `Usage: ` in `--help` (more lines for more forms, indented by the caller). */
  readonly usage: string;
  /** The paragraphs between the usage line and the options. */
  readonly description: string;
  /** Its options (`--help` is added by main.ts). */
  readonly options: OptionSpec;
  /**
   * The positional arguments it takes; more than these is a usage error (exit 2).
   * Default: none.
   */
  readonly positionals?: readonly PositionalDef[];
  /** Text after the options: exit codes, notes, `Examples:`. */
  readonly epilog?: string;
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
