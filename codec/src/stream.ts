/**
 * Decoding a whole byte stream: framing plus message decoding, with stream offsets.
 *
 * @module
 */
import { CodecError } from './errors.js';
import { Framer } from './framer.js';
import { decodeMessage, type DecodedMessage, type DecodeOptions } from './message.js';

/** One message of a stream and where it starts. */
export interface StreamMessage {
  /** Stream offset of the message's first byte. */
  readonly offset: number;
  /** The message's bytes (a view into the input when it did not straddle chunks). */
  readonly bytes: Uint8Array;
  readonly message: DecodedMessage;
}

/**
 * Decodes every message of a stream given as chunks, in order. The stream must end on a
 * message boundary.
 *
 * @throws CodecError at the first violation, with its stream offset; messages before it
 *   have been yielded.
 */
export function* iterateStream(chunks: Iterable<Uint8Array>, options: DecodeOptions = {}): Generator<StreamMessage> {
  const framer = new Framer(options);
  let offset = 0;
  for (const chunk of chunks) {
    for (const bytes of framer.push(chunk)) {
      let message: DecodedMessage;
      try {
        message = decodeMessage(bytes, options);
      } catch (err) {
        throw err instanceof CodecError ? err.shifted(offset) : err;
      }
      yield { offset, bytes, message };
      offset += bytes.byteLength;
    }
  }
  framer.end();
}

/** Decodes every message of a byte stream held in one buffer. @see iterateStream */
export function decodeStream(bytes: Uint8Array, options: DecodeOptions = {}): StreamMessage[] {
  return [...iterateStream([bytes], options)];
}
