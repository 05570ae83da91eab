/**
 * The `kkcm` command line: the table of commands (one file each) and the dispatch: `--help`,
 * option parsing, and the mapping of errors to exit codes.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { SpecError } from '../../spec/src/index.js';
import type { Command } from './command.js';
import { conformanceCommand } from './conformance-command.js';
import { ctlCommand } from './ctl-command.js';
import { decodeCommand } from './decode-command.js';
import { demoCommand } from './demo-command.js';
import { encodeCommand } from './encode-command.js';
import { ExitCode, processIo, UsageError, type Io } from './io.js';
import { peerCommand } from './peer-command.js';
import { specCommand } from './spec-command.js';
import { vectorsCommand } from './vectors-command.js';

const COMMANDS: Readonly<Record<string, Command>> = {
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
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: kkcm <command> [options]

kkcm: the JSR IPC protocol of the Kernel-to-Kernel Communication Module, as a spec, a
codec, a reference peer and a conformance suite.

Commands:
${lines.join('\n')}

Run \`kkcm <command> --help\` for a command's options and examples.
Exit codes: 0 success, 1 failure or bad input, 2 usage error, 3 harness error.
`;
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path).
 *
 * @returns the process exit code.
 */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`kkcm: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return ExitCode.usage;
  }
  try {
    const parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help === true) {
      io.out(command.help);
      return ExitCode.ok;
    }
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, io);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      io.err(`kkcm ${name}: ${(err as Error).message}\n\n${command.help}`);
      return ExitCode.usage;
    }
    if (err instanceof SpecError) {
      io.err(`kkcm ${name}: ${err.code}: ${err.message}\n`);
      return ExitCode.failure;
    }
    io.err(`kkcm ${name}: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return ExitCode.harness;
  }
}
