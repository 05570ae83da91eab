/**
 * One connection to the peer under test, as the suite sees it: sends messages and raw
 * bytes, records both directions in the case transcript, and waits for what the peer
 * sends with a deadline.
 *
 * @module
 */
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  Framer,
  HEADER_SIZE,
  Limits,
  messageToJson,
  toHex,
  type ChannelName,
  type DecodedMessage,
  type MessageInput,
  type MessageName,
} from '../../../codec/src/index.js';
import type { Connection } from '../../../reference-impl/src/transport.js';
import type { TranscriptEntry } from '../report.js';
import { WireOracle, type ViolationSink } from './oracle.js';

/** Largest hex shown per transcript line, in bytes. */
const HEX_LIMIT = 96;

/** Records both channels' traffic of a case, in order. */
export class Transcript {
  /** Entries in the order they happened. */
  readonly entries: TranscriptEntry[] = [];
  private readonly start = performance.now();

  /** Adds an entry. */
  add(
    dir: TranscriptEntry['dir'],
    conn: number,
    channel: ChannelName | null,
    bytes: Uint8Array | undefined,
    decoded: unknown,
  ): void {
    const length = bytes?.byteLength ?? 0;
    const shown = bytes === undefined ? '' : toHex(bytes.subarray(0, HEX_LIMIT)) + (length > HEX_LIMIT ? '…' : '');
    this.entries.push({
      t: Math.round(performance.now() - this.start),
      dir,
      channel,
      conn,
      hex: shown,
      length,
      decoded,
    });
  }

  /** A harness note, for context in failure reports. */
  note(text: string): void {
    this.add('note', 0, null, undefined, text);
  }
}

/** Something the peer did on a connection. */
export type Incoming =
  | {
      /** A whole message arrived. */
      readonly kind: 'message';
      /** The decoded message. */
      readonly message: DecodedMessage;
      /** Its bytes. */
      readonly bytes: Uint8Array;
    }
  | {
      /** Bytes arrived that are not a valid message. */
      readonly kind: 'garbage';
      /** Why the bytes are not a message. */
      readonly error: CodecError;
      /** The offending bytes, when known. */
      readonly bytes: Uint8Array | undefined;
    }
  | {
      /** The peer closed the connection (or it failed). */
      readonly kind: 'closed';
      /** The socket error, for a failure. */
      readonly error: Error | undefined;
    };

/** A peer-side outcome did not come in time. */
export class WaitTimeout extends Error {
  /** Always `ERR_HARNESS_TIMEOUT`. */
  readonly code = 'ERR_HARNESS_TIMEOUT';
  constructor(what: string, ms: number) {
    super(`${what}: nothing within ${ms} ms`);
  }
}

/** One connection to the peer under test. */
export class Wire {
  /** Channel the connection carries, once known (null before the handshake says). */
  channel: ChannelName | null;
  /** Next sequence number the suite sends. */
  seq = 0;
  /** Version written in headers (the negotiated one once known). */
  version = 1;
  /** True once the connection closed. */
  closed = false;
  /** The oracle that checks everything the peer sends on this connection. */
  readonly oracle: WireOracle;
  /** Largest message the suite advertised on this connection (what it decodes up to). */
  private advertised: number = Limits.defaultMaxMessage;
  private readonly queue: Incoming[] = [];
  private waiter: (() => void) | undefined;
  // The suite observes: it reads every version and lets the oracle and the cases judge it.
  private framer = new Framer({ maxMessage: this.advertised, anyVersion: true });
  private garbage = false;
  /** Outgoing bytes not yet a whole message (see recordSent). */
  private out: Uint8Array = new Uint8Array(0);
  private outHeaderSeen = false;
  private outBroken = false;
  /** Bytes received so far (the stream offset of the next chunk). */
  private received = 0;

  /** Bytes the peer has sent on this connection so far. */
  get bytesReceived(): number {
    return this.received;
  }

  /**
   * @param connection - the connection to the peer.
   * @param number - the connection's number in the case, for the transcript.
   * @param channel - the channel it carries, when known.
   * @param transcript - where its traffic is recorded.
   * @param sink - where the oracle reports what the peer breaks.
   * @param allowProbe - false when the case did not declare that it needs the probe.
   */
  constructor(
    readonly connection: Connection,
    readonly number: number,
    channel: ChannelName | null,
    private readonly transcript: Transcript,
    sink: ViolationSink = () => undefined,
    private readonly allowProbe = true,
  ) {
    this.channel = channel;
    this.oracle = new WireOracle(sink, () => this.channel);
    connection.attach({ data: this.onData, drain: () => undefined, close: this.onClose });
  }

