/**
 * Whole-message encode and decode: the header checks, the may-ignore rule, the static
 * channel mapping, and the generated body codecs.
 *
 * @module
 */
import { decodeKnown, readHeader } from './gen/decode.js';
import { BODY_ENCODERS, writeHeader } from './gen/encode.js';
import {
  Flags,
  FLAGS_RESERVED_MASK,
  HEADER_OFFSETS,
  HEADER_SIZE,
  Limits,
  MAGIC,
  PROTOCOL_VERSIONS,
  MESSAGES,
  TYPE_CHANNEL_MASK,
  TYPE_CLIENT,
  ChannelId,
  type ChannelName,
  type ClientName,
  type Header,
  type KnownMessage,
  type MessageBodies,
  type MessageName,
} from './gen/protocol.js';
import { alloc, badInt, fail } from './runtime.js';

/** Options of {@link decodeMessage}, {@link decodeHeader} and the framer. */
export interface DecodeOptions {
  /**
   * Largest message accepted, header included, in bytes.
   * Default: the spec's `defaultMaxMessage` (262144). [KKCM-FRM-3]
   */
  readonly maxMessage?: number;
  /** Negotiated version: when set, every header must carry exactly it. [KKCM-HDR-4] */
  readonly version?: number;
  /**
   * Accept any header version (when `version` is not set). For the handshake, whose
   * messages keep one layout in every version [KKCM-SESS-3], and for observers.
   */
  readonly anyVersion?: boolean;
  /** Channel the message arrived on: when set, the static mapping is enforced. [KKCM-CHAN-2] */
  readonly channel?: ChannelName;
}

/**
 * A message of unknown type or subtype that carried the mayIgnore flag: kept whole, body
 * uninterpreted, so that the receiver can skip it. [KKCM-TYPE-1]
 */
export interface IgnoredMessage {
  /** Always null: the spec does not know the message. */
  readonly name: null;
  /** The decoded header. */
  readonly header: Header;
  /** The body, uninterpreted (a view into the input). */
  readonly body: Uint8Array;
}

/** A decoded message: one the spec knows, or one skipped under mayIgnore. */
export type DecodedMessage = KnownMessage | IgnoredMessage;

/** Name of a message of a client-owned type (every type but KKCM's own control type). */
export type ClientMessageName = Exclude<MessageName, `control.${string}`>;

/** A KKCM control message, body decoded: the messages KKCM itself owns. */
export type ControlMessage = Extract<
  KnownMessage,
  {
    /** A control message's name: `control.` then the subtype's. */
    name: `control.${string}`;
  }
>;

/**
 * A message of a client-owned type as a KKCM peer receives it: header checked, body left
 * uninterpreted for the client (design 7.2.c, 7.2.e: KKCM routes by type and hands the whole
 * message to the client's handler). The spec's layouts of client bodies are illustrative: a
 * client that uses them decodes with {@link decodeClientMessage}. [KKCM-DISP-3]
 */
export interface ClientMessage {
  /** The client that owns the type: the handler the message goes to. */
  readonly client: ClientName;
  /** The spec's (illustrative) name of the type and subtype, or null for a subtype it does not list. */
  readonly name: ClientMessageName | null;
  /** The decoded header. */
  readonly header: Header;
  /** The body, uninterpreted: a view into the input (copy it to keep it). */
  readonly body: Uint8Array;
}

/**
 * What a KKCM peer reads ({@link RoutingDecoder}): a control message decoded, a client
 * message with its body uninterpreted, or a message of unknown type skipped under mayIgnore.
 */
export type RoutedMessage = ControlMessage | ClientMessage | IgnoredMessage;

/** Message names by `type << 8 | subtype`. */
const NAMES = new Map<number, MessageName>(
  Object.values(MESSAGES).map((m) => [(m.type << 8) | m.subtype, m.name as MessageName]),
);

/** Header fields a caller may set when encoding; type, subtype and length are derived. */
export interface HeaderInput {
  /** Sequence number; default 0. */
  readonly seq?: number;
  /** Flag bits (see `Flags`); default 0. */
  readonly flags?: number;
  /** Protocol version; default the spec's current version. */
  readonly version?: number;
}

