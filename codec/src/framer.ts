/**
 * Stream framer: push TCP chunks in, get whole messages out (design 6.1.d: a client never
 * sees a partial message).
 *
 * The state machine lives in {@link FrameReader}, the one source of framing truth; what a
 * whole message becomes is its subclass's business: {@link Framer} returns its bytes, the
 * `StreamDecoder` (`stream-decoder.ts`) decodes it in place.
 *
 * A two-state machine, one method per state in wire order: `readHeader` then `readBody`.
 * A state short of bytes returns and waits; running short is never an error. Every
 * violation goes through `failWith`, which marks the reader failed: after that, input is
 * refused with ERR_STREAM_FAILED, never half-parsed. A violation the subclass finds in a
 * whole message (a body error) goes through the same funnel.
 *
 * Messages completed before a violation are never lost: when a chunk holds whole messages
 * and then a violation, `push` returns those messages, sets `error` at once, and the next
 * `push` or `end` raises the violation (with its own code and offset). A caller that reads
 * nothing more checks `error` after each push.
 *
 * The length limit is checked as soon as a header is complete, before one body byte is
 * buffered. Messages inside one chunk are handed over in place (no copy); only bytes that
 * straddle chunks are copied, into a slab the reader owns (32 KiB, allocated when the
 * previous one is full), as Node carves small Buffers from its pool: one ArrayBuffer per
 * straddling message took a quarter of the framing time (256-byte messages in 1460-byte
 * chunks). The subclass gets the slab and the message's bounds in it, so that decoding makes
 * no view; the Framer returns a view of exactly the message. Messages above 4 KiB get a
 * buffer of their own; a kept small message keeps its slab alive, as a view into a chunk
 * keeps the chunk alive.
 *
 * @module
 */
import { CodecError } from './errors.js';
import { HEADER_SIZE, type ChannelName } from './gen/protocol.js';
import { checkHeaderAt, type DecodeOptions } from './message.js';

/** Options of a {@link Framer}. */
export type FramerOptions = Pick<DecodeOptions, 'maxMessage' | 'version' | 'anyVersion'>;

/** The options a reader checks with: always the same shape, owned by the reader. */
interface ReaderOptions {
  maxMessage: number | undefined;
  version: number | undefined;
  anyVersion: boolean | undefined;
  channel: ChannelName | undefined;
}

/** Size of a straddling-message slab, in bytes. */
const SLAB_BYTES = 32768;
/** Largest straddling message copied into the slab; larger ones get their own buffer. */
const SLAB_MESSAGE_MAX = 4096;

/** Copies up to this many bytes with a loop: below it, a loop beats making a view to `set` from. */
const COPY_LOOP_MAX = 32;

/**
 * Copies `src[start, end)` into `dst` at `at`. The source of `set` is a plain view:
 * `subarray` of a Node Buffer builds a Buffer through its class constructor, which costs
 * more than the copy of a few hundred bytes.
 */
function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): void {
  if (end - start <= COPY_LOOP_MAX) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
  } else {
    dst.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), at);
  }
}

const enum State {
  Header,
  Body,
  Failed,
}

/**
 * The framing state machine, generic in what a whole message becomes: a subclass implements
 * {@link FrameReader.deliver}. Internal: the package exports its subclasses.
 */
export abstract class FrameReader<T> {
  /** A copy: `setVersion` never writes into the caller's object. */
  protected readonly options: ReaderOptions;
  private state = State.Header;
  /** Header bytes that straddle chunks. */
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  /**
   * Message that straddles chunks: copied into `partial[partialStart, partialEnd)` (a region
   * of the slab, or a buffer of its own), of which `partialFill` bytes are there.
   */
  private partial: Uint8Array | undefined;
  private partialStart = 0;
  private partialEnd = 0;
  private partialFill = 0;
  /** Stream offset of the first byte not yet consumed. */
  private consumed = 0;
  private failure: CodecError | undefined;
  /** The failure was found after messages of the same push: the next call raises it. */
  private failurePending = false;
  /** Slab that straddling messages are copied into, and the bytes of it already handed out. */
  private slab: Uint8Array | undefined;
  private slabUsed = 0;
  /** The callback of {@link FrameReader.pushEach} while it runs. */
  private each: ((value: T, b: Uint8Array, start: number, end: number) => void) | undefined;
  /** See {@link FrameReader.failedMessage}. */
  private failedBytes: Uint8Array | undefined;
  /**
   * Whether `pushEach` callbacks own what they get only until they return, so that the
   * buffer of a large straddling message is reused for the next one (see
   * `StreamDecoderOptions.transient`).
   */
  protected reuseLarge = false;
  /** A large straddling message's buffer, free again: its callback returned. */
  private spare: Uint8Array | undefined;

  constructor(options: DecodeOptions) {
    this.options = {
      maxMessage: options.maxMessage,
      version: options.version,
      anyVersion: options.anyVersion,
      channel: options.channel,
    };
  }

  /** Bytes held for an incomplete message. Never more than the message length limit. */
  get buffered(): number {
    return this.state === State.Body ? this.partialFill : this.headFill;
  }

