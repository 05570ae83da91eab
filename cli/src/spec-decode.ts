/**
 * `kkcm decode --spec FILE`: decodes a stream with a decoder built at run time from a spec
 * file (binary-parser), so that a user's own edition of the spec is honoured.
 *
 * @module
 */
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import { CodecError, messageToJson, type DecodeOptions, type MessageJson } from '../../codec/src/index.js';
import { createBinaryParserDecoder } from '../../codec/src/bp-decoder.js';

/**
 * Decodes every message of `bytes` with the spec at `specPath`.
 *
 * @returns one JSON object per message, with its stream offset.
 * @throws CodecError at the first bad message, its offset moved to stream bytes.
 */
export function* decodeWithSpecFile(
  specPath: string,
  bytes: Uint8Array,
  options: DecodeOptions,
): Generator<MessageJson & { offset: number }> {
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
    let message;
    try {
      message = decoder.decode(bytes.subarray(pos, end));
    } catch (err) {
      throw err instanceof CodecError ? err.shifted(pos) : err;
    }
    if (end - pos < length)
      throw new CodecError('ERR_STREAM_TRUNCATED', `message of ${length} bytes, only ${end - pos} present`, {
        offset: bytes.byteLength,
      });
    yield { offset: pos, ...messageToJson(message as Parameters<typeof messageToJson>[0], model) };
    pos = end;
  }
}
