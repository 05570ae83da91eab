/**
 * Benchmark baseline: protobufjs 7 with messages equivalent to ACK and PRL PACKET, built in
 * code with the reflection API (`Root`, `Type`, `Field`; protobufjs compiles its own
 * encoder and decoder for each type on first use).
 *
 * Equivalent means the same fields with the nearest protobuf types: a nested `Header`
 * (six uint32 varints), then the body: `upTo` uint32 for ACK; `handle`, `direction`,
 * `ifIndex` uint32, `timestampNs` fixed64 (8 bytes, like the wire u64; decoded as a Long,
 * protobufjs' own 64-bit form) and `packet` bytes (a view into the input, as ours) for
 * PACKET. Decoding yields `{ header, body }` objects like ours. protobufjs checks nothing
 * beyond the wire format: the comparison flatters it.
 *
 * @module
 */
import protobuf from 'protobufjs';

const { Field, Root, Type } = protobuf;

const root = new Root();
const Header = new Type('Header')
  .add(new Field('version', 1, 'uint32'))
  .add(new Field('flags', 2, 'uint32'))
  .add(new Field('type', 3, 'uint32'))
  .add(new Field('subtype', 4, 'uint32'))
  .add(new Field('length', 5, 'uint32'))
  .add(new Field('seq', 6, 'uint32'));
const AckBody = new Type('AckBody').add(new Field('upTo', 1, 'uint32'));
const PacketBody = new Type('PacketBody')
  .add(new Field('handle', 1, 'uint32'))
  .add(new Field('direction', 2, 'uint32'))
  .add(new Field('ifIndex', 3, 'uint32'))
  .add(new Field('timestampNs', 4, 'fixed64'))
  .add(new Field('packet', 5, 'bytes'));
const Ack = new Type('Ack').add(new Field('header', 1, 'Header')).add(new Field('body', 2, 'AckBody'));
const Packet = new Type('Packet').add(new Field('header', 1, 'Header')).add(new Field('body', 2, 'PacketBody'));
root.add(Header).add(AckBody).add(PacketBody).add(Ack).add(Packet);
root.resolveAll();

/** The protobufjs type equivalent to ACK: `{ header: Header, body: { upTo } }`. */
export const ProtoAck: protobuf.Type = Ack;

/** The protobufjs type equivalent to PRL PACKET: `{ header: Header, body: PacketBody }`. */
export const ProtoPacket: protobuf.Type = Packet;

/** Builds protobufjs' 64-bit value (a Long) from a bigint. */
export function toProtoU64(v: bigint): protobuf.Long {
  return protobuf.util.LongBits.from(v.toString()).toLong(true);
}

/** Converts a decoded 64-bit field back to a bigint (for result checks, not timed). */
export function fromProtoU64(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v);
  return BigInt((v as protobuf.Long).toString());
}