  /**
   * Stream offset of the next byte to be read: the bytes of every message delivered so far.
   * While a message is being delivered, the stream offset of its first byte.
   */
  get offset(): number {
    return this.consumed;
  }

  /** The error that stopped the reader, if any. */
  get error(): CodecError | undefined {
    return this.failure;
  }

  /**
   * The whole bytes (header included) of the message whose violation stopped the reader,
   * when the violation was found after its header passed (a body error, a wrong channel, an
   * unknown type): the message to quote in an ERROR. Undefined when the violation is in a
   * header, or when nothing failed. A view into the pushed chunk or the reader's copy.
   */
  get failedMessage(): Uint8Array | undefined {
    return this.failedBytes;
  }

  /** Changes the negotiated version that every further header must carry. [KKCM-HDR-4] */
  setVersion(version: number | undefined): void {
    this.options.version = version;
  }

  /**
   * Feeds a chunk; returns what the messages it completed became, in order.
   *
   * @throws CodecError on the first violation (offset in stream bytes) when no message
   *   precedes it in the chunk, else on the next call; ERR_STREAM_FAILED on any push after
   *   that.
   */
  push(chunk: Uint8Array): T[] {
    if (this.state === State.Failed) this.raiseFailed();
    const out: T[] = [];
    let pos = 0;
    try {
      while (pos < chunk.byteLength) {
        pos = this.state === State.Header ? this.readHeader(chunk, pos, out) : this.readBody(chunk, pos, out);
      }
    } catch (err) {
      // Whole messages before the violation are delivered; the violation waits for the next call.
      if (out.length === 0 || !(err instanceof CodecError)) throw err;
      this.failurePending = true;
    }
    return out;
  }

  /**
   * Feeds a chunk and hands each message it completes to `each` as soon as it is complete,
   * in order, instead of returning them: what `each` changes in the reader's options
   * (`setVersion`, and the stream decoder's `setChannel`) applies from the very next message,
   * where `push` checks every message of a chunk with the same options. A handshake needs it:
   * the message that concludes it changes the rules for the message behind it in the same
   * chunk. Besides the value, `each` gets the message's whole bytes as `b[start, end)`, the
   * pushed chunk (as `push` sees it) or the reader's copy of a straddling message, without a
   * view made for them.
   *
   * @throws CodecError on the first violation, at once: the messages before it were handed to
   *   `each`; `failedMessage` holds the failing message when its header had
   *   passed. ERR_STREAM_FAILED on any push after that. What `each` throws propagates and
   *   leaves the reader failed (the position in the stream is lost).
   */
  pushEach(chunk: Uint8Array, each: (value: T, b: Uint8Array, start: number, end: number) => void): void {
    this.each = each;
    try {
      this.push(chunk);
    } finally {
      this.each = undefined;
    }
  }

  /**
   * Turns the whole message `b[start, end)` into what `push` returns. Its header passed
   * `checkHeaderAt` with {@link FrameReader.options}. `b` is the pushed chunk or, for a
   * message that straddled chunks, the slab (or the buffer of its own) it was copied into;
   * bytes of `b` outside `[start, end)` are not the message's. {@link offset} is the message's
   * stream offset. A CodecError it throws (offsets relative to `b`) fails the stream, moved to
   * stream offsets.
   */
  protected abstract deliver(b: Uint8Array, start: number, end: number): T;

  private raiseFailed(): never {
    if (this.failurePending && this.failure !== undefined) {
      this.failurePending = false;
      throw this.failure;
    }
    throw new CodecError('ERR_STREAM_FAILED', `stream already failed: ${this.failure?.code ?? ''}`, {
      offset: this.consumed,
    });
  }

  /**
   * Declares the end of the stream.
   *
   * @throws CodecError ERR_STREAM_TRUNCATED when a message was left incomplete.
   */
  end(): void {
    if (this.state === State.Failed) {
      if (this.failurePending) this.raiseFailed();
      return;
    }
    const held = this.buffered;
    if (held > 0)
      this.failWith(
        new CodecError('ERR_STREAM_TRUNCATED', `stream ended inside a message (${held} bytes held)`, {
          offset: this.consumed,
        }),
        0,
      );
  }

  private readHeader(chunk: Uint8Array, pos: number, out: T[]): number {
    if (this.headFill === 0) {
      // Fast path: whole messages inside this chunk are delivered in place, without a copy.
      const size = chunk.byteLength;
      while (size - pos >= HEADER_SIZE) {
        const length = this.check(chunk, pos);
        if (size - pos < length) return this.startPartial(chunk, pos, length);
        this.emit(chunk, pos, pos + length, out);
        pos += length;
        this.consumed += length;
      }
      if (pos === size) return pos;
    }
    const take = Math.min(HEADER_SIZE - this.headFill, chunk.byteLength - pos);
    copyBytes(this.head, this.headFill, chunk, pos, pos + take);
    this.headFill += take;
    pos += take;
    if (this.headFill < HEADER_SIZE) return pos;
    const length = this.check(this.head, 0);
    this.headFill = 0;
    copyBytes(this.allocate(length), this.partialStart, this.head, 0, HEADER_SIZE);
    this.partialFill = HEADER_SIZE;
    this.state = State.Body;
    if (length === HEADER_SIZE) this.finishPartial(out);
    return pos;
  }

