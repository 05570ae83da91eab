/**
 * `kkcm decode`: a byte stream as JSON, one object per message.
 *
 * @module
 */
import {
  CodecError,
  decodeClientMessage,
  fromHex,
  messageToJson,
  RoutingDecoder,
  stringify,
  type DecodedMessage,
  type DecodeOptions,
  type RoutedMessage,
} from '../../codec/src/index.js';
import { stringArg, type Command, type CommandArgs, type OptionSpec } from './command.js';
import { describeError, ExitCode, intOption, readInputFile, UsageError, type Io } from './io.js';
import { misfitToJson } from './opaque-body.js';

const DESCRIPTION = `Decodes a stream of JSR IPC messages and prints one JSON object per message:
{offset, name, header, body}. 64-bit integers print as decimal strings, bytes as hex,
known enum values as names. A client message whose body does not fit the spec's
illustrative layout is shown with its header, its body as hex and a "note" naming the
misfit (client bodies are opaque to KKCM). A bad message stops decoding: exit 1 and
one line on standard error with the error code and byte offset.`;

const EPILOG = `Examples:
  kkcm decode --hex 4b4b434d01000108000000140000000000000007
  kkcm decode --file capture.bin --channel receive
  xxd -p trace.hex | kkcm decode --hex -
`;

const INPUT = 'Input (exactly one)';

const OPTIONS = {
  hex: {
    type: 'string',
    value: 'HEX',
    group: INPUT,
    description: 'hex text (spaces and colons allowed); --hex - reads hex from stdin',
  },
  file: { type: 'string', value: 'FILE', group: INPUT, description: 'raw bytes from a file' },
  spec: {
    type: 'string',
    value: 'FILE',
    description: 'decode with a decoder built at run time from this spec file',
  },
  'max-message': {
    type: 'string',
    value: 'N',
    description: 'largest message accepted, header included (default 262144)',
  },
  version: { type: 'string', value: 'N', description: 'negotiated version every header must carry' },
  channel: { type: 'string', value: 'NAME', description: 'send or receive: enforce the channel mapping' },
  pretty: { type: 'boolean', description: 'indent the JSON' },
} as const satisfies OptionSpec;

async function readDecodeInput(args: CommandArgs, io: Io): Promise<Uint8Array> {
  const hex = stringArg(args, 'hex');
  const file = stringArg(args, 'file');
  const stdin = args.positionals.includes('-');
  const given = [hex !== undefined, file !== undefined, stdin].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one input: --hex HEX, --file FILE or - (standard input)');
  if (hex !== undefined) return fromHex(hex === '-' ? Buffer.from(await io.stdin()).toString('utf8') : hex);
  if (file !== undefined) return readInputFile(file);
  return io.stdin();
}

/**
 * One message as JSON. A client message is decoded against the spec's illustrative layout;
 * one whose body does not fit it is not an error (client bodies are opaque to KKCM,
 * KKCM-DISP-3): its header is shown, its body as raw hex, with a note naming the misfit.
 */
function routedToJson(msg: RoutedMessage): object {
  if (!('client' in msg)) return messageToJson(msg as DecodedMessage);
  try {
    return messageToJson(decodeClientMessage(msg));
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    return misfitToJson(msg.name, msg.header, msg.body, err.code);
  }
}

/** Every message of `bytes` with its stream offset; a CodecError stops it after the messages before the fault. */
function* decodeRouted(bytes: Uint8Array, options: DecodeOptions): Generator<object> {
  const offsets: number[] = [];
  const decoder = new RoutingDecoder({ ...options, onFrame: (_frame, offset) => offsets.push(offset) });
  const messages = decoder.push(bytes);
  for (let i = 0; i < messages.length; i++) yield { offset: offsets[i], ...routedToJson(messages[i]!) };
  decoder.end();
}

/** Prints one JSON object per message of a byte stream. */
async function runDecode(args: CommandArgs, io: Io): Promise<number> {
  const channel = stringArg(args, 'channel');
  if (channel !== undefined && channel !== 'send' && channel !== 'receive')
    throw new UsageError('--channel must be send or receive');
  const options: DecodeOptions = {
    maxMessage: intOption('max-message', stringArg(args, 'max-message')),
    version: intOption('version', stringArg(args, 'version')),
    channel,
  };
  const indent = args.values.pretty === true ? 2 : undefined;
  let bytes: Uint8Array;
  try {
    bytes = await readDecodeInput(args, io);
  } catch (err) {
    if (err instanceof CodecError) {
      io.err(`kkcm decode: ${describeError(err)}\n`);
      return ExitCode.failure;
    }
    throw err;
  }
  const specPath = stringArg(args, 'spec');
  try {
    if (specPath !== undefined) {
      const { decodeWithSpecFile } = await import('./spec-decode.js');
      for (const line of decodeWithSpecFile(specPath, bytes, options)) io.out(`${stringify(line, indent)}\n`);
    } else {
      for (const line of decodeRouted(bytes, options)) io.out(`${stringify(line, indent)}\n`);
    }
  } catch (err) {
    if (err instanceof CodecError) {
      io.err(`kkcm decode: ${describeError(err)}\n`);
      return ExitCode.failure;
    }
    throw err;
  }
  return ExitCode.ok;
}

/** `kkcm decode (--hex HEX | --file FILE | -) [options]`. */
export const decodeCommand: Command = {
  summary: 'decode a byte stream into JSON, one object per message',
  usage: 'kkcm decode [--spec FILE] (--hex HEX | --file FILE | -) [options]',
  description: DESCRIPTION,
  positionals: [{ name: '-', group: INPUT, description: 'raw bytes from standard input' }],
  options: OPTIONS,
  epilog: EPILOG,
  run: runDecode,
};
