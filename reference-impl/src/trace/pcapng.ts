/**
 * The pcapng trace: every traced KKCM message as synthetic Ethernet/IPv4/TCP segments, so
 * that Wireshark (with the KKCM dissector) shows the two channels as two TCP streams.
 *
 * Layout of the file: a Section Header Block (comment naming kkcm), one Interface
 * Description Block (LINKTYPE_ETHERNET, microsecond timestamps: the `if_tsresol` default),
 * Enhanced Packet Blocks, and an Interface Statistics Block at close (messages seen and
 * dropped). The addresses are written into the file only, never used on the network:
 *
 * - master `10.0.0.1`, port 7000 (the spec's default port) for both channels;
 * - backup `10.0.0.2`, port 40001 for the send channel and 40002 for the receive channel,
 *   plus 2 for each later connection of the same channel;
 * - each connection opens with SYN, SYN-ACK, ACK (the backup connects, as in KKCM), and its
 *   sequence numbers advance by payload length in each direction, so TCP reassembly works;
 *   a connection replaced by a new one of the same channel ends with FIN, FIN, ACK;
 * - a message larger than {@link PCAPNG_MAX_SEGMENT} bytes is split into several segments,
 *   PSH set on the last.
 *
 * @module
 */
import { DEFAULT_PORT, HEADER_SIZE, type ChannelName } from '../../../codec/src/index.js';
import type { Role } from '../events.js';
import type { KkcmPeer } from '../peer.js';
import { TraceFileSink } from './file-sink.js';
import { compileTraceFilter, messageNameOf, type TraceFilter, type TraceMatcher } from './filter.js';

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

/** Options of {@link buildPcapng}. */
export interface BuildPcapngOptions {
  /** Text added to the section comment. */
  readonly comment?: string;
}

// ------------------------------------------------------------------ block encoding

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_ISB = 0x00000005;
const BT_EPB = 0x00000006;
const OPT_COMMENT = 1;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

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

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

interface BlockOption {
  readonly code: number;
  readonly value: Uint8Array;
}

const u32Option = (code: number, value: number): BlockOption => {
  const v = new Uint8Array(4);
  new DataView(v.buffer).setUint32(0, value, true);
  return { code, value: v };
};
const u64Option = (code: number, value: bigint): BlockOption => {
  const v = new Uint8Array(8);
  new DataView(v.buffer).setBigUint64(0, value, true);
  return { code, value: v };
};
const tsOption = (code: number, us: bigint): BlockOption => {
  const v = new Uint8Array(8);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, Number((us >> 32n) & 0xffffffffn), true);
  dv.setUint32(4, Number(us & 0xffffffffn), true);
  return { code, value: v };
};
const textOption = (code: number, text: string): BlockOption => ({ code, value: utf8.encode(text) });

const optionsSize = (options: readonly BlockOption[]): number =>
  options.length === 0 ? 0 : options.reduce((n, o) => n + 4 + pad4(o.value.byteLength), 4);

/**
 * Allocates a block of `bodySize` bytes of fixed fields plus options, writes the type, both
 * lengths and the options (little-endian, announced by the SHB's byte-order magic), and
 * returns it with a view; the caller fills the body from offset 8.
 */
function block(type: number, bodySize: number, options: readonly BlockOption[]): { bytes: Uint8Array; view: DataView } {
  const total = 8 + bodySize + optionsSize(options) + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  let at = 8 + bodySize;
  for (const o of options) {
    view.setUint16(at, o.code, true);
    view.setUint16(at + 2, o.value.byteLength, true);
    bytes.set(o.value, at + 4);
    at += 4 + pad4(o.value.byteLength);
  }
  // opt_endofopt is the four zero bytes already there.
  view.setUint32(total - 4, total, true);
  return { bytes, view };
}

