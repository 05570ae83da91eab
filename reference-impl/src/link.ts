/**
 * One KKCM connection (one channel): framing, sequence numbers, the per-connection half of
 * the handshake, control messages, the output queue and batching. Session-wide decisions
 * (binding, dispatch, cleanup) belong to the owner, the peer. The queue itself and the
 * recycled buffers are in `link-output.ts`. Which messages belong to the handshake, and the
 * fields that name the channel and version, come from the spec (`HANDSHAKE_MESSAGES`).
 *
 * Why it stays one file past ~500 lines: what is left is one state machine of one
 * connection (handshake → bound → closing → closed). The receive path, the handshake, the
 * failure funnel and closing all read and change the same state, sequence numbers and
 * timers; split, each part would need the others' private fields.
 *
 * @module
 */
import {
  CodecError,
  ChannelId,
  decodeClientMessage,
  encodedLength,
  encodeInto,
  encodeMessage,
  encodeSplit,
  ERROR_CODES,
  ERROR_VALUES,
  HANDSHAKE_MESSAGES,
  HEADER_SIZE,
  Limits,
  PROTOCOL_VERSIONS,
  RoutingDecoder,
  type ChannelName,
  type ClientMessage,
  type ControlErrorBody,
  type ControlHelloAckBody,
  type ControlHelloBody,
  type ControlHelloRejectBody,
  type ControlShutdownBody,
  type EncodeOptions,
  type ErrorCode,
  type Header,
  type IgnoredMessage,
  type MessageInput,
  type RoutedMessage,
  type SplitMessage,
} from '../../codec/src/index.js';
import { Timer, type Clock } from './clock.js';
import { PeerError } from './errors.js';
import type { PeerFaults } from './faults.js';
import type { Trigger } from './reasons.js';
import { addTraffic, type TrafficCells } from './stats.js';
import { BufferRecycler, OutputQueue, TRANSFER_MIN } from './link-output.js';
import type { Connection } from './transport.js';

/** Which side opened the connection. */
export type LinkSide = 'connector' | 'acceptor';

/** Link states, in order. */
export type LinkState = 'handshake' | 'bound' | 'closing' | 'closed';

/** The owner's answer to a HELLO. */
export type HelloDecision =
  { readonly accept: Omit<ControlHelloAckBody, 'channel'> } | { readonly reject: Omit<ControlHelloRejectBody, never> };

/** What a link reports to its owner. */
export interface LinkOwner {
  /** Acceptor: a well-formed HELLO arrived; decide. */
  onHello(link: Link, hello: ControlHelloBody): HelloDecision;
  /** The handshake completed on this link. */
  onBound(link: Link): void;
  /** Connector: the peer refused the HELLO. */
  onRejected(link: Link, reject: ControlHelloRejectBody): void;
  /** Connector: a consistent HELLO-ACK arrived; why it is refused, or undefined [KKCM-SESS-13]. */
  checkHelloAck(link: Link, ack: ControlHelloAckBody): string | undefined;
  /**
   * A client or probe message arrived on a bound link, its body uninterpreted: KKCM hands it
   * to the client whole (design 7.2.e). [KKCM-DISP-3]
   */
  onMessage(link: Link, msg: ClientMessage): void;
  /** A message of unknown type was skipped under mayIgnore. */
  onIgnored(link: Link, msg: IgnoredMessage): void;
  /** The peer confirmed delivery up to `upTo`. */
  onAck(link: Link, upTo: number): void;
  /** The peer did not accept the message numbered `seq` (`code`: numeric error code). */
  onNack(link: Link, seq: number, code: number): void;
  /** The peer answered an ECHO-REQUEST. */
  onEchoReply(link: Link, token: number, payload: Uint8Array): void;
  /** The peer is closing deliberately. */
  onShutdown(link: Link, body: ControlShutdownBody): void;
  /** The link is down (before or after binding); `trigger` says why. Called once. */
  onDown(link: Link, trigger: Trigger, error?: PeerError | CodecError): void;
  /** Bytes left the output queue: waiting senders may proceed. */
  onQueueSpace(link: Link): void;
  /**
   * The statistics cells messages of `type.subtype` on this link count in, or undefined while
   * its channel is unknown. The link adds to them itself (see {@link addTraffic}): each
   * message it reads as soon as it is decoded, before anything else sees it; the messages it
   * writes per run of one type in a batch, as the batch goes to the transport, and its queue's
   * high-water mark with them. Asked again whenever the type or the channel changes.
   */
  counters(link: Link, type: number, subtype: number): TrafficCells | undefined;
  /**
   * True while someone wants every message through {@link LinkOwner.onTrace}; asked once per
   * chunk read and once per batch written.
   */
  readonly tracing: boolean;
  /**
   * A message was written (`tx`) or read (`rx`), for tracing; called only while
   * {@link LinkOwner.tracing} is true, after it was counted.
   */
  onTrace(link: Link, direction: 'tx' | 'rx', msg: RoutedMessage | undefined, frame: Uint8Array): void;
}

