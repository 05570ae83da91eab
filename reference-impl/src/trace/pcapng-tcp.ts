/**
 * KKCM messages as synthetic Ethernet/IPv4/TCP segments: each KKCM connection of a channel
 * becomes a TCP connection between fixed addresses, opened with SYN, SYN-ACK, ACK and closed
 * with FIN, FIN, ACK, its sequence numbers advancing by payload length in each direction so
 * that TCP reassembly works; a message longer than {@link PCAPNG_MAX_SEGMENT} is split, PSH
 * on its last segment. The packets go into pcapng blocks (pcapng-blocks.ts).
 *
 * @module
 */
import { DEFAULT_PORT, HEADER_SIZE, type ChannelName } from '../../../codec/src/index.js';
import type { Role } from '../events.js';
import { EPB_DATA, enhancedPacket, interfaceDescription, interfaceStatistics, sectionHeader } from './pcapng-blocks.js';

/** The synthetic endpoints written into the file. */
export const PCAPNG_ENDPOINTS = {
  /** The master's side of every connection. */
  master: {
    /** IPv4 address. */
    ip: '10.0.0.1',
    /** Ethernet address. */
    mac: '02:00:00:00:00:01',
    /** TCP port: the spec's default port. */
    port: DEFAULT_PORT,
  },
  /** The backup's side of every connection. */
  backup: {
    /** IPv4 address. */
    ip: '10.0.0.2',
    /** Ethernet address. */
    mac: '02:00:00:00:00:02',
  },
  /** Backup port of each channel's first connection; later ones add 2 each. */
  firstPort: { send: 40001, receive: 40002 } as Readonly<Record<ChannelName, number>>,
} as const;

/** Largest TCP payload of one segment, in bytes. */
export const PCAPNG_MAX_SEGMENT = 65000;

/** One traced message, as {@link buildPcapng} and the writer take it. */
export interface PcapngRecord {
  /** Capture time: a bigint counts microseconds, a number milliseconds, since the epoch. */
  readonly ts: bigint | number;
  /** Channel of the message. */
  readonly channel: ChannelName;
  /** `tx` written by the tracing peer, `rx` read by it. */
  readonly direction: 'tx' | 'rx';
  /** Role of the tracing peer when the message's connection started. */
  readonly role: Role;
  /** The whole message, header included. */
  readonly frame: Uint8Array;
  /**
   * The transport's name of the other end, when known: messages with different remotes are
   * different TCP connections even on the same channel.
   */
  readonly remote?: string;
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
/** Window scale announced in SYN and SYN-ACK: 65535 << 7, about 8 MiB of window. */
const WINDOW_SHIFT = 7;
/** A side that received this much without answering sends a synthetic pure ACK. */
const ACK_EVERY = 1024 * 1024;
/** Most connections remembered at once; the least recently used is closed (FIN). */
const MAX_CONNECTIONS = 16;

const ipBytes = (ip: string): number[] => ip.split('.').map(Number);
const macBytes = (mac: string): number[] => mac.split(':').map((h) => Number.parseInt(h, 16));
const SIDES = {
  master: { ip: ipBytes(PCAPNG_ENDPOINTS.master.ip), mac: macBytes(PCAPNG_ENDPOINTS.master.mac) },
  backup: { ip: ipBytes(PCAPNG_ENDPOINTS.backup.ip), mac: macBytes(PCAPNG_ENDPOINTS.backup.mac) },
} as const;
const other = (side: Role): Role => (side === 'master' ? 'backup' : 'master');

/** Sum of big-endian 16-bit words, not yet folded (RFC 1071). */
function sum16(bytes: Uint8Array, from: number, to: number, initial = 0): number {
  let sum = initial;
  let i = from;
  for (; i + 1 < to; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < to) sum += bytes[i]! << 8;
  // Fold now and then: a 65000-byte payload would not overflow, but stay well clear.
  return (sum & 0xffff) + Math.floor(sum / 0x10000);
}

const fold = (sum: number): number => {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
};

/** Microseconds since the epoch from a record's `ts`. */
function micros(ts: bigint | number): bigint {
  return typeof ts === 'bigint' ? ts : BigInt(Math.round(ts * 1000));
}

/** One synthetic TCP connection: one KKCM connection of one channel. */
interface TcpConnection {
  readonly key: string;
  readonly channel: ChannelName;
  /** Side of the tracing peer. */
  readonly role: Role;
  readonly backupPort: number;
  /** Next sequence number each side sends. */
  readonly next: Record<Role, number>;
  /** What each side acknowledged last of the other's bytes. */
  readonly acked: Record<Role, number>;
  /** KKCM sequence number last seen in each direction. */
  readonly lastSeq: { tx: number | undefined; rx: number | undefined };
  /** IPv4 identification of each side. */
  readonly ipId: Record<Role, number>;
}

/** What one message becomes: connection set-up or tear-down first, then the message. */
export interface EncodedRecord {
  /** FIN of a replaced connection, SYN, SYN-ACK, ACK of a new one; often empty. */
  readonly control: Uint8Array[];
  /** The message's segments, and a pure ACK from the receiver now and then. */
  readonly data: Uint8Array[];
}

interface Segment {
  readonly conn: TcpConnection;
  readonly from: Role;
  readonly flags: number;
  readonly payload?: Uint8Array;
  readonly comment?: string;
}

/**
 * Turns records into pcapng blocks, keeping the TCP state of each connection.
 *
 * @internal used by `buildPcapng` and `PcapngWriter`.
 */
export class PcapngEncoder {
  private readonly connections = new Map<string, TcpConnection>();
  private readonly opened: Record<ChannelName, number> = { send: 0, receive: 0 };