function sectionHeader(comment: string | undefined): Uint8Array {
  const text = `kkcm: JSR IPC over KKCM, traced by the kkcm reference peer. Synthetic Ethernet/IPv4/TCP framing: master ${PCAPNG_ENDPOINTS.master.ip}:${PCAPNG_ENDPOINTS.master.port}, backup ${PCAPNG_ENDPOINTS.backup.ip}, send channel from port ${PCAPNG_ENDPOINTS.firstPort.send}, receive channel from port ${PCAPNG_ENDPOINTS.firstPort.receive} (+2 per later connection).${comment !== undefined ? ` ${comment}` : ''}`;
  const { bytes, view } = block(BT_SHB, 16, [
    textOption(OPT_COMMENT, text),
    textOption(4 /* shb_userappl */, 'kkcm reference peer'),
  ]);
  view.setUint32(8, 0x1a2b3c4d, true);
  view.setUint16(12, 1, true);
  view.setUint16(14, 0, true);
  view.setBigInt64(16, -1n, true); // section length not given
  return bytes;
}

function interfaceDescription(): Uint8Array {
  const { bytes, view } = block(BT_IDB, 8, [
    textOption(2 /* if_name */, 'kkcm'),
    textOption(3 /* if_description */, 'synthetic: KKCM messages as TCP segments between master and backup'),
  ]);
  view.setUint16(8, LINKTYPE_ETHERNET, true);
  view.setUint32(12, SNAPLEN, true);
  return bytes;
}

function interfaceStatistics(us: bigint, seen: number, dropped: number): Uint8Array {
  const { bytes, view } = block(BT_ISB, 12, [
    textOption(
      OPT_COMMENT,
      `kkcm: ${seen} messages traced, ${dropped} dropped because the trace file could not keep up (counts are messages, not segments)`,
    ),
    tsOption(3 /* isb_endtime */, us),
    u64Option(4 /* isb_ifrecv */, BigInt(seen)),
    u64Option(5 /* isb_ifdrop */, BigInt(dropped)),
  ]);
  view.setUint32(8, 0, true);
  view.setUint32(12, Number((us >> 32n) & 0xffffffffn), true);
  view.setUint32(16, Number(us & 0xffffffffn), true);
  return bytes;
}

/** The fixed blocks that open every file: SHB then IDB. */
function fileHeader(comment: string | undefined): Uint8Array[] {
  return [sectionHeader(comment), interfaceDescription()];
}

// ------------------------------------------------------------------ packets

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
 * @internal used by {@link buildPcapng} and {@link PcapngWriter}.
 */
export class PcapngEncoder {
  private readonly connections = new Map<string, TcpConnection>();
  private readonly opened: Record<ChannelName, number> = { send: 0, receive: 0 };

