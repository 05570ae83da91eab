/**
 * The `kkcm` command line: the table of commands (one file each) and the dispatch: `--help`,
 * `--version`, option parsing (help.ts), and the mapping of errors to exit codes.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecError, loadSpec, packageRoot } from '../../spec/src/index.js';
import type { Command } from './command.js';
import { conformanceCommand } from './conformance-command.js';
import { ctlCommand } from './ctl-command.js';
import { decodeCommand } from './decode-command.js';
import { demoCommand } from './demo-command.js';
import { encodeCommand } from './encode-command.js';
import { commandHelp, parseCommand } from './help.js';
import { ExitCode, processIo, UsageError, type Io } from './io.js';
import { peerCommand } from './peer-command.js';
import { specCommand } from './spec-command.js';
import { vectorsCommand } from './vectors-command.js';

/** The commands of `kkcm`, in the order `kkcm --help` lists them. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  conformance: conformanceCommand,
  spec: specCommand,
  decode: decodeCommand,
  encode: encodeCommand,
  vectors: vectorsCommand,
  peer: peerCommand,
  ctl: ctlCommand,
  demo: demoCommand,
};

function mainHelp(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `Usage: kkcm <command> [options]
       kkcm help <command>
       kkcm --version

kkcm: the JSR IPC protocol of the Kernel-to-Kernel Communication Module, as a spec, a
codec, a reference peer and a conformance suite.

Commands:
${lines.join('\n')}

Run \`kkcm <command> --help\` (or \`kkcm help <command>\`) for a command's options and examples.
Exit codes: 0 success, 1 failure or bad input, 2 usage error, 3 harness error
(\`kkcm conformance\` adds 4 and 5, see its help).
`;
}

/** `kkcm --version`: the package version and the version of the spec it implements. */
function versionText(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const spec = loadSpec();
  const { min, max } = spec.protocolVersions;
  const wire = min === max ? `${min}` : `${min}-${max}`;
  return `kkcm ${pkg.version} (spec ${spec.specVersion}, protocol version ${wire})\n`;
}

/** A usage error: the message and where to read more, two lines on standard error. */
function usage(io: Io, who: string, message: string, helpCommand: string): number {
  io.err(`${who}: ${message}\nRun \`${helpCommand}\` for usage.\n`);
  return ExitCode.usage;
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path).
 *
 * @returns the process exit code.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(mainHelp());
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h') {
    io.out(mainHelp());
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    io.out(versionText());
    return ExitCode.ok;
  }
  if (name === 'help') {
    const [topic, ...extra] = rest;
    if (topic === undefined) {
      io.out(mainHelp());
      return ExitCode.ok;
    }
    const command = COMMANDS[topic];
    if (command === undefined) return usage(io, 'kkcm help', `unknown command ${JSON.stringify(topic)}`, 'kkcm --help');
    if (extra.length > 0)
      return usage(io, 'kkcm help', `unexpected argument ${JSON.stringify(extra[0])}`, 'kkcm --help');
    io.out(commandHelp(topic, command));
    return ExitCode.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    const what = name.startsWith('-') ? `unknown option ${name}` : `unknown command ${JSON.stringify(name)}`;
    return usage(io, 'kkcm', what, 'kkcm --help');
  }
  try {
    const args = parseCommand(command, rest);
    if (args.values.help === true) {
      io.out(commandHelp(name, command));
      return ExitCode.ok;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, `kkcm ${name}`, err.message, `kkcm ${name} --help`);
    if (err instanceof SpecError) {
      io.err(`kkcm ${name}: ${err.code}: ${err.message}\n`);
      return ExitCode.failure;
    }
    io.err(`kkcm ${name}: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.harness;
  }
}
