/**
 * `kkcm spec`, `kkcm decode` and `kkcm encode`.
 *
 * @module
 */
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import {
  CodecError,
  encodeMessage,
  encodeRaw,
  fromHex,
  iterateStream,
  messageFromJson,
  messageToJson,
  stringify,
  toHex,
  type DecodeOptions,
  type MessageInput,
  type RawMessageInput,
} from '../../codec/src/index.js';
import { ExitCode, intOption, readInputFile, UsageError, type Io } from './io.js';

/** Parsed options of a command: strings, booleans, and positionals. */
export interface CommandArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

const str = (args: CommandArgs, name: string): string | undefined => {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
};

/** One line describing a codec error: code, byte offset, field path, message. */
export function describeError(err: CodecError): string {
  const where = err.offset !== undefined ? ` at byte ${err.offset}` : '';
  const path = err.path !== undefined ? ` (${err.path})` : '';
  return `${err.code}${where}${path}: ${err.message}`;
}

/** `kkcm spec [--json]`: prints the spec, or with --json the normalised spec. */
export function specCommand(args: CommandArgs, io: Io): number {
  const path = str(args, 'spec');
  const model = new SpecModel(loadSpec(path));
  if (args.values.json === true) {
    io.out(`${JSON.stringify(model.normalised(), null, 2)}\n`);
    return ExitCode.ok;
  }
  const { spec } = model;
  const lines: string[] = [];
  lines.push(
    `${spec.name} — spec ${spec.specVersion}, protocol versions ${spec.protocolVersions.min}..${spec.protocolVersions.max}, default port ${spec.defaultPort}`,
  );
  lines.push('');
  lines.push(`Header (${spec.header.size} bytes, big-endian, magic 0x${spec.header.magic.toString(16)}):`);
  for (const f of spec.header.fields) lines.push(`  ${f.name.padEnd(8)} ${f.type.padEnd(4)} ${f.doc}`);
  lines.push('');
  lines.push('Messages (type.subtype  name  client  channels):');
  for (const m of model.messages) {
    const id = `0x${m.type.toString(16).padStart(2, '0')}.0x${m.subtype.toString(16).padStart(2, '0')}`;
    lines.push(
      `  ${id}  ${m.subtypeSpec.label.padEnd(22)} ${m.name.padEnd(22)} ${m.client.padEnd(6)} ${m.channels.join(',')}${m.typeSpec.illustrative === true ? '  (illustrative)' : ''}`,
    );
  }
  lines.push('');
  lines.push('Error codes:');
  for (const e of spec.errors) lines.push(`  ${String(e.value).padStart(3)} ${e.code}`);
  lines.push('');
  const must = spec.requirements.filter((r) => r.level === 'MUST').length;
  lines.push(`Requirements: ${spec.requirements.length} (${must} MUST); \`kkcm spec --json\` lists them.`);
  io.out(`${lines.join('\n')}\n`);
  return ExitCode.ok;
}

async function readDecodeInput(args: CommandArgs, io: Io): Promise<Uint8Array> {
  const hex = str(args, 'hex');
  const file = str(args, 'file');
  const stdin = args.positionals.includes('-');
  const given = [hex !== undefined, file !== undefined, stdin].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one input: --hex HEX, --file FILE or - (standard input)');
  if (hex !== undefined) return fromHex(hex === '-' ? Buffer.from(await io.stdin()).toString('utf8') : hex);
  if (file !== undefined) return readInputFile(file);
  return io.stdin();
}

/** `kkcm decode`: one JSON object per message of a byte stream. */
export async function decodeCommand(args: CommandArgs, io: Io): Promise<number> {
  const channel = str(args, 'channel');
  if (channel !== undefined && channel !== 'send' && channel !== 'receive')
    throw new UsageError('--channel must be send or receive');
  const options: DecodeOptions = {
    maxMessage: intOption('max-message', str(args, 'max-message')),
    version: intOption('version', str(args, 'version')),
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
  const specPath = str(args, 'spec');
  try {
    if (specPath !== undefined) {
      const { decodeWithSpecFile } = await import('./spec-decode.js');
      for (const line of decodeWithSpecFile(specPath, bytes, options)) io.out(`${stringify(line, indent)}\n`);
    } else {
      for (const m of iterateStream([bytes], options))
        io.out(`${stringify({ offset: m.offset, ...messageToJson(m.message) }, indent)}\n`);
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

/** `kkcm encode (--json FILE | -)`: prints one hex line per message. */
export async function encodeCommand(args: CommandArgs, io: Io): Promise<number> {
  const file = str(args, 'json');
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
