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
 * This file writes and builds whole files; the TCP synthesis is in pcapng-tcp.ts and the
 * block format in pcapng-blocks.ts.
 *
 * @module
 */
import type { ChannelName } from '../../../codec/src/index.js';
import type { KkcmPeer } from '../peer.js';
import { TraceFileSink } from './file-sink.js';
import { compileTraceFilter, messageNameOf, type TraceFilter, type TraceMatcher } from './filter.js';
import { PcapngEncoder, type PcapngRecord } from './pcapng-tcp.js';

/** Options of {@link buildPcapng}. */
export interface BuildPcapngOptions {
  /** Text added to the section comment. */
  readonly comment?: string;
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