  /** The blocks that open a file (SHB, IDB). */
  header(comment?: string): Uint8Array[] {
    return fileHeader(comment);
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
    const options: BlockOption[] = [
      u32Option(2 /* epb_flags */, from === conn.role ? 2 /* outbound */ : 1 /* inbound */),
    ];
    if (s.comment !== undefined) options.push(textOption(OPT_COMMENT, s.comment));
    const { bytes, view } = block(BT_EPB, 20 + pad4(captured), options);
    view.setUint32(8, 0, true);
    view.setUint32(12, Number((us >> 32n) & 0xffffffffn), true);
    view.setUint32(16, Number(us & 0xffffffffn), true);
    view.setUint32(20, captured, true);
    view.setUint32(24, captured, true);

    const eth = 28;
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

/** Concatenates blocks. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Builds a whole pcapng file from traced messages, in order: the same bytes the
 * {@link PcapngWriter} writes for them, without the closing statistics block. Pure: for
 * tests, the dissector's tests and offline conversion.
 *
 * @returns the file's bytes.
 */
export function buildPcapng(records: Iterable<PcapngRecord>, options: BuildPcapngOptions = {}): Uint8Array {
  const encoder = new PcapngEncoder();
  const parts = encoder.header(options.comment);
  for (const r of records) {
    const { control, data } = encoder.encode(r);
    parts.push(...control, ...data);
  }
  return concat(parts);
}

// ------------------------------------------------------------------ the writer

/** Options of {@link attachPcapng}. */
export interface PcapngWriterOptions {
  /** Which messages to write (default all); `events` can leave out `tx` or `rx`. */
  readonly filter?: TraceFilter;
  /**
   * Time source: a bigint counts microseconds, a number milliseconds, since the epoch
   * (default the system clock at microsecond resolution).
   */
  readonly now?: () => bigint | number;
  /** Bytes that may wait for the disk before messages are dropped (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Text added to the section comment. */
  readonly comment?: string;
}

const systemMicros = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

/**
 * A peer's pcapng trace file. Writing never blocks the peer: a message that does not fit
 * the buffer bound is dropped and counted ({@link PcapngWriter.dropped}); its TCP bytes are
 * still counted in the sequence numbers, so Wireshark shows the gap ("previous segment not
 * captured"), and the next message written carries a comment saying how many were lost.
 * Messages left out by the filter leave no gap: the stream holds only what was selected.
 */
export class PcapngWriter {
  private readonly peer: KkcmPeer;
  private readonly sink: TraceFileSink;
  private readonly encoder = new PcapngEncoder();
  private readonly now: () => bigint | number;
  private readonly accepts: TraceMatcher['acceptsMessage'];
  private unreported = 0;
  private droppedTotal = 0;
  private writtenTotal = 0;
  private closing: Promise<void> | undefined;

  /**
   * Creates the file, writes its header blocks and starts writing the peer's messages.
   *
   * @throws the `fs` error when the file cannot be created; PeerError ERR_BAD_INPUT for an
   *   invalid filter.
   */
  constructor(peer: KkcmPeer, path: string, options: PcapngWriterOptions = {}) {
    this.accepts = compileTraceFilter(options.filter).acceptsMessage;
    this.now = options.now ?? systemMicros;
    this.sink = new TraceFileSink(path, options.maxBufferedBytes);
    this.sink.write(this.encoder.header(options.comment), true);
    this.peer = peer;
    peer.on('frame', this.onFrame);
  }

  /** Messages dropped because the disk could not keep up (or the file failed). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Messages accepted for writing. */
  get written(): number {
    return this.writtenTotal;
  }

  /**
   * Stops listening, writes the statistics block and what is buffered, and closes the file.
   * Safe to call twice.
   *
   * @throws (rejects with) the first write error when the file failed.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.peer.off('frame', this.onFrame);
      this.sink.write(
        [this.encoder.statistics(this.now(), this.writtenTotal + this.droppedTotal, this.droppedTotal)],
        true,
      );
      this.closing = this.sink.close();
    }
    return this.closing;
  }

  private readonly onFrame = (
    channel: ChannelName,
    direction: 'tx' | 'rx',
    frame: Uint8Array,
    remote: string,
  ): void => {
    const type = frame[6] ?? 0;
    if (!this.accepts({ direction, channel, type, name: messageNameOf(type, frame[7] ?? 0) })) return;
    const comment =
      this.unreported > 0
        ? `kkcm: ${this.unreported} messages dropped before this one: the trace file could not keep up`
        : undefined;
    const { control, data } = this.encoder.encode(
      { ts: this.now(), channel, direction, role: this.peer.role, frame, remote },
      comment,
    );
    if (this.sink.write([...control, ...data])) {
      this.unreported = 0;
      this.writtenTotal++;
      return;
    }
    // Keep the few bytes that open and close connections, so every stream stays whole.
    if (control.length > 0) this.sink.write(control, true);
    this.unreported++;
    this.droppedTotal++;
  };
}

/**
 * Writes every message `peer` sends or receives (filtered) to a pcapng file at `path`, as
 * synthetic TCP segments between master `10.0.0.1:7000` and backup `10.0.0.2` (see the
 * module comment for the layout). The master side of each connection comes from the peer's
 * role (`peer.role`) when the connection's first message is traced.
 *
 * @returns the writer; `close()` it to flush the file and detach from the peer.
 * @throws the `fs` error when the file cannot be created; PeerError ERR_BAD_INPUT for an
 *   invalid filter.
 */
export function attachPcapng(peer: KkcmPeer, path: string, options?: PcapngWriterOptions): PcapngWriter {
  return new PcapngWriter(peer, path, options);
}
