/**
 * `kkcm decode --spec FILE`: decodes a stream with a decoder built at run time from a spec
 * file (binary-parser), so that a user's own edition of the spec is honoured.
 *
 * @module
 */
import { fixedSize, loadSpec, SpecModel, type ProtocolSpec } from '../../spec/src/index.js';
import {
  CodecError,
  messageToJson,
  type DecodeOptions,
  type HeaderJson,
  type MessageJson,
} from '../../codec/src/index.js';
import { createBinaryParserDecoder } from '../../codec/src/bp-decoder.js';
import { misfitToJson, type MisfitJson } from './opaque-body.js';

/**
 * Codes of a body that does not fit its layout, once the header passed its checks; and a
 * subtype the spec does not list, which for a client-owned type is the client's to define
 * [KKCM-DISP-3].
 */
const MISFIT_CODES: ReadonlySet<string> = new Set([
  'ERR_TRUNCATED_BODY',
  'ERR_TRAILING_BYTES',
  'ERR_BAD_LENGTH_FIELD',
  'ERR_BAD_COUNT',
  'ERR_RESERVED_NONZERO',
  'ERR_BAD_UTF8',
  'ERR_UNKNOWN_SUBTYPE',
]);

/** The header of a whole message, read in the spec's field order (the magic left out). */
function headerOf(spec: ProtocolSpec, frame: Uint8Array): HeaderJson {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const values: Record<string, number> = {};
  let at = 0;
  for (const f of spec.header.fields) {
    const size = fixedSize(f.type) ?? 0;
    values[f.name] = size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at) : view.getUint32(at);
    at += size;
  }
  const { version, flags, type, subtype, length, seq } = values as unknown as HeaderJson;
  return { version, flags, type, subtype, length, seq };
}

/**
 * Decodes every message of `bytes` with the spec at `specPath`. A message of a client-owned
 * type whose body does not fit the spec's illustrative layout, or whose subtype the spec does
 * not list, is not an error (client bodies are opaque to KKCM, KKCM-DISP-3): it comes out as
 * {@link misfitToJson} makes it, header, raw body and a note, as `kkcm decode` without a spec.
 *
 * @returns one JSON object per message, with its stream offset.
 * @throws CodecError at the first bad message, its offset moved to stream bytes.
 */
export function* decodeWithSpecFile(
  specPath: string,
  bytes: Uint8Array,
  options: DecodeOptions,
): Generator<(MessageJson | MisfitJson) & { offset: number }> {
  const spec = loadSpec(specPath);
  const model = new SpecModel(spec);
  const decoder = createBinaryParserDecoder(spec, { maxMessage: options.maxMessage });
  const headerSize = spec.header.size;
  let pos = 0;
  while (pos < bytes.byteLength) {
    if (bytes.byteLength - pos < headerSize)
      throw new CodecError('ERR_STREAM_TRUNCATED', `stream ended inside a header (${bytes.byteLength - pos} bytes)`, {
        offset: bytes.byteLength,
      });
    // The schema fixes the header's field order: the length is the u32 at offset 8.
    const length =
      ((bytes[pos + 8]! << 24) | (bytes[pos + 9]! << 16) | (bytes[pos + 10]! << 8) | bytes[pos + 11]!) >>> 0;
    const end = length >= headerSize ? Math.min(pos + length, bytes.byteLength) : pos + headerSize;
    const frame = bytes.subarray(pos, end);
    // The type is the u8 at offset 6 (the schema fixes the order); undefined for a frame cut short.
    const owner = model.messageType(frame[6]!)?.client;
    const opaque = owner !== undefined && owner !== 'kkcm';
    let message;
    try {
      message = decoder.decode(frame);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      if (!opaque || !MISFIT_CODES.has(err.code)) throw err.shifted(pos);
      const header = headerOf(spec, frame);
      const name = model.lookup(header.type, header.subtype)?.name ?? null;
      yield { offset: pos, ...misfitToJson(name, header, frame.subarray(headerSize), err.code) };
      pos = end;
      continue;
    }
    if (end - pos < length)
      throw new CodecError('ERR_STREAM_TRUNCATED', `message of ${length} bytes, only ${end - pos} present`, {
        offset: bytes.byteLength,
      });
    yield {
      offset: pos,
      ...(opaque && message.name === null
        ? misfitToJson(null, message.header, message.body, 'ERR_UNKNOWN_SUBTYPE')
        : messageToJson(message as Parameters<typeof messageToJson>[0], model)),
    };
    pos = end;
  }
}