/** A message to encode, by qualified name. */
export type MessageInput = {
  [N in MessageName]: HeaderInput & {
    /** Qualified name (`control.ack`). */
    readonly name: N;
    /** The body: every field but the derived ones, enums as numbers. */
    readonly body: MessageBodies[N];
  };
}[MessageName];

/** A message with an uninterpreted body, for any type and subtype (tests, probes, tools). */
export interface RawMessageInput extends HeaderInput {
  /** Type number. */
  readonly type: number;
  /** Subtype number. */
  readonly subtype: number;
  /** The body bytes, written as they are. */
  readonly body: Uint8Array;
}

/** Options of the encoders. */
export interface EncodeOptions {
  /** Largest message allowed, header included; default the spec's `absoluteMaxMessage`. */
  readonly maxMessage?: number;
}

/**
 * Checks the header at offset `o` of `b` (HEADER_SIZE bytes must be there) and returns its
 * length field. The one place where header violations are raised, for the framer and for
 * whole-message decoding alike: magic, version, reserved flags, then the length limits.
 *
 * @throws CodecError ERR_BAD_MAGIC, ERR_UNSUPPORTED_VERSION, ERR_RESERVED_FLAG,
 *   ERR_LENGTH_TOO_SMALL, ERR_FRAME_TOO_LARGE (offsets relative to `b`).
 */
export function checkHeaderAt(b: Uint8Array, o: number, options: DecodeOptions = {}): number {
  const magic = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  if (magic !== MAGIC)
    fail(
      'ERR_BAD_MAGIC',
      `magic is 0x${magic.toString(16).padStart(8, '0')}, expected 0x${MAGIC.toString(16)}`,
      o,
      'header.magic',
    );
  const version = b[o + HEADER_OFFSETS.version]!;
  if (
    options.version !== undefined
      ? version !== options.version
      : options.anyVersion !== true && (version < PROTOCOL_VERSIONS.min || version > PROTOCOL_VERSIONS.max)
  ) {
    const wanted =
      options.version !== undefined
        ? `${options.version} (negotiated)`
        : `${PROTOCOL_VERSIONS.min}..${PROTOCOL_VERSIONS.max}`;
    fail(
      'ERR_UNSUPPORTED_VERSION',
      `version ${version}, expected ${wanted}`,
      o + HEADER_OFFSETS.version,
      'header.version',
    );
  }
  const flags = b[o + HEADER_OFFSETS.flags]!;
  if ((flags & FLAGS_RESERVED_MASK) !== 0)
    fail(
      'ERR_RESERVED_FLAG',
      `reserved flag bits set: 0x${(flags & FLAGS_RESERVED_MASK).toString(16)}`,
      o + HEADER_OFFSETS.flags,
      'header.flags',
    );
  const lo = o + HEADER_OFFSETS.length;
  const length = ((b[lo]! << 24) | (b[lo + 1]! << 16) | (b[lo + 2]! << 8) | b[lo + 3]!) >>> 0;
  if (length < HEADER_SIZE)
    fail('ERR_LENGTH_TOO_SMALL', `length ${length} is smaller than the header (${HEADER_SIZE})`, lo, 'header.length');
  const max = options.maxMessage ?? Limits.defaultMaxMessage;
  if (length > max)
    fail('ERR_FRAME_TOO_LARGE', `length ${length} exceeds the limit of ${max} bytes`, lo, 'header.length');
  return length;
}

/** Like the framer: a message too short for its header is truncated, at its first byte. */
function needHeader(b: Uint8Array): void {
  if (b.byteLength < HEADER_SIZE)
    fail('ERR_STREAM_TRUNCATED', `${b.byteLength} bytes, a header needs ${HEADER_SIZE}`, 0);
}

/**
 * Decodes and checks the header at the start of `b`.
 *
 * @throws CodecError as {@link checkHeaderAt}, or ERR_STREAM_TRUNCATED when `b` is shorter
 *   than a header.
 */
