/**
 * The messages the codec benchmark measures, built once: a small control message (ACK,
 * 20 bytes) and a PRL PACKET of 256 bytes in total, plus a stream of such packets cut into
 * TCP-segment-sized chunks for the framer case.
 *
 * @module
 */
import { encodeMessage, Framer, HEADER_SIZE, type MessageInput } from '../src/index.js';

/** Total length of the benchmarked PRL PACKET message, header included. */
export const PACKET_MESSAGE_BYTES = 256;

/** Fixed part of a PACKET body: handle, direction, reserved, ifIndex, timestampNs, packetLength. */
const PACKET_FIXED_BODY = 20;

/** Payload bytes that make a PACKET message exactly {@link PACKET_MESSAGE_BYTES} long. */
export const PACKET_PAYLOAD_BYTES = PACKET_MESSAGE_BYTES - HEADER_SIZE - PACKET_FIXED_BODY;

/** Chunk size of the framer case: a typical TCP segment payload (Ethernet MSS). */
export const CHUNK_BYTES = 1460;

/**
 * Packets in the framer stream: 365 × 256 = 93440 = 64 × 1460, so the stream is exactly 64
 * full chunks and ends on a message boundary (the framer is back in its header state after
 * each pass), while message boundaries fall at every offset pattern within a chunk.
 */
export const STREAM_PACKETS = 365;

/** The ACK to encode (and, encoded, to decode). */
export const ackInput: MessageInput & { name: 'control.ack' } = {
  name: 'control.ack',
  seq: 7,
  flags: 0,
  body: { upTo: 123456 },
};

function payload(seed: number): Uint8Array {
  const p = new Uint8Array(PACKET_PAYLOAD_BYTES);
  for (let i = 0; i < p.length; i++) p[i] = (i * 31 + seed) & 0xff;
  return p;
}

/** A PACKET to encode; its timestamp needs all 64 bits of the u64 (above 2^53). */
export function packetInput(seq: number): MessageInput & { name: 'prl.packet' } {
  return {
    name: 'prl.packet',
    seq,
    flags: 0,
    body: {
      handle: 0x00012345,
      direction: 1,
      ifIndex: 3,
      timestampNs: 1_700_000_000_123_456_789n + BigInt(seq),
      packet: payload(seq),
    },
  };
}

/** Encoded ACK, as a socket would deliver it (a Node Buffer). */
export const ackFrame: Uint8Array = encodeMessage(ackInput);

/** The PACKET to encode. */
export const packet: MessageInput & { name: 'prl.packet' } = packetInput(42);

/** Encoded PACKET, as a socket would deliver it (a Node Buffer). */
export const packetFrame: Uint8Array = encodeMessage(packet);

if (ackFrame.byteLength !== 20 || packetFrame.byteLength !== PACKET_MESSAGE_BYTES)
  throw new Error('benchmark messages have the wrong size');

/** The framer stream: {@link STREAM_PACKETS} packets back to back in one buffer. */
export const stream: Buffer = Buffer.concat(
  Array.from({ length: STREAM_PACKETS }, (_, i) => encodeMessage(packetInput(i))),
);

/** The stream cut into {@link CHUNK_BYTES}-byte chunks (views, as socket reads would be). */
export const chunks: readonly Uint8Array[] = Array.from({ length: stream.byteLength / CHUNK_BYTES }, (_, i) =>
  stream.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
);

/**
 * The messages the framer returns for {@link chunks} (views into the chunks, and copies for
 * those that straddle two chunks), collected once: "decode alone" decodes exactly the
 * messages that "framer + decode" decodes.
 */
export const framedMessages: readonly Uint8Array[] = (() => {
  const framer = new Framer();
  const out = chunks.flatMap((c) => framer.push(c));
  framer.end();
  if (out.length !== STREAM_PACKETS || Buffer.compare(Buffer.concat(out), stream) !== 0)
    throw new Error('the framer did not return the stream');
  return out;
})();
