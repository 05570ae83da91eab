/**
 * Benchmark baseline: what a careful engineer would write by hand with a DataView for the
 * two benchmarked messages, ACK (control.ack) and PRL PACKET (prl.packet).
 *
 * Kept fair on purpose, so that the comparison measures code generation and nothing else:
 * - decode returns the same shape as `decodeMessage` (`{ name, header, body }`, bytes as
 *   views into the frame, u64 as bigint) and performs the same checks, in the same order,
 *   with the same error codes: magic, version, reserved flags, length bounds (header size,
 *   default limit), frame length equals the header's length, exact body length,
 *   reserved-zero, the packet length field;
 * - encode range-checks every value it writes, computes the derived fields, and allocates a
 *   fresh buffer per message from the same allocator as `encodeMessage`.
 *
 * It is not part of the package: it exists only so that anyone can check the baseline.
 *
 * @module
 */
import { CodecError } from '../src/errors.js';
import type { ErrorCode } from '../src/gen/protocol.js';

// Protocol constants written out by hand, as a hand-written codec would.
const MAGIC = 0x4b4b434d;
const HEADER_SIZE = 16;
const VERSION = 1;
const FLAGS_RESERVED = 0xfc;
const DEFAULT_MAX_MESSAGE = 262144;
const ABSOLUTE_MAX_MESSAGE = 16777216;
const U64_MAX = 0xffffffffffffffffn;

/** Header fields, as `decodeMessage` returns them. */
export interface HandwrittenHeader {
  version: number;
  flags: number;
  type: number;
  subtype: number;
  length: number;
  seq: number;
}

/** ACK body. */
export interface HandwrittenAck {
  upTo: number;
}

/** PRL PACKET body; `packet` is a view into the decoded frame. */
export interface HandwrittenPacket {
  handle: number;
  direction: number;
  ifIndex: number;
  timestampNs: bigint;
  packet: Uint8Array;
}

/** A decoded message of one of the two kinds. */
export type HandwrittenMessage =
  | { name: 'control.ack'; header: HandwrittenHeader; body: HandwrittenAck }
  | { name: 'prl.packet'; header: HandwrittenHeader; body: HandwrittenPacket };

/** A message to encode: same input shape as `encodeMessage`. */
export type HandwrittenInput =
  | { name: 'control.ack'; seq?: number; flags?: number; version?: number; body: HandwrittenAck }
  | { name: 'prl.packet'; seq?: number; flags?: number; version?: number; body: HandwrittenPacket };

function bad(code: ErrorCode, message: string, offset?: number): never {
  throw new CodecError(code, message, { offset });
}

/**
 * Decodes one whole ACK or PRL PACKET message.
 *
 * @throws CodecError with the same codes as `decodeMessage` for every violation it checks.
 */
export function decodeHandwritten(frame: Uint8Array): HandwrittenMessage {
  const size = frame.byteLength;
  if (size < HEADER_SIZE) bad('ERR_STREAM_TRUNCATED', 'short header', size);
  const dv = new DataView(frame.buffer, frame.byteOffset, size);
  if (dv.getUint32(0) !== MAGIC) bad('ERR_BAD_MAGIC', 'bad magic', 0);
  const version = dv.getUint8(4);
  if (version !== VERSION) bad('ERR_UNSUPPORTED_VERSION', 'bad version', 4);
  const flags = dv.getUint8(5);
  if ((flags & FLAGS_RESERVED) !== 0) bad('ERR_RESERVED_FLAG', 'reserved flag', 5);
  const length = dv.getUint32(8);
  if (length < HEADER_SIZE) bad('ERR_LENGTH_TOO_SMALL', 'length too small', 8);
  if (length > DEFAULT_MAX_MESSAGE) bad('ERR_FRAME_TOO_LARGE', 'length too large', 8);
  if (size < length) bad('ERR_STREAM_TRUNCATED', 'frame shorter than length', size);
  if (size > length) bad('ERR_TRAILING_BYTES', 'frame longer than length', length);
  const type = dv.getUint8(6);
  const subtype = dv.getUint8(7);
  const header: HandwrittenHeader = { version, flags, type, subtype, length, seq: dv.getUint32(12) };
  if (type === 0x01 && subtype === 0x08) {
    if (length < 20) bad('ERR_TRUNCATED_BODY', 'ack truncated', HEADER_SIZE);
    if (length > 20) bad('ERR_TRAILING_BYTES', 'ack too long', 20);
    return { name: 'control.ack', header, body: { upTo: dv.getUint32(16) } };
  }
  if (type === 0x20 && subtype === 0x01) {
    if (length < 36) bad('ERR_TRUNCATED_BODY', 'packet truncated', HEADER_SIZE);
    if (dv.getUint8(21) !== 0) bad('ERR_RESERVED_NONZERO', 'reserved', 21);
    const packetLength = dv.getUint32(32);
    if (packetLength > length - 36) bad('ERR_BAD_LENGTH_FIELD', 'packet length', 36);
    if (packetLength < length - 36) bad('ERR_TRAILING_BYTES', 'bytes after packet', 36 + packetLength);
    return {
      name: 'prl.packet',
      header,
      body: {
        handle: dv.getUint32(16),
        direction: dv.getUint8(20),
        ifIndex: dv.getUint16(22),
        timestampNs: dv.getBigUint64(24),
        packet: frame.subarray(36, length),
      },
    };
  }
  return bad('ERR_UNKNOWN_TYPE', 'not an ACK or a PACKET', 6);
}