export function decodeHeader(b: Uint8Array, options: DecodeOptions = {}): Header {
  needHeader(b);
  checkHeaderAt(b, 0, options);
  return readHeader(b, 0);
}

/**
 * Decodes exactly one whole message. Body fields of type bytes are views into `frame`
 * (no copy): copy them if `frame` is reused.
 *
 * A message of unknown type or subtype with mayIgnore set decodes as an
 * {@link IgnoredMessage}; without it, it is an error. Unknown enum values are kept.
 *
 * @throws CodecError with the spec's code, the byte offset and the field path.
 */
export function decodeMessage(frame: Uint8Array, options: DecodeOptions = {}): DecodedMessage {
  needHeader(frame);
  const length = checkHeaderAt(frame, 0, options);
  if (frame.byteLength < length)
    fail('ERR_STREAM_TRUNCATED', `message of ${length} bytes, only ${frame.byteLength} present`, 0);
  if (frame.byteLength > length)
    fail('ERR_TRAILING_BYTES', `${frame.byteLength - length} bytes after the message`, length, 'body');
  return decodeCheckedAt(frame, 0, options);
}

/**
 * Decodes the message at offset `o` of `b` whose header already passed
 * {@link checkHeaderAt} with the same options, and whose `length` bytes are all in `b`:
 * the static channel mapping, the body, and the may-ignore rule. What `decodeMessage` and
 * the stream decoder check after the header, in one place. Bytes fields are views into `b`.
 * Internal: not exported from the package.
 *
 * @throws CodecError ERR_WRONG_CHANNEL, ERR_UNKNOWN_TYPE, ERR_UNKNOWN_SUBTYPE or a body
 *   error (offsets relative to `b`).
 */
export function decodeCheckedAt(b: Uint8Array, o: number, options: DecodeOptions): DecodedMessage {
  const header = readHeader(b, o);
  const end = o + header.length;
  const mask = TYPE_CHANNEL_MASK[header.type];
  if (options.channel !== undefined && mask !== undefined && (mask & (1 << ChannelId[options.channel])) === 0) {
    fail(
      'ERR_WRONG_CHANNEL',
      `type 0x${header.type.toString(16)} does not travel on the ${options.channel} channel`,
      o + HEADER_OFFSETS.type,
      'header.type',
    );
  }
  const known = decodeKnown(header, b, o, end);
  if (known !== undefined) return known;
  if ((header.flags & Flags.mayIgnore) !== 0) return { name: null, header, body: b.subarray(o + HEADER_SIZE, end) };
  if (mask === undefined)
    fail(
      'ERR_UNKNOWN_TYPE',
      `unknown type 0x${header.type.toString(16)} without mayIgnore`,
      o + HEADER_OFFSETS.type,
      'header.type',
    );
  return fail(
    'ERR_UNKNOWN_SUBTYPE',
    `unknown subtype 0x${header.subtype.toString(16)} of type 0x${header.type.toString(16)} without mayIgnore`,
    o + HEADER_OFFSETS.subtype,
    'header.subtype',
  );
}

/**
 * Like {@link decodeCheckedAt}, for a KKCM peer: the body of a client-owned type is not
 * decoded, and every subtype of such a type is the client's (its subtypes are the client's
 * business: design 7.1 hands type and subtype to the handler). Only control bodies are
 * checked. Internal: not exported from the package.
 *
 * @throws CodecError ERR_WRONG_CHANNEL, ERR_UNKNOWN_TYPE, ERR_UNKNOWN_SUBTYPE (control type)
 *   or a control body error (offsets relative to `b`).
 */