  /**
   * The largest message the suite advertises on this connection (in its HELLO or
   * HELLO-ACK): the suite decodes up to it, and a larger message from the peer breaks
   * KKCM-SESS-11. Call before the HELLO or HELLO-ACK that advertises it.
   */
  advertise(maxMessage: number): void {
    this.advertised = maxMessage;
    if (this.framer.buffered === 0 && this.framer.error === undefined)
      this.framer = new Framer({ maxMessage, anyVersion: true });
  }

  /** The handshake completed in `version`: every later header must carry it (KKCM-HDR-4). */
  bound(version: number): void {
    this.version = version;
    this.oracle.negotiated = version;
  }

  /**
   * Sends a message with the next sequence number (unless `seq` is given).
   *
   * @throws Error when the case sends a probe message without declaring that it needs the probe.
   */
  send(msg: MessageInput): Uint8Array {
    if (!this.allowProbe && msg.name.startsWith('probe.'))
      throw new Error(`the case sends ${msg.name} but does not declare needs: ['conformanceProbe']`);
    const seq = msg.seq ?? this.seq;
    const bytes = encodeMessage({ ...msg, seq, version: msg.version ?? this.version } as MessageInput, {
      maxMessage: Limits.absoluteMaxMessage,
    });
    this.seq = (seq + 1) >>> 0;
    this.sendBytes(
      bytes,
      messageToJson(decodeMessage(bytes, { maxMessage: Limits.absoluteMaxMessage, anyVersion: true })),
    );
    return bytes;
  }

  /** The bytes of the last write (or of the whole message sent in pieces). */
  lastSent: Uint8Array | undefined;

  /** Sends bytes as they are, in one write. */
  sendBytes(bytes: Uint8Array, decoded: unknown = 'raw bytes'): void {
    this.lastSent = bytes;
    this.transcript.add('out', this.number, this.channel, bytes, decoded);
    this.recordSent(bytes);
    this.connection.write([bytes]);
  }

  /**
   * Tells the oracle what the suite sent. The outgoing bytes are read as a stream, as the
   * peer reads them: a message cut across writes is recorded once whole (its header as soon
   * as it is complete, for an ERROR that names it).
   */
  private recordSent(bytes: Uint8Array): void {
    if (this.outBroken) return;
    this.out = this.out.byteLength === 0 ? Uint8Array.from(bytes) : Buffer.concat([this.out, bytes]);
    while (this.out.byteLength >= HEADER_SIZE) {
      const view = new DataView(this.out.buffer, this.out.byteOffset, HEADER_SIZE);
      const length = view.getUint32(8);
      if (!this.outHeaderSeen) {
        if (this.out[6] === 1 && this.out[7] === 1) this.oracle.helloMaxVersion = this.out[4];
        this.oracle.sentHeader(this.out.subarray(0, HEADER_SIZE));
        this.outHeaderSeen = true;
      }
      if (length < HEADER_SIZE || length > Limits.absoluteMaxMessage) {
        // The suite broke the stream on purpose: nothing after it is read by the peer either.
        this.outBroken = true;
        return;
      }
      if (this.out.byteLength < length) return;
      const frame = this.out.subarray(0, length);
      let message: DecodedMessage | undefined;
      try {
        message = decodeMessage(frame, { maxMessage: Limits.absoluteMaxMessage, anyVersion: true });
      } catch {
        message = undefined;
      }
      this.oracle.sentBytes(frame, message);
      this.out = this.out.subarray(length);
      this.outHeaderSeen = false;
    }
  }