// typeof first, as the generated codec: a bigint would make the bit operations throw a TypeError.
function checkU32(v: number, path: string): void {
  if (typeof v !== 'number' || v >>> 0 !== v)
    bad(
      typeof v === 'number' && Number.isInteger(v) ? 'ERR_VALUE_OUT_OF_RANGE' : 'ERR_INVALID_VALUE',
      `${path} is not a u32`,
    );
}

function checkU16(v: number, path: string): void {
  if (typeof v !== 'number' || (v & 0xffff) !== v)
    bad(
      typeof v === 'number' && Number.isInteger(v) ? 'ERR_VALUE_OUT_OF_RANGE' : 'ERR_INVALID_VALUE',
      `${path} is not a u16`,
    );
}

function checkU8(v: number, path: string): void {
  if (typeof v !== 'number' || (v & 0xff) !== v)
    bad(
      typeof v === 'number' && Number.isInteger(v) ? 'ERR_VALUE_OUT_OF_RANGE' : 'ERR_INVALID_VALUE',
      `${path} is not a u8`,
    );
}

/** Writes the header; checks the caller's header values. */
function writeHeader(dv: DataView, msg: HandwrittenInput, type: number, subtype: number, length: number): void {
  const seq = msg.seq ?? 0;
  const flags = msg.flags ?? 0;
  const version = msg.version ?? VERSION;
  checkU32(seq, 'header.seq');
  checkU8(flags, 'header.flags');
  checkU8(version, 'header.version');
  dv.setUint32(0, MAGIC);
  dv.setUint8(4, version);
  dv.setUint8(5, flags);
  dv.setUint8(6, type);
  dv.setUint8(7, subtype);
  dv.setUint32(8, length);
  dv.setUint32(12, seq);
}

/**
 * Encodes one ACK or PRL PACKET message into a fresh buffer.
 *
 * @throws CodecError ERR_INVALID_VALUE, ERR_VALUE_OUT_OF_RANGE, ERR_FRAME_TOO_LARGE.
 */
export function encodeHandwritten(msg: HandwrittenInput): Uint8Array {
  if (msg.name === 'control.ack') {
    const b = Buffer.allocUnsafe(20);
    const dv = new DataView(b.buffer, b.byteOffset, 20);
    writeHeader(dv, msg, 0x01, 0x08, 20);
    checkU32(msg.body.upTo, 'body.upTo');
    dv.setUint32(16, msg.body.upTo);
    return b;
  }
  const body = msg.body;
  if (!(body.packet instanceof Uint8Array)) bad('ERR_INVALID_VALUE', 'body.packet must be a Uint8Array');
  const packetLength = body.packet.byteLength;
  const length = 36 + packetLength;
  if (length > ABSOLUTE_MAX_MESSAGE) bad('ERR_FRAME_TOO_LARGE', 'message too large');
  const b = Buffer.allocUnsafe(length);
  const dv = new DataView(b.buffer, b.byteOffset, length);
  writeHeader(dv, msg, 0x20, 0x01, length);
  checkU32(body.handle, 'body.handle');
  checkU8(body.direction, 'body.direction');
  checkU16(body.ifIndex, 'body.ifIndex');
  if (typeof body.timestampNs !== 'bigint') bad('ERR_INVALID_VALUE', 'body.timestampNs must be a bigint');
  if (body.timestampNs < 0n || body.timestampNs > U64_MAX)
    bad('ERR_VALUE_OUT_OF_RANGE', 'body.timestampNs is not a u64');
  dv.setUint32(16, body.handle);
  dv.setUint8(20, body.direction);
  dv.setUint8(21, 0);
  dv.setUint16(22, body.ifIndex);
  dv.setBigUint64(24, body.timestampNs);
  dv.setUint32(32, packetLength);
  b.set(body.packet, 36);
  return b;
}