export function routeCheckedAt(b: Uint8Array, o: number, options: DecodeOptions): RoutedMessage {
  const client = TYPE_CLIENT[b[o + HEADER_OFFSETS.type]!];
  if (client === undefined || client === 'kkcm') return decodeCheckedAt(b, o, options) as RoutedMessage;
  const header = readHeader(b, o);
  const mask = TYPE_CHANNEL_MASK[header.type]!;
  if (options.channel !== undefined && (mask & (1 << ChannelId[options.channel])) === 0) {
    fail(
      'ERR_WRONG_CHANNEL',
      `type 0x${header.type.toString(16)} does not travel on the ${options.channel} channel`,
      o + HEADER_OFFSETS.type,
      'header.type',
    );
  }
  const name = (NAMES.get((header.type << 8) | header.subtype) ?? null) as ClientMessageName | null;
  return { client, name, header, body: b.subarray(o + HEADER_SIZE, o + header.length) };
}

/**
 * Decodes a client message's body against the spec's illustrative layout of its type and
 * subtype: what a client that uses those layouts does in its handler. Bytes fields are views
 * into `msg.body`.
 *
 * @throws CodecError ERR_UNKNOWN_SUBTYPE for a subtype the spec does not list, or a body
 *   error (ERR_TRUNCATED_BODY, ERR_TRAILING_BYTES…; offsets from the start of the body).
 */
export function decodeClientMessage(msg: ClientMessage): KnownMessage {
  // The body decoders read from `o + HEADER_SIZE`: with o = -HEADER_SIZE they read the body
  // view from its start, and their offsets count from the body's first byte.
  const known = decodeKnown(msg.header, msg.body, -HEADER_SIZE, msg.body.byteLength);
  if (known === undefined)
    fail(
      'ERR_UNKNOWN_SUBTYPE',
      `subtype 0x${msg.header.subtype.toString(16)} of type 0x${msg.header.type.toString(16)} has no layout in the spec`,
      HEADER_OFFSETS.subtype,
      'header.subtype',
    );
  return known;
}

function checkHeaderInput(h: HeaderInput): { seq: number; flags: number; version: number } {
  const seq = h.seq ?? 0;
  const flags = h.flags ?? 0;
  const version = h.version ?? PROTOCOL_VERSIONS.current;
  // typeof first: a bigint would make the bit operations throw a TypeError.
  if (typeof seq !== 'number' || seq >>> 0 !== seq) badInt(seq, 'u32', 'header.seq');
  if (typeof flags !== 'number' || (flags & 0xff) !== flags) badInt(flags, 'u8', 'header.flags');
  if (typeof version !== 'number' || (version & 0xff) !== version) badInt(version, 'u8', 'header.version');
  return { seq, flags, version };
}

function checkSize(length: number, options: EncodeOptions): void {
  const max = options.maxMessage ?? Limits.absoluteMaxMessage;
  if (length > max)
    fail(
      'ERR_FRAME_TOO_LARGE',
      `message of ${length} bytes exceeds the limit of ${max} bytes`,
      undefined,
      'header.length',
    );
}

/**
 * Total encoded length of a message, header included. Checks the body's derived fields.
 *
 * @throws CodecError ERR_UNKNOWN_MESSAGE, ERR_INVALID_VALUE, ERR_VALUE_OUT_OF_RANGE.
 */
export function encodedLength(msg: MessageInput): number {
  const enc = BODY_ENCODERS[msg.name] as (typeof BODY_ENCODERS)[MessageName] | undefined;
  if (enc === undefined) fail('ERR_UNKNOWN_MESSAGE', `no message named ${String(msg.name)}`, undefined, 'name');
  if (typeof msg.body !== 'object' || msg.body === null)
    fail('ERR_INVALID_VALUE', 'body must be an object', undefined, 'body');
  return HEADER_SIZE + (enc.size as (v: unknown) => number)(msg.body);
}

/**
 * Writes a message into `b` at `offset` (the caller sized `b` with {@link encodedLength});
 * returns the offset after it. Lets a sender batch many messages into one buffer.
 */
export function encodeInto(
  msg: MessageInput,
  b: Uint8Array,
  offset: number,
  length = encodedLength(msg),
  options: EncodeOptions = {},
): number {
  checkSize(length, options);
  const h = checkHeaderInput(msg);
  const enc = BODY_ENCODERS[msg.name];
  writeHeader(b, offset, h.version, h.flags, enc.type, enc.subtype, length, h.seq);
  return (enc.write as (v: unknown, b: Uint8Array, o: number) => number)(msg.body, b, offset + HEADER_SIZE);
}

