/**
 * Decoding a whole byte stream: framing plus message decoding, with stream offsets.
 *
 * @module
 */
import type { DecodedMessage, DecodeOptions } from './message.js';
import { StreamDecoder } from './stream-decoder.js';

/** One message of a stream and where it starts. */
export interface StreamMessage {
  /** Stream offset of the message's first byte. */
  readonly offset: number;
  /**
   * The message's bytes: a plain Uint8Array view into the input's memory when it did not
   * straddle chunks, else into the decoder's copy of it.
   */
  readonly bytes: Uint8Array;
  /** The decoded message. */
  readonly message: DecodedMessage;
}

/**
 * Decodes every message of a stream given as chunks, in order, with a {@link StreamDecoder}.
 * The stream must end on a message boundary.
 *
 * @throws CodecError at the first violation, with its stream offset; messages before it
 *   have been yielded.
 */
export function* iterateStream(chunks: Iterable<Uint8Array>, options: DecodeOptions = {}): Generator<StreamMessage> {
  // The decoder reports each frame before decoding it: the i-th frame of a push is that of
  // its i-th message.
  let frames: { bytes: Uint8Array; offset: number }[] = [];
  const decoder = new StreamDecoder({ ...options, onFrame: (bytes, offset) => frames.push({ bytes, offset }) });
  for (const chunk of chunks) {
    frames = [];
    const messages = decoder.push(chunk);
    for (let i = 0; i < messages.length; i++) yield { ...frames[i]!, message: messages[i]! };
  }
  decoder.end();
}

/** Decodes every message of a byte stream held in one buffer. @see iterateStream */
export function decodeStream(bytes: Uint8Array, options: DecodeOptions = {}): StreamMessage[] {
  return [...iterateStream([bytes], options)];
}
