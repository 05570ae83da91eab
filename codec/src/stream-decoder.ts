/**
 * One-pass stream decoding: TCP chunks in, decoded messages out. The framer's state machine
 * ({@link FrameReader}) finds each whole message and checks its header; the message is then
 * decoded where it lies in the chunk, with no view made just for decoding (a message that
 * straddles chunks is decoded in the copy the framer makes of it). Decoding each message the
 * framer returns with `decodeMessage` costs a view per message and a second header check:
 * about half the throughput on 256-byte messages in 1460-byte chunks (docs/performance.md).
 *
 * @module
 */
import type { ChannelName } from './gen/protocol.js';
import { FrameReader } from './framer.js';
import {
  decodeCheckedAt,
  routeCheckedAt,
  type DecodedMessage,
  type DecodeOptions,
  type RoutedMessage,
} from './message.js';

/** Options of a {@link StreamDecoder}. */
export interface StreamDecoderOptions extends DecodeOptions {
  /**
   * Called with the whole bytes of each message (header included) and its stream offset,
   * once the message is complete and its header checked, before its body is decoded; in
   * stream order. So a message that fails to decode has been seen here (the frame to trace
   * or to quote in an ERROR): after a push, the frame of its i-th message is the i-th frame
   * reported during that push, and one more frame means the last one failed.
   *
   * The frame is a view into the pushed chunk, or the framer's copy when the message
   * straddled chunks: copy it to keep it past the chunk's lifetime. Without this option no
   * view is made. It must not throw: an exception propagates out of `push` and leaves the
   * decoder failed.
   */
  readonly onFrame?: ((frame: Uint8Array, offset: number) => void) | undefined;
  /**
   * The bytes {@link StreamDecoder.pushEach} hands over are the callback's until it returns,
   * and no longer: the decoder then reuses the memory of a large message (above 4 KiB) that
   * straddled chunks for the next one, instead of allocating a buffer per message. A caller
   * that keeps a message, or a view into it, past its callback copies it. `push` is not
   * affected (it returns several messages at once). Default false.
   *
   * What it saves: at full speed, a fresh 64 KiB buffer per message is memory the kernel
   * has to map in again and again (page faults), and a collector's work; on the benchmark
   * machine, whether a run paid that or not moved the receiver's cost per message between
   * 20 and 100 µs.
   */
  readonly transient?: boolean | undefined;
}

/**
 * What both stream decoders share: chunks read through a plain view, the channel option
 * that can change between messages, and the frame callback.
 */
abstract class ChunkDecoder<T> extends FrameReader<T> {
  private readonly onFrame: ((frame: Uint8Array, offset: number) => void) | undefined;

  constructor(options: StreamDecoderOptions = {}) {
    super(options);
    this.onFrame = options.onFrame;
    this.reuseLarge = options.transient === true;
  }

  /**
   * Feeds a chunk; returns the messages it completed, decoded, in order.
   *
   * @throws CodecError on the first violation (offset in stream bytes) when no message
   *   precedes it in the chunk, else on the next call; ERR_STREAM_FAILED on any push after
   *   that.
   */
  override push(chunk: Uint8Array): T[] {
    // Decoded from a plain view of the chunk: `subarray` of a Node Buffer (every socket
    // chunk) builds a Buffer through its class constructor, which every bytes field and
    // every straddling copy would pay. One view per chunk pays for itself from about three
    // messages per chunk, and bytes fields are the same type however the stream was cut.
    return super.push(
      Object.getPrototypeOf(chunk) === Uint8Array.prototype
        ? chunk
        : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
  }

  /** Changes the channel whose static mapping every further message must respect; undefined: none. */
  setChannel(channel: ChannelName | undefined): void {
    this.options.channel = channel;
  }

  protected deliver(b: Uint8Array, start: number, end: number): T {
    // `b` is a plain view (see push), so a plain view of the frame is the cheapest one.
    if (this.onFrame !== undefined)
      this.onFrame(
        start === 0 && end === b.byteLength ? b : new Uint8Array(b.buffer, b.byteOffset + start, end - start),
        this.offset,
      );
    return this.decodeAt(b, start);
  }

  /** Decodes the whole message at `b[start…]` whose header passed the framer's checks. */
  protected abstract decodeAt(b: Uint8Array, start: number): T;
}

/**
 * Decodes a byte stream pushed in chunks: the framer's rules and `decodeMessage`'s checks
 * in one pass.
 *
 * - Framing as {@link Framer}: the length limit is checked as soon as a header is complete,
 *   before one body byte is buffered; only bytes that straddle chunks are copied.
 * - Every header goes through `checkHeaderAt` once (magic, version — the negotiated one when
 *   set —, reserved flags, length bounds), then the static channel mapping when `channel`
 *   is set, the body and the may-ignore rule, exactly as `decodeMessage` with the same
 *   options: same codes, same paths. [KKCM-FRM-3] [KKCM-HDR-4] [KKCM-CHAN-2] [KKCM-TYPE-1]
 * - Error offsets are stream offsets.
 * - Messages decoded before a violation in the same chunk are returned; `error` is set at
 *   once and the next `push` or `end` raises the violation; after that every push raises
 *   ERR_STREAM_FAILED.
 *
 * Body fields of type bytes are plain `Uint8Array` views (never Node Buffers) into the
 * pushed chunk's memory, or into the framer's copy of a straddling message: copy them if
 * the chunk's memory is reused. Options changed with
 * {@link StreamDecoder.setVersion} or {@link StreamDecoder.setChannel} apply from the next
 * push: every message of one push is checked with the same options. With
 * {@link StreamDecoder.pushEach}, which hands each message over as soon as it is decoded,
 * they apply from the next message: what a peer needs while a handshake settles the version
 * and the channel.
 */
export class StreamDecoder extends ChunkDecoder<DecodedMessage> {
  protected decodeAt(b: Uint8Array, start: number): DecodedMessage {
    return decodeCheckedAt(b, start, this.options);
  }
}

/**
 * The stream decoder of a KKCM peer: as {@link StreamDecoder}, but the body of a client-owned
 * type (IHA, SDRL, PSRM, PRL, the probe) is not decoded and any subtype of such a type is
 * the client's: it comes out as a `ClientMessage` with its body bytes uninterpreted, for the
 * client's handler (design 7.2.c, 7.2.e). KKCM's own checks all stay: magic, length, version,
 * flags, channel, type, and the bodies of control messages. [KKCM-DISP-3]
 */
export class RoutingDecoder extends ChunkDecoder<RoutedMessage> {
  protected decodeAt(b: Uint8Array, start: number): RoutedMessage {
    return routeCheckedAt(b, start, this.options);
  }
}