/** Settings of a link. */
export interface LinkOptions {
  readonly side: LinkSide;
  /** Channel, known to the connector from the start and to the acceptor after HELLO. */
  readonly channel?: ChannelName;
  readonly clock: Clock;
  /** Largest message we accept. */
  readonly maxMessage: number;
  readonly handshakeTimeoutMs: number;
  readonly lingerMs: number;
  /** Bound of the output queue, in messages and in bytes. */
  readonly queueMessages: number;
  readonly queueBytes: number;
  /** Deliberate faults, for the conformance suite's self-test only (see {@link PeerFaults}). */
  readonly faults?: PeerFaults | undefined;
}

/**
 * The value of a handshake message's body field the spec names in `HANDSHAKE_MESSAGES`
 * (`channelField` or `versionField`), or undefined when the message is not a handshake
 * message, names no such field, or the field holds no number.
 */
function announced(msg: RoutedMessage, what: 'channelField' | 'versionField'): number | undefined {
  const field = msg.name === null ? undefined : HANDSHAKE_MESSAGES[msg.name]?.[what];
  const value = field === undefined ? undefined : (msg.body as unknown as Readonly<Record<string, unknown>>)[field];
  return typeof value === 'number' ? value : undefined;
}

/** The channel a handshake message names, when it names a known one. */
function announcedChannel(msg: RoutedMessage): ChannelName | undefined {
  const id = announced(msg, 'channelField');
  return id === ChannelId.send ? 'send' : id === ChannelId.receive ? 'receive' : undefined;
}

const isHandshakeMessage = (msg: RoutedMessage): boolean =>
  msg.name !== null && HANDSHAKE_MESSAGES[msg.name] !== undefined;

/** One KKCM connection. */
export class Link {
  readonly connection: Connection;
  private readonly options: LinkOptions;
  private readonly owner: LinkOwner;
  private readonly decoder: RoutingDecoder;
  private readonly handshakeTimer: Timer;
  private readonly lingerTimer: Timer;
  private stateValue: LinkState = 'handshake';
  private channelValue: ChannelName | undefined;
  private rxSeq = 0;
  private txSeq = 0;
  private versionValue: number | undefined;
  /** Encoder options with the largest message the peer accepts: one object for every send. */
  private encodeOptionsValue: EncodeOptions = { maxMessage: Limits.defaultMaxMessage };
  /** Version range of our HELLO (connector). */
  private offered = { min: 0, max: 255 };
  /** Node name the peer gave in its HELLO-ACK (connector). */
  peerNodeName: string | undefined;
  /** Features both sides support, once bound. */
  features = 0;
  /** Session id once known. */
  sessionId: bigint | undefined;
  /** Encoded messages waiting for the transport. */
  private readonly queue = new OutputQueue();
  /** Buffers of large messages, reused once written. */
  private readonly recycler = new BufferRecycler();
  private writable = true;
  private flushScheduled = false;
  /** Whether the owner traces, asked once per batch written. */
  private tracingTx = false;
  private ackUpTo: number | undefined;
  /** The cells the last type read counts in, and that type (`type << 8 | subtype`; -1: ask again). */
  private rxCells: TrafficCells | undefined;
  private rxCellsKey = -1;
  /** Whether the owner traces, asked once per chunk read. */
  private tracingRx = false;
  private downReported = false;
  /** Last time input arrived (clock ms). */
  lastInputAt: number;
  /** Last time output left for the transport or the transport drained (clock ms). */
  lastOutputAt: number;

