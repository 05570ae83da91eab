/**
 * The command line of one command, read from its definitions: `parseCommand` parses with
 * `node:util` `parseArgs` and turns its failures into one-line usage errors; `commandHelp`
 * writes the `--help` text from the same definitions.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import type { Command, CommandArgs, OptionDef, OptionSpec } from './command.js';
import { UsageError } from './io.js';

/** Width of help text, in columns. */
const HELP_WIDTH = 92;
/** Widest option label that still gets its description beside it on the same column. */
const MAX_LABEL = 24;

/** `--help`, added to every command. */
const HELP_OPTION: OptionDef = { type: 'boolean', short: 'h', description: 'print this help and exit' };

/** A command's options with `--help` added. */
export function allOptions(command: Command): OptionSpec {
  return { ...command.options, help: HELP_OPTION };
}

/** `--name VALUE` (`-s, --name VALUE` with a short alias), as help lists an option. */
export function optionLabel(name: string, def: OptionDef): string {
  const value = def.type === 'string' ? ` ${def.value ?? 'VALUE'}` : '';
  return `--${name}${value}`;
}

/** Splits text into lines of at most `width` columns at spaces; `\n` forces a break. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Two-column rows (`label  text`), the text wrapped and aligned at `column`. */
function rows(entries: readonly (readonly [string, string])[], column: number): string[] {
  const out: string[] = [];
  for (const [label, text] of entries) {
    const head = `  ${label}`;
    const body = wrap(text, HELP_WIDTH - column);
    if (head.length + 2 > column) {
      // A long label keeps its first description line beside it, two spaces on.
      out.push(`${head}  ${body[0] ?? ''}`.trimEnd());
    } else {
      out.push(`${head.padEnd(column)}${body[0] ?? ''}`.trimEnd());
    }
    for (const more of body.slice(1)) out.push(`${' '.repeat(column)}${more}`.trimEnd());
  }
  return out;
}

/**
 * The `--help` text of `kkcm NAME`: usage, description, the positionals and options grouped
 * by their `group` in the order they are first declared, then the epilog.
 */
export function commandHelp(name: string, command: Command): string {
  const groups = new Map<string, [string, string][]>();
  const add = (group: string, label: string, text: string): void => {
    const list = groups.get(group) ?? [];
    list.push([label, text]);
    groups.set(group, list);
  };
  for (const p of command.positionals ?? [])
    if (p.description !== undefined) add(p.group ?? 'Arguments', p.name, p.description);
  for (const [option, def] of Object.entries(allOptions(command)))
    add(def.group ?? 'Options', optionLabel(option, def), def.description ?? '');
  // One text column for the whole command, so that every section lines up.
  const labels = [...groups.values()].flat().map(([label]) => label.length);
  const column = Math.min(MAX_LABEL, Math.max(...labels)) + 4;
  const parts = [`Usage: ${command.usage.trimEnd()}`, command.description.trimEnd()];
  for (const [group, entries] of groups) parts.push(`${group}:\n${rows(entries, column).join('\n')}`);
  if (command.epilog !== undefined) parts.push(command.epilog.trimEnd());
  return `${parts.filter((p) => p !== '').join('\n\n')}\n`;
}

/** The closest known option to a mistyped one, if one is close (one edit per three letters). */
function closest(word: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/**
 * Parses a command's arguments against its definitions.
 *
 * @throws UsageError (one line) for an unknown option, a missing or unexpected value, or
 *   more positional arguments than the command takes.
 */
export function parseCommand(command: Command, args: readonly string[]): CommandArgs {
  const options = allOptions(command);
  // Parse leniently first to name what is wrong in our own words; parseArgs's strict
  // messages explain its own syntax rather than the command.
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const def = options[token.name];
    if (def === undefined) {
      const hint = closest(token.name, Object.keys(options));
      throw new UsageError(`unknown option ${token.rawName}${hint === undefined ? '' : ` (did you mean --${hint}?)`}`);
    }
    if (def.type === 'string' && token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
    // `-` alone is a value: standard input (`--hex -`).
    if (
      def.type === 'string' &&
      token.inlineValue === false &&
      token.value?.startsWith('-') === true &&
      token.value !== '-'
    )
      throw new UsageError(
        `${token.rawName} needs a value (for one that starts with "-", write ${token.rawName}=${token.value})`,
      );
    if (def.type === 'boolean' && token.value !== undefined)
      throw new UsageError(`${token.rawName} takes no value, got ${JSON.stringify(token.value)}`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    // Whatever the checks above did not name: parseArgs's first line, as a usage error.
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw err;
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
  const accepted = command.positionals ?? [];
  if (parsed.positionals.length > accepted.length) {
    const extra = parsed.positionals.slice(accepted.length).map((p) => JSON.stringify(p));
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')}`);
  }
  parsed.positionals.forEach((given, i) => {
    // `-` (standard input) is a literal: anything else in its place is a stray argument.
    if (accepted[i]!.name === '-' && given !== '-')
      throw new UsageError(`unexpected argument ${JSON.stringify(given)}`);
  });
  return { values: parsed.values as CommandArgs['values'], positionals: parsed.positionals };
}
