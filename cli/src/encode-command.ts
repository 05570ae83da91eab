/**
 * `kkcm encode`: JSON messages as hex, one line per message.
 *
 * @module
 */
import {
  CodecError,
  encodeMessage,
  encodeRaw,
  messageFromJson,
  toHex,
  type MessageInput,
  type RawMessageInput,
} from '../../codec/src/index.js';
import { stringArg, type Command, type CommandArgs, type OptionSpec } from './command.js';
import { describeError, ExitCode, readInputFile, UsageError, type Io } from './io.js';

const DESCRIPTION = `Reads one JSON message, an array of them, or JSON Lines, and prints one hex line per
message. A message is {name, body, seq?, flags?, version?} in the form \`kkcm decode\`
prints (a header object is accepted too), or {type, subtype, body: "hex"} for a raw
message. flags may be a number or a list of names (mayIgnore, ackRequested). Derived
fields (lengths, counts) are computed. Bad input: exit 1 and one line with the code.`;

const EPILOG = `Examples:
  echo '{"name":"control.ack","seq":7,"body":{"upTo":6}}' | kkcm encode -
  kkcm decode --hex "$(cat msg.hex)" | kkcm encode -
`;

const OPTIONS = {
  json: { type: 'string', value: 'FILE', group: 'Input (exactly one)', description: 'the JSON input from a file' },
} as const satisfies OptionSpec;

function parseJsonInput(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new CodecError('ERR_BAD_INPUT', 'no JSON input');
  try {
    const value: unknown = JSON.parse(trimmed);
    return Array.isArray(value) ? value : [value];
  } catch {
    // Not one JSON document: try JSON Lines.
  }
  return trimmed
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch (err) {
        throw new CodecError('ERR_BAD_INPUT', `line ${i + 1} is not JSON: ${(err as Error).message}`);
      }
    });
}

/** Prints one hex line per message. */
async function runEncode(args: CommandArgs, io: Io): Promise<number> {
  const file = stringArg(args, 'json');
  const stdin = args.positionals.includes('-') || file === '-';
  if ((file === undefined || file === '-') && !stdin)
    throw new UsageError('give the input: --json FILE or - (standard input)');
  const text = stdin ? Buffer.from(await io.stdin()).toString('utf8') : readInputFile(file ?? '').toString('utf8');
  try {
    const items = parseJsonInput(text);
    for (const [i, item] of items.entries()) {
      let msg: MessageInput | RawMessageInput;
      try {
        msg = messageFromJson(item);
        io.out(`${toHex('name' in msg ? encodeMessage(msg) : encodeRaw(msg))}\n`);
      } catch (err) {
        if (err instanceof CodecError && items.length > 1)
          throw new CodecError(err.code, `message ${i}: ${err.message}`, { path: err.path });
        throw err;
      }
    }
  } catch (err) {
    if (err instanceof CodecError) {
      io.err(`kkcm encode: ${describeError(err)}\n`);
      return ExitCode.failure;
    }
    throw err;
  }
  return ExitCode.ok;
}

/** `kkcm encode (--json FILE | -)`. */
export const encodeCommand: Command = {
  summary: 'encode JSON messages into hex',
  usage: 'kkcm encode (--json FILE | -)',
  description: DESCRIPTION,
  positionals: [{ name: '-', group: 'Input (exactly one)', description: 'the JSON input from standard input' }],
  options: OPTIONS,
  epilog: EPILOG,
  run: runEncode,
};
