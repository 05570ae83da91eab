/**
 * The JSR IPC codec: generated encoders and decoders, the stream framer and decoder, the JSON
 * form and a binary-parser decoder built from any spec at run time.
 *
 * @module kkcm/codec
 */
export { CodecError, isCodecError, type ErrorLocation } from './errors.js';
export { Framer, type FramerOptions } from './framer.js';
export * from './gen/protocol.js';
export { fromHex, toHex } from './hex.js';
export {
  bundledModel,
  messageFromJson,
  messageToJson,
  stringify,
  type HeaderJson,
  type Json,
  type MessageJson,
} from './json.js';
export {
  checkHeaderAt,
  decodeClientMessage,
  decodeHeader,
  decodeMessage,
  encodedLength,
  encodeInto,
  encodeMessage,
  encodeRaw,
  encodeSplit,
  type ClientMessage,
  type ClientMessageName,
  type ControlMessage,
  type DecodedMessage,
  type DecodeOptions,
  type EncodeOptions,
  type HeaderInput,
  type IgnoredMessage,
  type MessageInput,
  type RawMessageInput,
  type RoutedMessage,
  type SplitMessage,
} from './message.js';
export { RoutingDecoder, StreamDecoder, type StreamDecoderOptions } from './stream-decoder.js';
export { decodeStream, iterateStream, type StreamMessage } from './stream.js';