  constructor(connection: Connection, options: LinkOptions, owner: LinkOwner) {
    this.connection = connection;
    this.options = options;
    this.owner = owner;
    this.channelValue = options.channel;
    // Until a version is negotiated, any header version gets through the decoder: handshake
    // messages are readable in every version (KKCM-SESS-3); onMessage refuses the rest.
    // Client bodies are not decoded: they are the clients' (design 7.2.e) [KKCM-DISP-3].
    this.decoder = new RoutingDecoder({
      maxMessage: options.maxMessage,
      anyVersion: true,
      channel: this.checkedChannel(),
      // A message's bytes are its handler's until the handler returns (what it keeps, it
      // copies): a large message that straddled reads reuses the previous one's buffer.
      transient: true,
    });
    this.handshakeTimer = new Timer(options.clock);
    this.lingerTimer = new Timer(options.clock);
    this.lastInputAt = options.clock.now();
    this.lastOutputAt = this.lastInputAt;
    this.handshakeTimer.start(options.handshakeTimeoutMs, this.onHandshakeTimeout);
    connection.attach({ data: this.onData, drain: this.onDrain, close: this.onClose });
  }

  /** Highest queue depth seen, in messages. */
  get highWater(): number {
    return this.queue.highWater;
  }

  /** Current state. */
  get state(): LinkState {
    return this.stateValue;
  }

  /** Channel this link carries, once known. */
  get channel(): ChannelName | undefined {
    return this.channelValue;
  }

  /** Largest message the peer accepts (from its HELLO or HELLO-ACK). */
  get peerMaxMessage(): number {
    return this.encodeOptionsValue.maxMessage!;
  }

  private set peerMaxMessage(bytes: number) {
    this.encodeOptionsValue = { maxMessage: bytes };
  }

  /**
   * Encodes a message for this link (within the peer's message limit), for
   * {@link Link.enqueueFrame}. A large message goes into a buffer the link recycles once the
   * transport is done with it (see {@link BufferRecycler}).
   *
   * @throws CodecError when the message cannot be encoded or exceeds the peer's limit.
   */
  encode(msg: MessageInput): Uint8Array {
    return this.encodeWhole(msg, encodedLength(msg));
  }

  /**
   * {@link Link.encode} for a sender that hands its payload over: a message whose trailing
   * bytes field (a PACKET's packet, a SOCKET-DATA's or an OPAQUE's data) holds at least
   * {@link TRANSFER_MIN} bytes is encoded as a head and those bytes as they are, for
   * {@link Link.enqueueFrame} to write one after the other without copying them; any other
   * message is encoded whole, one that is too short for such a tail at the cost of one
   * comparison.
   *
   * @throws CodecError as {@link Link.encode}.
   */
  encodeTransfer(msg: MessageInput): Uint8Array | SplitMessage {
    const length = encodedLength(msg);
    if (length >= HEADER_SIZE + TRANSFER_MIN) {
      const split = encodeSplit(msg, this.encodeOptionsValue, TRANSFER_MIN);
      if (split !== undefined) return split;
    }
    return this.encodeWhole(msg, length);
  }

  /** Encodes `msg`, `length` bytes long, into a buffer of the recycler's. */
  private encodeWhole(msg: MessageInput, length: number): Uint8Array {
    const b = this.recycler.alloc(length);
    encodeInto(msg, b, 0, length, this.encodeOptionsValue);
    return b;
  }

  /** Negotiated version, once bound. */
  get version(): number | undefined {
    return this.versionValue;
  }

  /** True while the link reads and writes (handshake or bound). */
  isOpen(): boolean {
    return this.stateValue === 'handshake' || this.stateValue === 'bound';
  }

  /** Messages waiting in the output queue. */
  get queueDepth(): number {
    return this.queue.depth;
  }

  /** Bytes waiting in the output queue. */
  get queueBytes(): number {
    return this.queue.bytes;
  }