  /** The blocks that open a file (SHB, IDB). */
  header(comment?: string): Uint8Array[] {
    const e = PCAPNG_ENDPOINTS;
    const text = `kkcm: JSR IPC over KKCM, traced by the kkcm reference peer. Synthetic Ethernet/IPv4/TCP framing: master ${e.master.ip}:${e.master.port}, backup ${e.backup.ip}, send channel from port ${e.firstPort.send}, receive channel from port ${e.firstPort.receive} (+2 per later connection).${comment !== undefined ? ` ${comment}` : ''}`;
    return [sectionHeader(text), interfaceDescription()];
  }

  /** The Interface Statistics Block that ends a file. */
  statistics(ts: bigint | number, seen: number, dropped: number): Uint8Array {
    return interfaceStatistics(micros(ts), seen, dropped);
  }

  /**
   * The Enhanced Packet Blocks of one message (`data`), and those of a connection's SYN,
   * SYN-ACK, ACK when it starts one, after the FIN exchange of the connection it replaces
   * (`control`, which go first).
   *
   * @param comment written on the message's first segment (`opt_comment`).
   */
  encode(record: PcapngRecord, comment?: string): EncodedRecord {
    const us = micros(record.ts);
    const frame = record.frame;
    const seq =
      frame.byteLength >= HEADER_SIZE
        ? ((frame[12]! << 24) | (frame[13]! << 16) | (frame[14]! << 8) | frame[15]!) >>> 0
        : undefined;
    const control: Uint8Array[] = [];
    const out: Uint8Array[] = [];
    const key = `${record.channel}|${record.remote ?? ''}`;
    let conn = this.connections.get(key);
    const last = conn?.lastSeq[record.direction];
    // A KKCM connection numbers each direction from 0: a 0 after anything but a wrap is a new one.
    if (conn !== undefined && seq === 0 && last !== undefined && last !== 0xffffffff) {
      this.close(conn, us, control);
      conn = undefined;
    }
    if (conn === undefined) conn = this.open(key, record, us, control);
    else {
      // Most recently used last, so eviction takes the oldest.
      this.connections.delete(key);
      this.connections.set(key, conn);
    }
    const from = record.direction === 'tx' ? conn.role : other(conn.role);
    for (let at = 0; at < frame.byteLength || at === 0; at += PCAPNG_MAX_SEGMENT) {
      const payload = frame.subarray(at, Math.min(frame.byteLength, at + PCAPNG_MAX_SEGMENT));
      const lastSegment = at + PCAPNG_MAX_SEGMENT >= frame.byteLength;
      out.push(
        this.packet(
          {
            conn,
            from,
            flags: TCP_ACK | (lastSegment ? TCP_PSH : 0),
            payload,
            ...(at === 0 && comment !== undefined ? { comment } : {}),
          },
          us,
        ),
      );
    }
    conn.lastSeq[record.direction] = seq;
    const to = other(from);
    if ((conn.next[from] - conn.acked[to]) >>> 0 >= ACK_EVERY)
      out.push(this.packet({ conn, from: to, flags: TCP_ACK }, us));
    return { control, data: out };
  }