  /** Sends bytes in several writes, one turn of the event loop apart. */
  async sendInPieces(bytes: Uint8Array, pieceSize: number, decoded: unknown = 'raw bytes'): Promise<void> {
    this.recordSent(bytes);
    this.transcript.add('out', this.number, this.channel, bytes, {
      sentIn: `${Math.ceil(bytes.byteLength / pieceSize)} writes of ${pieceSize} byte(s)`,
      message: decoded,
    });
    for (let i = 0; i < bytes.byteLength; i += pieceSize) {
      if (this.closed) return;
      this.connection.write([bytes.subarray(i, i + pieceSize)]);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Waits for the next thing the peer does (a message, garbage, or the close).
   *
   * @throws WaitTimeout when nothing happens within `ms`.
   */
  async next(ms: number, what = 'a message from the peer'): Promise<Incoming> {
    const deadline = performance.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) throw new WaitTimeout(what, ms);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve();
        };
      });
    }
    const item = this.queue.shift()!;
    if (item.kind === 'closed') this.queue.unshift(item); // a close stays observable
    return item;
  }

  /**
   * Waits for a message satisfying `match`, returning it and every message skipped on the
   * way. A close or garbage before it is returned as the outcome instead.
   */
  async until(
    match: (m: DecodedMessage) => boolean,
    ms: number,
    what: string,
  ): Promise<{
    /** The message that matched. */
    found?: DecodedMessage;
    /** Messages that arrived before it and did not match. */
    skipped: DecodedMessage[];
    /** What came instead of a match: a close or garbage. */
    other?: Incoming;
  }> {
    const skipped: DecodedMessage[] = [];
    const deadline = performance.now() + ms;
    for (;;) {
      const item = await this.next(Math.max(0, deadline - performance.now()), what);
      if (item.kind !== 'message') return { skipped, other: item };
      if (match(item.message)) return { found: item.message, skipped };
      skipped.push(item.message);
    }
  }

  /** Waits for the next message named `name`; skipped messages are returned too. */
  async expectMessage<N extends MessageName>(
    name: N,
    ms: number,
    extra?: (m: DecodedMessage) => boolean,
  ): Promise<{
    /** The message that matched. */
    found?: Extract<
      DecodedMessage,
      {
        /** The name asked for. */
        name: N;
      }
    >;
    /** Messages that arrived before it and did not match. */
    skipped: DecodedMessage[];
    /** What came instead of a match: a close or garbage. */
    other?: Incoming;
  }> {
    const r = await this.until((m) => m.name === name && (extra?.(m) ?? true), ms, name);
    return r as { found?: Extract<DecodedMessage, { name: N }>; skipped: DecodedMessage[]; other?: Incoming };
  }

  /** True once the peer closed this connection. */
  get peerClosed(): boolean {
    return this.queue.some((q) => q.kind === 'closed');
  }

  /** Closes our side after flushing. */
  end(): void {
    this.connection.end();
  }

  /** Closes at once. */
  destroy(): void {
    this.connection.destroy();
  }

  private push(item: Incoming): void {
    this.queue.push(item);
    this.waiter?.();
  }

  /** The bytes from where the framer stopped: the failing header, when it is in this chunk. */
  private failedAt(chunk: Uint8Array, chunkStart: number): Uint8Array {
    const at = this.framer.offset - chunkStart;
    return at >= 0 && at < chunk.byteLength ? chunk.subarray(at) : chunk;
  }

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.garbage) return;
    const chunkStart = this.received;
    this.received += chunk.byteLength;
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.onGarbage(err, this.failedAt(chunk, chunkStart));
      return;
    }
    for (const frame of frames) {
      try {
        const message = decodeMessage(frame, { maxMessage: this.advertised, anyVersion: true });
        this.transcript.add('in', this.number, this.channel, frame, messageToJson(message));
        this.oracle.received(message);
        this.push({ kind: 'message', message, bytes: frame });
      } catch (err) {
        this.onGarbage(err, frame);
        return;
      }
    }
    if (this.framer.error !== undefined) this.onGarbage(this.framer.error, this.failedAt(chunk, chunkStart));
  };

  private onGarbage(err: unknown, bytes: Uint8Array | undefined): void {
    this.garbage = true;
    const error = err instanceof CodecError ? err : new CodecError('ERR_BAD_INPUT', String(err));
    this.transcript.add('in', this.number, this.channel, bytes, { undecodable: `${error.code}: ${error.message}` });
    this.oracle.garbage(error, bytes ?? this.framer.failedMessage, this.advertised);
    this.push({ kind: 'garbage', error, bytes });
  }

  private readonly onClose = (error?: Error): void => {
    this.closed = true;
    this.transcript.add(
      'note',
      this.number,
      this.channel,
      undefined,
      error === undefined ? 'peer closed the connection' : `connection failed: ${error.message}`,
    );
    this.push({ kind: 'closed', error });
  };
}
