/**
 * The `kkcm` command line: dispatches to one command per verb, each with `--help`.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { SpecError } from '../../spec/src/index.js';
import { decodeCommand, encodeCommand, specCommand, type CommandArgs } from './codec-commands.js';
import { CONFORMANCE_HELP, CONFORMANCE_OPTIONS, conformanceCommand } from './conformance-command.js';
import { ctlCommand, CTL_HELP } from './ctl-command.js';
import { DEMO_HELP, demoCommand } from './demo-command.js';
import { ExitCode, processIo, UsageError, type Io } from './io.js';
import { PEER_HELP, peerCommand } from './peer-command.js';
import { vectorsCommand } from './vectors-command.js';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly options: OptionSpec;
  readonly run: (args: CommandArgs, io: Io) => number | Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  conformance: {
    summary: 'run the conformance suite against a peer (default: the embedded reference peer)',
    help: CONFORMANCE_HELP,
    options: CONFORMANCE_OPTIONS,
    run: conformanceCommand,
  },
  spec: {
    summary: 'print the protocol spec',
    help: `Usage: kkcm spec [--json] [--spec FILE]

Prints the JSR IPC spec: header, messages, error codes, requirement count.

Options:
  --json        print the normalised spec as JSON, with a flat messageIndex and a
                requirements array of {id, level, section, text}
  --spec FILE   use this spec file instead of the bundled one (validated on load)

Examples:
  kkcm spec
  kkcm spec --json | jq '.requirements[] | select(.level == "MUST") | .id'
`,
    options: { json: { type: 'boolean' }, spec: { type: 'string' } },
    run: specCommand,
  },
  decode: {
    summary: 'decode a byte stream into JSON, one object per message',
    help: `Usage: kkcm decode [--spec FILE] (--hex HEX | --file FILE | -) [options]

Decodes a stream of JSR IPC messages and prints one JSON object per message:
{offset, name, header, body}. 64-bit integers print as decimal strings, bytes as hex,
known enum values as names. A bad message stops decoding: exit 1 and one line on
standard error with the error code and byte offset.

Input (exactly one):
  --hex HEX          hex text (spaces and colons allowed); --hex - reads hex from stdin
  --file FILE        raw bytes from a file
  -                  raw bytes from standard input

Options:
  --spec FILE        decode with a decoder built at run time from this spec file
  --max-message N    largest message accepted, header included (default 262144)
  --version N        negotiated version every header must carry
  --channel NAME     send or receive: enforce the channel mapping
  --pretty           indent the JSON

Examples:
  kkcm decode --hex 4b4b434d01000108000000140000000000000007
  kkcm decode --file capture.bin --channel receive
  xxd -p trace.hex | kkcm decode --hex -
`,
    options: {
      hex: { type: 'string' },
      file: { type: 'string' },
      spec: { type: 'string' },
      'max-message': { type: 'string' },
      version: { type: 'string' },
      channel: { type: 'string' },
      pretty: { type: 'boolean' },
    },
    run: decodeCommand,
  },
  encode: {
    summary: 'encode JSON messages into hex',
    help: `Usage: kkcm encode (--json FILE | -)

Reads one JSON message, an array of them, or JSON Lines, and prints one hex line per
message. A message is {name, body, seq?, flags?, version?} in the form \`kkcm decode\`
prints (a header object is accepted too), or {type, subtype, body: "hex"} for a raw
message. flags may be a number or a list of names (mayIgnore, ackRequested). Derived
fields (lengths, counts) are computed. Bad input: exit 1 and one line with the code.

Examples:
  echo '{"name":"control.ack","seq":7,"body":{"upTo":6}}' | kkcm encode -
  kkcm decode --hex "$(cat msg.hex)" | kkcm encode -
`,
    options: { json: { type: 'string' } },
    run: encodeCommand,
  },
  vectors: {
    summary: 'check the codec against every golden vector',
    help: `Usage: kkcm vectors [--json] [--verbose]

Decodes every golden vector of spec/vectors/: each valid vector must decode to its
expected value and re-encode to the same bytes; each invalid vector must be rejected
with exactly its error code and offset. Exit 0 when all hold, 1 otherwise.

Options:
  --json      print the report as JSON
  --verbose   print one line per vector

Examples:
  kkcm vectors
  kkcm vectors --json | jq .summary
`,
    options: { json: { type: 'boolean' }, verbose: { type: 'boolean' } },
    run: vectorsCommand,
  },
  peer: {
    summary: 'run a reference peer (master or backup) until SIGINT/SIGTERM',
    help: PEER_HELP,
    options: {
      role: { type: 'string' },
      listen: { type: 'string' },
      connect: { type: 'string' },
      'node-id': { type: 'string' },
      'node-name': { type: 'string' },
      events: { type: 'string' },
      pcap: { type: 'string' },
      'trace-filter': { type: 'string' },
      'periodic-ms': { type: 'string' },
      'conformance-probe': { type: 'boolean' },
      admin: { type: 'string' },
      'log-level': { type: 'string' },
      'max-message': { type: 'string' },
      allow: { type: 'string' },
      'queue-messages': { type: 'string' },
      'handshake-timeout-ms': { type: 'string' },
      'backoff-max-ms': { type: 'string' },
      'max-pending': { type: 'string' },
      'accept-rate': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-required': { type: 'boolean' },
    },
    run: peerCommand,
  },
  ctl: {
    summary: 'control a running peer through its admin socket',
    help: CTL_HELP,
    options: {
      admin: { type: 'string' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      client: { type: 'string' },
      message: { type: 'string' },
      confirm: { type: 'boolean' },
      wait: { type: 'boolean' },
    },
    run: ctlCommand,
  },
  demo: {
    summary: 'two peers in one process: traffic, live counters, every cleanup reason',
    help: DEMO_HELP,
    options: { seconds: { type: 'string' }, 'no-failover': { type: 'boolean' } },
    run: demoCommand,
  },
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
