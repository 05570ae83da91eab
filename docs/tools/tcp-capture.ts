/**
 * A minimal classic-pcap writer for synthetic TCP streams, with every segment boundary
 * chosen by the caller: for the dissector's tests (messages split across segments at any
 * byte, several messages in one segment) and for sample captures. The reference peer's
 * pcapng writer (`reference-impl/src/trace/pcapng.ts`) puts one message per segment and
 * starts a new connection when a message restarts at sequence 0, so it cannot express
 * arbitrary cuts.
 *
 * Each stream is written whole, one after another: SYN, SYN-ACK, ACK from the client
 * (`10.0.0.2`) to the server (`10.0.0.1`, port 7000 unless given), the payload segments with
 * PSH and ACK and consistent sequence numbers, then FIN, FIN-ACK, ACK. Checksums are valid.
 * Timestamps advance one millisecond per packet from zero.
 *
 * @module
 */

/** One TCP payload segment of a stream. */
export interface TcpSegment {
  /** Which side sends it: the client connected, the server listened. */
  readonly from: 'client' | 'server';
  /** The TCP payload; at most 65495 bytes. */
  readonly payload: Uint8Array;
}

/** One synthetic TCP connection. */
export interface TcpStream {
  /** Client port, distinct per stream so that each is its own conversation. */
  readonly clientPort: number;
  /** Server port; default 7000 (the spec's default port). */
  readonly serverPort?: number;
  readonly segments: readonly TcpSegment[];
}

const CLIENT_IP = [10, 0, 0, 2];
const SERVER_IP = [10, 0, 0, 1];
const CLIENT_MAC = [2, 0, 0, 0, 0, 2];
const SERVER_MAC = [2, 0, 0, 0, 0, 1];
const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;
const MAX_PAYLOAD = 65495;

/** Ones' complement sum of big-endian 16-bit words (RFC 1071), folded. */
function checksum(bytes: Uint8Array, from: number, to: number, initial: number): number {
  let sum = initial;
  for (let i = from; i < to; i += 2) sum += (bytes[i]! << 8) | (i + 1 < to ? bytes[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** An Ethernet/IPv4/TCP frame. */
function frame(
  fromClient: boolean,
  ports: { client: number; server: number },
  seq: number,
  ack: number,
  flags: number,
  payload: Uint8Array,
): Uint8Array {
  const bytes = new Uint8Array(14 + 20 + 20 + payload.byteLength);
  const view = new DataView(bytes.buffer);
  bytes.set(fromClient ? SERVER_MAC : CLIENT_MAC, 0);
  bytes.set(fromClient ? CLIENT_MAC : SERVER_MAC, 6);
  view.setUint16(12, 0x0800);
  const ip = 14;
  bytes[ip] = 0x45;
  view.setUint16(ip + 2, 40 + payload.byteLength);
  view.setUint16(ip + 6, 0x4000);
  bytes[ip + 8] = 64;
  bytes[ip + 9] = 6;
  bytes.set(fromClient ? CLIENT_IP : SERVER_IP, ip + 12);
  bytes.set(fromClient ? SERVER_IP : CLIENT_IP, ip + 16);
  view.setUint16(ip + 10, checksum(bytes, ip, ip + 20, 0));
  const tcp = ip + 20;
  view.setUint16(tcp, fromClient ? ports.client : ports.server);
  view.setUint16(tcp + 2, fromClient ? ports.server : ports.client);
  view.setUint32(tcp + 4, seq >>> 0);
  view.setUint32(tcp + 8, (flags & ACK) !== 0 ? ack >>> 0 : 0);
  bytes[tcp + 12] = 5 << 4;
  bytes[tcp + 13] = flags;
  view.setUint16(tcp + 14, 0xffff);
  bytes.set(payload, tcp + 20);
  // Pseudo-header: both addresses, protocol 6, TCP length.
  const pseudo = checksum(bytes, ip + 12, ip + 20, 0);
  view.setUint16(tcp + 16, checksum(bytes, tcp, bytes.byteLength, (~pseudo & 0xffff) + 6 + 20 + payload.byteLength));
  return bytes;
}

/**
 * Builds a classic pcap file (microsecond timestamps, LINKTYPE_ETHERNET) holding the streams.
 *
 * @returns the file's bytes.
 * @throws RangeError when a segment is larger than one IPv4 packet can carry.
 */
export function buildTcpCapture(streams: readonly TcpStream[]): Uint8Array {
  const packets: Uint8Array[] = [];
  for (const s of streams) {
    const ports = { client: s.clientPort, server: s.serverPort ?? 7000 };
    // Initial sequence numbers: 0 for both sides, so tshark's relative numbers are the absolute ones.
    const next = { client: 0, server: 0 };
    const send = (from: 'client' | 'server', flags: number, payload: Uint8Array = new Uint8Array(0)): void => {
      const to = from === 'client' ? 'server' : 'client';
      packets.push(frame(from === 'client', ports, next[from], next[to], flags, payload));
      next[from] += payload.byteLength + ((flags & (SYN | FIN)) !== 0 ? 1 : 0);
    };
    send('client', SYN);
    send('server', SYN | ACK);
    send('client', ACK);
    for (const seg of s.segments) {
      if (seg.payload.byteLength > MAX_PAYLOAD)
        throw new RangeError(`segment of ${seg.payload.byteLength} bytes: at most ${MAX_PAYLOAD}`);
      send(seg.from, PSH | ACK, seg.payload);
    }
    send('client', FIN | ACK);
    send('server', FIN | ACK);
    send('client', ACK);
  }
  const size = 24 + packets.reduce((n, p) => n + 16 + p.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 262144, true);
  view.setUint32(20, 1, true);
  let at = 24;
  packets.forEach((p, i) => {
    view.setUint32(at, Math.floor(i / 1000), true);
    view.setUint32(at + 4, (i % 1000) * 1000, true);
    view.setUint32(at + 8, p.byteLength, true);
    view.setUint32(at + 12, p.byteLength, true);
    out.set(p, at + 16);
    at += 16 + p.byteLength;
  });
  return out;
}

/**
 * Cuts bytes into pieces whose sizes cycle through `sizes` (the last piece takes what is
 * left): the segment boundaries of a split stream.
 */
export function cut(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}
