/**
 * Stream framer: push TCP chunks in, get whole messages out (design 6.1.d: a client never
 * sees a partial message).
 *
 * A two-state machine, one method per state in wire order: `readHeader` then `readBody`.
 * A state short of bytes returns and waits; running short is never an error. Every
 * violation goes through `failWith`, which marks the framer failed: after that, input is
 * refused with ERR_STREAM_FAILED, never half-parsed.
 *
 * Messages completed before a violation are never lost: when a chunk holds whole messages
 * and then a violation, `push` returns those messages, sets `error` at once, and the next
 * `push` or `end` raises the violation (with its own code and offset). A caller that reads
 * nothing more checks `error` after each push.
 *
 * The length limit is checked as soon as a header is complete, before one body byte is
 * buffered. Messages inside one chunk are returned as views (no copy); only bytes that
 * straddle chunks are copied, into a view of exactly the message's length. Those views are
 * carved from a slab the framer owns (32 KiB, allocated when the previous one is full), as
 * Node carves small Buffers from its pool: one ArrayBuffer per straddling message took a
 * quarter of the framing time (256-byte messages in 1460-byte chunks). Messages above 4 KiB
 * get a buffer of their own; a kept small message keeps its slab alive, as a view into a
 * chunk keeps the chunk alive.
 *
 * @module
 */
import { CodecError } from './errors.js';
import { HEADER_SIZE } from './gen/protocol.js';
import { checkHeaderAt, type DecodeOptions } from './message.js';

/** Options of a {@link Framer}. */
export type FramerOptions = Pick<DecodeOptions, 'maxMessage' | 'version'>;

/** Size of a straddling-message slab, in bytes. */
const SLAB_BYTES = 32768;
/** Largest straddling message copied into the slab; larger ones get their own buffer. */
const SLAB_MESSAGE_MAX = 4096;

/**
 * A plain view of `b[start, end)` for copying from. `subarray` of a Node Buffer builds a
 * Buffer through its class constructor, which costs more than the copy of a few hundred bytes.
 */
function bytesOf(b: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}

const enum State {
  Header,
  Body,
  Failed,
}

/** Splits a byte stream into whole messages. */
export class Framer {
  private readonly options: FramerOptions;
  private state = State.Header;
  /** Header bytes that straddle chunks. */
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  /** Message that straddles chunks: exactly `length` bytes once complete. */
  private partial: Uint8Array | undefined;
  private partialFill = 0;
  /** Stream offset of the first byte not yet consumed. */
  private consumed = 0;
  private failure: CodecError | undefined;
  /** The failure was found after messages of the same push: the next call raises it. */
  private failurePending = false;
  /** Slab that straddling messages are copied into, and the bytes of it already handed out. */
  private slab: ArrayBuffer | undefined;
  private slabUsed = 0;

  constructor(options: FramerOptions = {}) {
    this.options = options;
  }

  /** Bytes held for an incomplete message. Never more than the message length limit. */
  get buffered(): number {
    return this.state === State.Body ? this.partialFill : this.headFill;
  }

  /** Stream offset of the next byte to be read. */
  get offset(): number {
    return this.consumed;
  }

  /** The error that stopped the framer, if any. */
  get error(): CodecError | undefined {
    return this.failure;
  }

  /** Changes the negotiated version that every further header must carry. */
  setVersion(version: number | undefined): void {
    (this.options as { version?: number }).version = version;
  }

  /**
   * Feeds a chunk; returns the messages it completed, in order.
   *
   * @throws CodecError on the first violation (offset in stream bytes) when no message
   *   precedes it in the chunk, else on the next call; ERR_STREAM_FAILED on any push after
   *   that.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.state === State.Failed) this.raiseFailed();
    const out: Uint8Array[] = [];
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

  private raiseFailed(): never {
    if (this.failurePending && this.failure !== undefined) {
      this.failurePending = false;
      throw this.failure;
    }
    throw new CodecError('ERR_STREAM_FAILED', `stream already failed: ${this.failure?.code ?? ''}`, { offset: this.consumed });
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
    if (held > 0) this.failWith(new CodecError('ERR_STREAM_TRUNCATED', `stream ended inside a message (${held} bytes held)`, { offset: this.consumed }), 0);
  }

  private readHeader(chunk: Uint8Array, pos: number, out: Uint8Array[]): number {
    if (this.headFill === 0) {
      // Fast path: whole messages inside this chunk are returned as views.
      const size = chunk.byteLength;
      while (size - pos >= HEADER_SIZE) {
        const length = this.check(chunk, pos);
        if (size - pos < length) return this.startPartial(chunk, pos, length);
        out.push(chunk.subarray(pos, pos + length));
        pos += length;
        this.consumed += length;
      }
      if (pos === size) return pos;
    }
    const take = Math.min(HEADER_SIZE - this.headFill, chunk.byteLength - pos);
    this.head.set(bytesOf(chunk, pos, pos + take), this.headFill);
    this.headFill += take;
    pos += take;
    if (this.headFill < HEADER_SIZE) return pos;
    const length = this.check(this.head, 0);
    this.headFill = 0;
    this.partial = this.allocate(length);
    this.partial.set(this.head, 0);
    this.partialFill = HEADER_SIZE;
    this.state = State.Body;
    if (length === HEADER_SIZE) this.finishPartial(out);
    return pos;
  }

  private readBody(chunk: Uint8Array, pos: number, out: Uint8Array[]): number {
    const partial = this.partial!;
    const take = Math.min(partial.byteLength - this.partialFill, chunk.byteLength - pos);
    partial.set(bytesOf(chunk, pos, pos + take), this.partialFill);
    this.partialFill += take;
    if (this.partialFill === partial.byteLength) this.finishPartial(out);
    return pos + take;
  }

  private startPartial(chunk: Uint8Array, pos: number, length: number): number {
    const partial = this.allocate(length);
    partial.set(bytesOf(chunk, pos, chunk.byteLength));
    this.partial = partial;
    this.partialFill = chunk.byteLength - pos;
    this.state = State.Body;
    return chunk.byteLength;
  }

  /** Room for a straddling message of `length` bytes (checked against the limit already). */
  private allocate(length: number): Uint8Array {
    if (length > SLAB_MESSAGE_MAX) return new Uint8Array(length);
    if (this.slab === undefined || this.slabUsed + length > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.slabUsed = 0;
    }
    const view = new Uint8Array(this.slab, this.slabUsed, length);
    this.slabUsed += length;
    return view;
  }

  private finishPartial(out: Uint8Array[]): void {
    const partial = this.partial!;
    out.push(partial);
    this.consumed += partial.byteLength;
    this.partial = undefined;
    this.partialFill = 0;
    this.state = State.Header;
  }

  /** Header checks; a violation fails the stream with the error moved to stream offsets. */
  private check(b: Uint8Array, o: number): number {
    try {
      return checkHeaderAt(b, o, this.options);
    } catch (err) {
      return this.failWith(err as CodecError, this.consumed - o);
    }
  }

  /** The failure funnel: stops the framer and raises one coded error. */
  private failWith(err: CodecError, delta: number): never {
    this.state = State.Failed;
    this.partial = undefined;
    this.failure = err.shifted(delta);
    throw this.failure;
  }
}