  /** True when the output queue has room for a message of `size` bytes. */
  hasRoom(size: number): boolean {
    return this.queue.depth < this.options.queueMessages && this.queue.bytes + size <= this.options.queueBytes;
  }

  /** Connector: sends the HELLO that opens the handshake. */
  sendHello(hello: ControlHelloBody): void {
    this.sessionId = hello.sessionId;
    this.offered = { min: hello.minVersion, max: hello.maxVersion };
    this.enqueue({ name: 'control.hello', body: hello, version: hello.maxVersion });
  }

  /**
   * Encodes and queues a message with the next sequence number; the caller checked room.
   *
   * @returns the sequence number it was given.
   * @throws CodecError when the message cannot be encoded or exceeds the peer's limit.
   */
  enqueue(msg: MessageInput): number {
    return this.enqueueFrame(encodeMessage(msg, this.encodeOptionsValue));
  }

  /**
   * Queues an already encoded message, stamping the next sequence number and the
   * negotiated version into its header (the caller checked room and the peer's limit). The
   * link owns the bytes from then on: it writes into them, and may reuse their memory once
   * they are written.
   *
   * A message encoded in two parts ({@link Link.encodeTransfer}) is its head, `bytes`, and its
   * `tail`, which the link writes right behind it and never changes.
   *
   * @returns the sequence number it was given.
   */
  enqueueFrame(bytes: Uint8Array, tail?: Uint8Array): number {
    const seq = this.txSeq;
    if (this.versionValue !== undefined) bytes[4] = this.versionValue;
    bytes[12] = seq >>> 24;
    bytes[13] = seq >>> 16;
    bytes[14] = seq >>> 8;
    bytes[15] = seq;
    this.txSeq = (seq + 1) >>> 0;
    this.queue.push(bytes, tail);
    this.scheduleFlush();
    return seq;
  }

  /** Sends ECHO-REQUEST. */
  sendEcho(token: number, payload: Uint8Array): void {
    this.enqueue({ name: 'control.echoRequest', body: { token, payload } });
  }