  private open(key: string, record: PcapngRecord, us: bigint, out: Uint8Array[]): TcpConnection {
    if (this.connections.size >= MAX_CONNECTIONS) {
      const oldest = this.connections.values().next().value;
      if (oldest !== undefined) this.close(oldest, us, out);
    }
    const n = this.opened[record.channel]++;
    const conn: TcpConnection = {
      key,
      channel: record.channel,
      role: record.role,
      backupPort: PCAPNG_ENDPOINTS.firstPort[record.channel] + 2 * (n % 12000),
      next: { master: 0, backup: 0 },
      acked: { master: 0, backup: 0 },
      lastSeq: { tx: undefined, rx: undefined },
      ipId: { master: 0, backup: 0 },
    };
    this.connections.set(key, conn);
    // The backup connects (KKCM design 7.2.b); SYN and FIN each take one sequence number.
    out.push(this.packet({ conn, from: 'backup', flags: TCP_SYN }, us));
    conn.next.backup = 1;
    out.push(this.packet({ conn, from: 'master', flags: TCP_SYN | TCP_ACK }, us));
    conn.next.master = 1;
    out.push(this.packet({ conn, from: 'backup', flags: TCP_ACK }, us));
    return conn;
  }

  private close(conn: TcpConnection, us: bigint, out: Uint8Array[]): void {
    this.connections.delete(conn.key);
    out.push(this.packet({ conn, from: 'backup', flags: TCP_FIN | TCP_ACK }, us));
    conn.next.backup = (conn.next.backup + 1) >>> 0;
    out.push(this.packet({ conn, from: 'master', flags: TCP_FIN | TCP_ACK }, us));
    conn.next.master = (conn.next.master + 1) >>> 0;
    out.push(this.packet({ conn, from: 'backup', flags: TCP_ACK }, us));
  }

  /** One Ethernet/IPv4/TCP packet in an Enhanced Packet Block; advances the sender's sequence. */
  private packet(s: Segment, us: bigint): Uint8Array {
    const { conn, from, flags } = s;
    const to = other(from);
    const payload = s.payload ?? new Uint8Array(0);
    const syn = (flags & TCP_SYN) !== 0;
    // SYN options: MSS 65495, NOP, window scale.
    const tcpOptions = syn ? [2, 4, 0xff, 0xd7, 1, 3, 3, WINDOW_SHIFT] : [];
    const tcpLength = 20 + tcpOptions.length + payload.byteLength;
    const captured = 14 + 20 + tcpLength;
    const { bytes, view } = enhancedPacket(us, captured, from === conn.role, s.comment);

    const eth = EPB_DATA;
    bytes.set(SIDES[to].mac, eth);
    bytes.set(SIDES[from].mac, eth + 6);
    view.setUint16(eth + 12, 0x0800);

    const ip = eth + 14;
    bytes[ip] = 0x45;
    view.setUint16(ip + 2, 20 + tcpLength);
    view.setUint16(ip + 4, conn.ipId[from]);
    conn.ipId[from] = (conn.ipId[from] + 1) & 0xffff;
    view.setUint16(ip + 6, 0x4000); // don't fragment
    bytes[ip + 8] = 64;
    bytes[ip + 9] = 6;
    bytes.set(SIDES[from].ip, ip + 12);
    bytes.set(SIDES[to].ip, ip + 16);
    view.setUint16(ip + 10, fold(sum16(bytes, ip, ip + 20)));

    const tcp = ip + 20;
    const masterPort = PCAPNG_ENDPOINTS.master.port;
    view.setUint16(tcp, from === 'master' ? masterPort : conn.backupPort);
    view.setUint16(tcp + 2, from === 'master' ? conn.backupPort : masterPort);
    view.setUint32(tcp + 4, conn.next[from]);
    const ackFlag = (flags & TCP_ACK) !== 0;
    if (ackFlag) {
      view.setUint32(tcp + 8, conn.next[to]);
      conn.acked[from] = conn.next[to];
    }
    bytes[tcp + 12] = ((20 + tcpOptions.length) / 4) << 4;
    bytes[tcp + 13] = flags;
    view.setUint16(tcp + 14, 0xffff);
    bytes.set(tcpOptions, tcp + 20);
    bytes.set(payload, tcp + 20 + tcpOptions.length);
    // Pseudo-header: source, destination, protocol, TCP length.
    let sum = sum16(bytes, ip + 12, ip + 20, 6 + tcpLength);
    sum = sum16(bytes, tcp, tcp + tcpLength, sum);
    view.setUint16(tcp + 16, fold(sum));

    conn.next[from] = (conn.next[from] + payload.byteLength) >>> 0;
    return bytes;
  }
}