  private readBody(chunk: Uint8Array, pos: number, out: T[]): number {
    const at = this.partialStart + this.partialFill;
    const take = Math.min(this.partialEnd - at, chunk.byteLength - pos);
    copyBytes(this.partial!, at, chunk, pos, pos + take);
    this.partialFill += take;
    if (at + take === this.partialEnd) this.finishPartial(out);
    return pos + take;
  }

  private startPartial(chunk: Uint8Array, pos: number, length: number): number {
    copyBytes(this.allocate(length), this.partialStart, chunk, pos, chunk.byteLength);
    this.partialFill = chunk.byteLength - pos;
    this.state = State.Body;
    return chunk.byteLength;
  }

  /**
   * Room for a straddling message of `length` bytes (checked against the limit already):
   * sets `partial`, `partialStart` and `partialEnd`, returns `partial`. No view is made per
   * message: the subclass gets the slab and the message's bounds in it.
   */
  private allocate(length: number): Uint8Array {
    let partial: Uint8Array;
    if (length > SLAB_MESSAGE_MAX) {
      const spare = this.spare;
      if (spare !== undefined && spare.byteLength >= length) {
        partial = spare;
        this.spare = undefined;
      } else if (this.reuseLarge && this.each !== undefined) {
        // Room for the next messages too: up to the next power of two, within the limit.
        const size = Math.max(length, Math.min(2 ** Math.ceil(Math.log2(length)), this.options.maxMessage ?? Infinity));
        partial = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
      } else {
        // Uninitialised as the slab, for the same reason: the copy writes every byte first.
        partial = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      }
      this.partialStart = 0;
    } else {
      if (this.slab === undefined || this.slabUsed + length > SLAB_BYTES) {
        // Uninitialised memory: every byte handed out is written first. Three times cheaper
        // than a zero-filled one; a plain view, since decoders index it per byte.
        this.slab = new Uint8Array(Buffer.allocUnsafeSlow(SLAB_BYTES).buffer, 0, SLAB_BYTES);
        this.slabUsed = 0;
      }
      partial = this.slab;
      this.partialStart = this.slabUsed;
      this.slabUsed += length;
    }
    this.partial = partial;
    this.partialEnd = this.partialStart + length;
    return partial;
  }

  private finishPartial(out: T[]): void {
    const partial = this.partial!;
    const start = this.partialStart;
    const end = this.partialEnd;
    this.partial = undefined;
    this.partialFill = 0;
    this.state = State.Header;
    this.emit(partial, start, end, out);
    this.consumed += end - start;
    // The callback returned (emit threw otherwise): a large buffer is free for the next message.
    if (this.reuseLarge && this.each !== undefined && end - start > SLAB_MESSAGE_MAX) this.spare = partial;
  }

  /**
   * Hands a whole message to the subclass, then its value to `out` or to the callback of
   * `pushEach`; a violation the subclass finds fails the stream.
   */
  private emit(b: Uint8Array, start: number, end: number, out: T[]): void {
    let value: T;
    try {
      value = this.deliver(b, start, end);
      if (this.each === undefined) {
        out.push(value);
        return;
      }
    } catch (err) {
      if (err instanceof CodecError) {
        this.failedBytes =
          start === 0 && end === b.byteLength ? b : new Uint8Array(b.buffer, b.byteOffset + start, end - start);
        // `consumed` is the stream offset of the message, which starts at `start` in `b`.
        this.failWith(err, this.consumed - start);
      }
      // Not a violation (a caller's callback threw): the position in the stream is lost.
      this.state = State.Failed;
      throw err;
    }
    try {
      this.each(value, b, start, end);
    } catch (err) {
      // The caller's callback threw: not a violation, but the position in the stream is lost.
      this.state = State.Failed;
      throw err;
    }
  }

  /** Header checks; a violation fails the stream with the error moved to stream offsets. */
  private check(b: Uint8Array, o: number): number {
    try {
      return checkHeaderAt(b, o, this.options);
    } catch (err) {
      return this.failWith(err as CodecError, this.consumed - o);
    }
  }

  /** The failure funnel: stops the reader and raises one coded error. */
  private failWith(err: CodecError, delta: number): never {
    this.state = State.Failed;
    this.partial = undefined;
    this.failure = err.shifted(delta);
    throw this.failure;
  }
}

/** Splits a byte stream into whole messages, returned as bytes. */
export class Framer extends FrameReader<Uint8Array> {
  constructor(options: FramerOptions = {}) {
    super(options);
  }

  /** A message inside one chunk is a view into it; a straddling one is its copy, as is. */
  protected deliver(b: Uint8Array, start: number, end: number): Uint8Array {
    return start === 0 && end === b.byteLength ? b : b.subarray(start, end);
  }
}