/**
 * Encodes a message. Derived fields (lengths, counts, the header's length, type and
 * subtype) are computed, never taken from the caller.
 *
 * @throws CodecError ERR_UNKNOWN_MESSAGE, ERR_INVALID_VALUE, ERR_VALUE_OUT_OF_RANGE,
 *   ERR_FRAME_TOO_LARGE.
 */
export function encodeMessage(msg: MessageInput, options: EncodeOptions = {}): Uint8Array {
  const length = encodedLength(msg);
  const b = alloc(length);
  encodeInto(msg, b, 0, length, options);
  return b;
}

/** A message encoded in two parts, written one after the other: see {@link encodeSplit}. */
export interface SplitMessage {
  /** The header and every body field before the trailing bytes field, in a fresh buffer. */
  readonly head: Uint8Array;
  /** The trailing bytes field: the caller's own bytes, not a copy. */
  readonly tail: Uint8Array;
}

/**
 * Encodes a message whose body ends with a variable-length bytes field (a PACKET's packet, a
 * SOCKET-DATA's data) in two parts: the head, encoded (the header's length and the field's
 * length field count the tail), and the tail, the caller's bytes as they are. Written one
 * after the other (a `writev`), they are exactly {@link encodeMessage}'s bytes, without
 * copying the tail: for large payloads, what the kernel's own copy would otherwise be paid
 * twice for. The caller must not change the tail until it is written.
 *
 * @param minTail - answer undefined, before any other work, when the tail is shorter.
 * @returns undefined for a message whose body does not end with such a field, or whose tail
 *   is shorter than `minTail`.
 * @throws CodecError as {@link encodeMessage}.
 */
export function encodeSplit(msg: MessageInput, options: EncodeOptions = {}, minTail = 0): SplitMessage | undefined {
  const enc = BODY_ENCODERS[msg.name] as (typeof BODY_ENCODERS)[MessageName] | undefined;
  const split = enc?.tail;
  if (split === undefined) return undefined;
  // Asked before any work: a sender that splits only large tails pays nothing for the others.
  const tail = (msg.body as unknown as Record<string, Uint8Array> | undefined)?.[split.field];
  if (minTail > 0 && (!(tail instanceof Uint8Array) || tail.byteLength < minTail)) return undefined;
  const length = encodedLength(msg);
  checkSize(length, options);
  const h = checkHeaderInput(msg);
  const head = alloc(length - tail!.byteLength);
  writeHeader(head, 0, h.version, h.flags, enc!.type, enc!.subtype, length, h.seq);
  (split.writeHead as (v: unknown, b: Uint8Array, o: number) => number)(msg.body, head, HEADER_SIZE);
  return { head, tail: tail! };
}

/**
 * Encodes a message with an uninterpreted body, for any type and subtype. Used to send
 * unknown types (may-ignore tests) and by tools; ordinary senders use {@link encodeMessage}.
 */
export function encodeRaw(msg: RawMessageInput, options: EncodeOptions = {}): Uint8Array {
  if (!(msg.body instanceof Uint8Array)) fail('ERR_INVALID_VALUE', 'body must be a Uint8Array', undefined, 'body');
  const h = checkHeaderInput(msg);
  if (typeof msg.type !== 'number' || (msg.type & 0xff) !== msg.type) badInt(msg.type, 'u8', 'header.type');
  if (typeof msg.subtype !== 'number' || (msg.subtype & 0xff) !== msg.subtype)
    badInt(msg.subtype, 'u8', 'header.subtype');
  const length = HEADER_SIZE + msg.body.byteLength;
  checkSize(length, options);
  const b = alloc(length);
  writeHeader(b, 0, h.version, h.flags, msg.type, msg.subtype, length, h.seq);
  b.set(msg.body, HEADER_SIZE);
  return b;
}