  /**
   * Queues a reply the protocol requires; a reply that cannot be encoded (for example an
   * ECHO-REPLY larger than the peer's own limit) is the peer's protocol error, not a crash.
   */
  private reply(msg: MessageInput, request: Header): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(msg, this.encodeOptionsValue);
    } catch (err) {
      this.violation(err, request);
      return;
    }
    this.enqueueReply(bytes);
  }

  /**
   * Queues a reply that the other side's input obliges us to send (ECHO-REPLY, ACK, NACK).
   * Client sends stop at the queue's bound; replies may go past it, so that a full queue of
   * client data never costs the session, but not past twice the bound: a side that keeps
   * asking and never reads would otherwise grow our queue without end. Past it the link is
   * destroyed with ERR_PEER_NOT_READING (cleanup detail deadConnection).
   */
  private enqueueReply(bytes: Uint8Array): void {
    if (
      this.queue.depth < 2 * this.options.queueMessages &&
      this.queue.bytes + bytes.byteLength <= 2 * this.options.queueBytes
    ) {
      this.enqueueFrame(bytes);
      return;
    }
    const text = `the peer does not read: ${this.queue.depth} messages (${this.queue.bytes} bytes) queued, twice the queue's bound`;
    this.reportDown(
      { reason: 'socketIoError', detail: 'deadConnection', text },
      new PeerError('ERR_PEER_NOT_READING', text),
    );
    this.finish();
    this.connection.destroy();
  }

  /** Reports an ackRequested message that was not accepted; goes out before any later ACK. */
  sendNack(seq: number, code: ErrorCode): void {
    if (this.stateValue === 'bound')
      this.enqueueReply(encodeMessage({ name: 'control.nack', body: { seq, code: ERROR_VALUES[code] } }));
  }

  /** Confirms delivery of an ackRequested message; ACKs are coalesced per turn. */
  scheduleAck(seq: number): void {
    const first = this.ackUpTo === undefined;
    this.ackUpTo = seq;
    if (first) {
      setImmediate(() => {
        const upTo = this.ackUpTo;
        this.ackUpTo = undefined;
        if (upTo !== undefined && this.stateValue === 'bound')
          this.enqueueReply(encodeMessage({ name: 'control.ack', body: { upTo } }));
      });
    }
  }

  /**
   * Closes deliberately: SHUTDOWN (when given) is queued behind pending output, then the
   * connection ends; it is destroyed if it has not closed within the linger time.
   */
  close(trigger: Trigger, shutdown?: ControlShutdownBody): void {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    if (shutdown !== undefined && this.stateValue === 'bound') {
      try {
        this.enqueue({ name: 'control.shutdown', body: shutdown });
      } catch {
        // Best effort: the connection closes either way.
      }
    }
    this.beginClosing(trigger);
  }

  /** Closes at once, without flushing. */
  destroy(trigger: Trigger): void {
    if (this.stateValue === 'closed') return;
    this.reportDown(trigger);
    this.finish();
    this.connection.destroy();
  }

  // --- input ---

  private readonly onData = (chunk: Uint8Array): void => {
    if (this.stateValue === 'closed') return;
    this.lastInputAt = this.options.clock.now();
    // Closing: what still arrives is read and dropped (as after a violation, nothing more is handled).
    if (this.stateValue === 'closing') return;
    this.tracingRx = this.owner.tracing;
    try {
      // One pass: each message is decoded where it lies and handled before the next one's
      // header is checked, so that what the handshake changes (version, channel) applies
      // from the very next message, in the same chunk too.
      this.decoder.pushEach(chunk, this.onDecoded);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      // A violation after whole messages of the same chunk: they were handled, now fail,
      // quoting the message when its header was sound.
      this.protocolError(err, this.decoder.failedMessage);
    }
  };

  /** The channel whose static mapping incoming messages must respect (none while unknown). */
  private checkedChannel(): ChannelName | undefined {
    return this.options.faults?.acceptWrongChannel === true ? undefined : this.channelValue;
  }

  /** The acceptor learns its channel (from a HELLO): checked from the next message on, counted from this one. */
  private nameChannel(channel: ChannelName | undefined): void {
    this.channelValue = channel;
    this.decoder.setChannel(this.checkedChannel());
    this.rxCellsKey = -1;
  }

  /** A message that passed every check of the decoder: `b[start, end)` are its bytes. */
  private readonly onDecoded = (msg: RoutedMessage, b: Uint8Array, start: number, end: number): void => {
    if (!this.isOpen()) return;
    const header = msg.header;
    if (this.channelValue === undefined && isHandshakeMessage(msg)) {
      // Name the channel before counting and tracing, so that the HELLO itself is on it.
      this.nameChannel(announcedChannel(msg));
    }
    const key = (header.type << 8) | header.subtype;
    if (key !== this.rxCellsKey) {
      this.rxCells = this.owner.counters(this, header.type, header.subtype);
      this.rxCellsKey = key;
    }
    if (this.rxCells !== undefined) addTraffic(this.rxCells, 'rx', 1, header.length);
    if (this.tracingRx)
      this.owner.onTrace(
        this,
        'rx',
        msg,
        start === 0 && end === b.byteLength ? b : new Uint8Array(b.buffer, b.byteOffset + start, end - start),
      );
    const v = header.version;
    if (
      this.stateValue === 'handshake' &&
      !isHandshakeMessage(msg) &&
      (v < PROTOCOL_VERSIONS.min || v > PROTOCOL_VERSIONS.max)
    ) {
      this.violation(
        new CodecError(
          'ERR_UNSUPPORTED_VERSION',
          `version ${v}, expected ${PROTOCOL_VERSIONS.min}..${PROTOCOL_VERSIONS.max}`,
          { offset: 4, path: 'header.version' },
        ),
        header,
      );
      return;
    }
    if (header.seq !== this.rxSeq) {
      this.violation(
        new CodecError('ERR_BAD_SEQUENCE', `sequence ${header.seq}, expected ${this.rxSeq}`, {
          offset: 12,
          path: 'header.seq',
        }),
        header,
      );
      return;
    }
    this.rxSeq = (this.rxSeq + 1) >>> 0;
    if (this.stateValue === 'handshake') this.onHandshakeMessage(msg);
    else this.onBoundMessage(msg);
  };

  private onHandshakeMessage(msg: RoutedMessage): void {
    if (this.options.side === 'acceptor' && msg.name === 'control.hello') {
      this.onHello(msg.body, msg.header, announcedChannel(msg));
    } else if (this.options.side === 'connector' && msg.name === 'control.helloAck') {
      this.onHelloAck(msg.body, msg.header, announcedChannel(msg), announced(msg, 'versionField'));
    } else if (this.options.side === 'connector' && msg.name === 'control.helloReject') {
      this.owner.onRejected(this, msg.body);
      this.beginClosing(
        { reason: 'socketIoError', detail: 'protocolError', text: `peer rejected the HELLO: ${msg.body.text}` },
        new PeerError('ERR_PEER_REJECTED', msg.body.text),
      );
    } else if (msg.name === 'control.error') {
      this.onPeerError(msg.body);
    } else {
      this.violation(
        new CodecError('ERR_UNEXPECTED_MESSAGE', `${msg.name ?? 'unknown message'} before the handshake completed`, {
          offset: 6,
          path: 'header.type',
        }),
        msg.header,
      );
    }
  }

  /** Acceptor: a HELLO naming `channel` (in the field the spec names). */
  private onHello(hello: ControlHelloBody, header: Header, channel: ChannelName | undefined): void {
    if (hello.minVersion > hello.maxVersion || hello.sessionId === 0n || channel === undefined) {
      this.violation(
        new CodecError('ERR_BAD_HELLO', 'inconsistent HELLO (version range, session id or channel)', {
          offset: HEADER_SIZE,
          path: 'body',
        }),
        header,
      );
      return;
    }
    this.nameChannel(channel);
    this.sessionId = hello.sessionId;
    this.peerMaxMessage = Math.min(hello.maxMessage, Limits.absoluteMaxMessage);
    const decision = this.owner.onHello(this, hello);
    if (this.stateValue !== 'handshake') return;
    if ('reject' in decision) {
      // Written in the connector's own highest version: the one header it surely accepts.
      this.enqueue({ name: 'control.helloReject', body: decision.reject, version: hello.maxVersion });
      this.beginClosing({
        reason: 'socketIoError',
        detail: 'protocolError',
        text: `HELLO rejected: ${decision.reject.text}`,
      });
      return;
    }
    this.versionValue = decision.accept.version;
    this.features = decision.accept.features;
    this.decoder.setVersion(this.versionValue);
    this.enqueue({ name: 'control.helloAck', body: { ...decision.accept, channel: ChannelId[channel] } });
    this.bind();
  }

  /** Connector: a HELLO-ACK naming `channel` and `version` (in the fields the spec names). */
  private onHelloAck(
    ack: ControlHelloAckBody,
    header: Header,
    channel: ChannelName | undefined,
    version: number | undefined,
  ): void {
    if (
      ack.sessionId !== this.sessionId ||
      channel === undefined ||
      channel !== this.channelValue ||
      version === undefined ||
      version !== header.version ||
      version < this.offered.min ||
      version > this.offered.max ||
      ack.maxMessage < Limits.minMaxMessage
    ) {
      this.violation(
        new CodecError(
          'ERR_BAD_HELLO',
          'HELLO-ACK does not match the HELLO (session, channel or version) or advertises less than minMaxMessage',
          {
            offset: HEADER_SIZE,
            path: 'body',
          },
        ),
        header,
      );
      return;
    }
    const refused = this.owner.checkHelloAck(this, ack);
    if (refused !== undefined) {
      this.violation(new CodecError('ERR_BAD_HELLO', refused, { offset: HEADER_SIZE + 1, path: 'body.role' }), header);
      return;
    }
    this.versionValue = version;
    this.features = ack.features;
    this.peerNodeName = ack.nodeName;
    this.decoder.setVersion(version);
    this.peerMaxMessage = Math.min(ack.maxMessage, Limits.absoluteMaxMessage);
    this.bind();
  }

  private bind(): void {
    this.handshakeTimer.stop();
    this.stateValue = 'bound';
    this.owner.onBound(this);
  }

  private onBoundMessage(msg: RoutedMessage): void {
    if (isHandshakeMessage(msg)) {
      this.violation(
        new CodecError('ERR_UNEXPECTED_MESSAGE', `${msg.name ?? ''} after the handshake`, {
          offset: 7,
          path: 'header.subtype',
        }),
        msg.header,
      );
      return;
    }
    if ('client' in msg) {
      if (this.options.faults?.validateClientBodies === true) {
        try {
          decodeClientMessage(msg);
        } catch (err) {
          this.violation(err, msg.header);
          return;
        }
      }
      // Delivery confirmation (ACK or NACK) is the owner's: it knows whether a handler accepted it.
      this.owner.onMessage(this, msg);
      return;
    }
    switch (msg.name) {
      case null:
        this.owner.onIgnored(this, msg);
        return;
      case 'control.echoRequest':
        this.reply(
          { name: 'control.echoReply', body: { token: msg.body.token, payload: msg.body.payload } },
          msg.header,
        );
        return;
      case 'control.echoReply':
        this.owner.onEchoReply(this, msg.body.token, msg.body.payload);
        return;
      case 'control.ack':
        this.owner.onAck(this, msg.body.upTo);
        return;
      case 'control.shutdown':
        this.owner.onShutdown(this, msg.body);
        return;
      case 'control.error':
        this.onPeerError(msg.body);
        return;
      case 'control.nack':
        this.owner.onNack(this, msg.body.seq, msg.body.code);
        return;
      default:
        // HELLO, HELLO-ACK and HELLO-REJECT: refused above.
        return;
    }
  }

  private onPeerError(body: ControlErrorBody): void {
    this.beginClosing({
      reason: 'socketIoError',
      detail: 'protocolError',
      text: `peer sent ERROR ${ERROR_CODES[body.code] ?? String(body.code)}: ${body.text}`,
    });
  }

  /**
   * The failure funnel for protocol violations: ERROR with the code and the offending
   * message (when known), then a close. [KKCM-CTL-2]
   */
  protocolError(err: unknown, frame: Uint8Array | undefined): void {
    const whole = frame !== undefined && frame.byteLength >= HEADER_SIZE;
    const offendingSeq = whole
      ? ((frame[12]! << 24) | (frame[13]! << 16) | (frame[14]! << 8) | frame[15]!) >>> 0
      : 0xffffffff;
    this.fail(err, offendingSeq, whole ? frame[6]! : 0, whole ? frame[7]! : 0);
  }

  /**
   * {@link Link.protocolError} for a decoded message, quoted from its header: the ERROR names
   * its sequence number, type and subtype [KKCM-CTL-2].
   */
  violation(err: unknown, header: Header): void {
    this.fail(err, header.seq, header.type, header.subtype);
  }

  /**
   * Queues ERROR `code` (text cut to 200 characters), naming the offending message when
   * known. Best effort: the caller closes the link either way.
   */
  sendError(code: ErrorCode, text: string, offendingSeq = 0xffffffff, offendingType = 0, offendingSubtype = 0): void {
    try {
      this.enqueue({
        name: 'control.error',
        body: { code: ERROR_VALUES[code], offendingSeq, offendingType, offendingSubtype, text: text.slice(0, 200) },
      });
    } catch {
      // The ERROR could not be encoded (should not happen): the link closes anyway.
    }
  }

  private fail(err: unknown, offendingSeq: number, offendingType: number, offendingSubtype: number): void {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    const codecError = err instanceof CodecError ? err : new CodecError('ERR_UNEXPECTED_MESSAGE', String(err));
    const code: ErrorCode = ERROR_VALUES[codecError.code] !== undefined ? codecError.code : 'ERR_UNEXPECTED_MESSAGE';
    this.sendError(code, codecError.message, offendingSeq, offendingType, offendingSubtype);
    this.beginClosing(
      { reason: 'socketIoError', detail: 'protocolError', text: `${code}: ${codecError.message}` },
      codecError,
    );
  }

  private readonly onHandshakeTimeout = (): void => {
    if (this.stateValue !== 'handshake') return;
    this.protocolError(
      new CodecError('ERR_HANDSHAKE_TIMEOUT', `no handshake within ${this.options.handshakeTimeoutMs} ms`),
      undefined,
    );
  };

  // --- output ---

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.stateValue === 'closed') return;
    let wrote = false;
    while (this.writable && this.queue.depth > 0) {
      this.tracingTx = this.owner.tracing;
      const batch = this.queue.take(this.countRun);
      this.writable = this.connection.write(batch.chunks);
      // The heads only: a tail is the client's memory, never the recycler's.
      this.recycler.remember(batch.frames);
      if (this.writable) this.lastOutputAt = this.options.clock.now();
      wrote = true;
    }
    if (wrote) this.owner.onQueueSpace(this);
    if (this.stateValue === 'closing' && this.queue.depth === 0) this.connection.end();
  };

  /**
   * Statistics of a run of one type in a batch taken off the queue and, while someone traces,
   * every frame of it.
   */
  private readonly countRun = (
    key: number,
    frames: readonly Uint8Array[],
    tails: readonly (Uint8Array | undefined)[],
    from: number,
    count: number,
    bytes: number,
  ): void => {
    const cells = this.owner.counters(this, key >>> 8, key & 0xff);
    if (cells === undefined) return;
    if (this.tracingTx) {
      for (let k = from; k < from + count; k++) {
        const tail = tails[k];
        // A message in two parts is traced whole: one copy, only while someone traces.
        const frame = tail === undefined ? frames[k]! : Buffer.concat([frames[k]!, tail]);
        addTraffic(cells, 'tx', 1, frame.byteLength);
        this.owner.onTrace(this, 'tx', undefined, frame);
      }
    } else {
      addTraffic(cells, 'tx', count, bytes);
    }
    if (this.queue.highWater > cells.channel.queueHighWater) cells.channel.queueHighWater = this.queue.highWater;
  };

  private readonly onDrain = (): void => {
    this.recycler.drained();
    this.writable = true;
    this.lastOutputAt = this.options.clock.now();
    this.scheduleFlush();
  };

  // --- closing ---

  private beginClosing(trigger: Trigger, error?: PeerError | CodecError): void {
    if (this.stateValue === 'closing' || this.stateValue === 'closed') return;
    this.stateValue = 'closing';
    this.handshakeTimer.stop();
    this.reportDown(trigger, error);
    if (this.queue.depth === 0) this.connection.end();
    else this.scheduleFlush();
    this.lingerTimer.start(this.options.lingerMs, () => this.connection.destroy());
  }

  private readonly onClose = (error?: Error): void => {
    const wasBound = this.stateValue === 'bound';
    const detail = error !== undefined ? 'connectionReset' : 'endOfStream';
    // A transport that knows why it failed says so with a spec code (ERR_TLS_HANDSHAKE…).
    const code = (error as { code?: unknown } | undefined)?.code;
    const coded = typeof code === 'string' && code in ERROR_VALUES ? (code as ErrorCode) : 'ERR_CONNECTION_LOST';
    // A clean end in the middle of a message: the partial message is dropped, and said so.
    const held = error === undefined ? this.decoder.buffered : 0;
    if (held > 0) {
      const text = `connection closed by the peer inside a message (${held} bytes of it received, not delivered)`;
      this.reportDown({ reason: 'socketIoError', detail, text }, new PeerError('ERR_STREAM_TRUNCATED', text));
    } else {
      this.reportDown(
        {
          reason: 'socketIoError',
          detail,
          text:
            error !== undefined
              ? `connection failed: ${error.message}`
              : `connection closed by the peer${wasBound ? '' : ' during the handshake'}`,
        },
        new PeerError(coded, error?.message ?? 'end of stream'),
      );
    }
    this.finish();
  };

  private finish(): void {
    this.stateValue = 'closed';
    this.handshakeTimer.stop();
    this.lingerTimer.stop();
    this.queue.clear();
    this.recycler.clear();
  }

  private reportDown(trigger: Trigger, error?: PeerError | CodecError): void {
    if (this.downReported) return;
    this.downReported = true;
    this.owner.onDown(this, trigger, error);
  }
}
