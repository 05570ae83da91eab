/**
 * The JSON Lines event file: one JSON object per line with `ts` (milliseconds since the
 * epoch) and `event`, then the event's own fields (see `PeerEvent`): `listening`,
 * `connecting`, `session-up` (sessionId, version), `session-down` (reason), `cleanup`
 * (client, reason), `tx`/`rx` (channel, type, subtype, seq, length), `error` (code)…
 *
 * @module
 */
import type { PeerEvent } from '../events.js';
import type { KkcmPeer } from '../peer.js';
import { TraceFileSink } from './file-sink.js';
import { compileTraceFilter, type TraceFilter } from './filter.js';

/** Options of {@link attachEventLog}. */
export interface EventLogOptions {
  /** Which events to write (default all). */
  readonly filter?: TraceFilter;
  /** Time source for `ts`, in milliseconds since the epoch (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Bytes that may wait for the disk before lines are dropped (default 4 MiB). One line is
   * always accepted when nothing waits.
   */
  readonly maxBufferedBytes?: number;
}

/** The line written in place of lines the disk could not take: how many were lost. */
export interface TraceDroppedLine {
  /** Time of the line, in ms since the epoch. */
  readonly ts: number;
  /** Always `trace-dropped`. */
  readonly event: 'trace-dropped';
  /** Lines dropped since the previous `trace-dropped` line (or the start). */
  readonly count: number;
}

/** Serialises bigints as decimal strings: JSON has no 64-bit integers. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/**
 * A peer's event file. Writing never blocks the peer: when the disk cannot keep up, lines
 * beyond the buffer bound are dropped, counted in {@link EventLog.dropped}, and reported by a
 * `{"ts":…,"event":"trace-dropped","count":N}` line written before the next line that fits
 * (or at close).
 */
export class EventLog {
  private readonly peer: KkcmPeer;
  private readonly sink: TraceFileSink;
  private readonly now: () => number;
  private readonly accepts: (e: PeerEvent) => boolean;
  private unreported = 0;
  private droppedTotal = 0;
  private writtenTotal = 0;
  private closing: Promise<void> | undefined;

  /**
   * Creates the file and starts writing the peer's events.
   *
   * @throws the `fs` error when the file cannot be created; PeerError ERR_BAD_INPUT for an
   *   invalid filter.
   */
  constructor(peer: KkcmPeer, path: string, options: EventLogOptions = {}) {
    this.accepts = compileTraceFilter(options.filter).acceptsEvent;
    this.now = options.now ?? Date.now;
    this.sink = new TraceFileSink(path, options.maxBufferedBytes);
    this.peer = peer;
    peer.on('event', this.onEvent);
  }

  /** Lines dropped because the disk could not keep up (or the file failed), in total. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Event lines accepted for writing (`trace-dropped` lines not included). */
  get written(): number {
    return this.writtenTotal;
  }

  /**
   * Stops listening, writes what is buffered (and a last `trace-dropped` line if lines were
   * lost since the previous one) and closes the file. Safe to call twice.
   *
   * @throws (rejects with) the first write error when the file failed.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.peer.off('event', this.onEvent);
      if (this.unreported > 0 && this.sink.write([this.droppedLine()], true)) this.unreported = 0;
      this.closing = this.sink.close();
    }
    return this.closing;
  }

  private droppedLine(): string {
    const line: TraceDroppedLine = { ts: this.now(), event: 'trace-dropped', count: this.unreported };
    return `${JSON.stringify(line)}\n`;
  }

  private readonly onEvent = (e: PeerEvent): void => {
    if (!this.accepts(e)) return;
    const line = `${JSON.stringify({ ts: this.now(), ...e }, replacer)}\n`;
    const chunks = this.unreported > 0 ? [this.droppedLine(), line] : [line];
    if (this.sink.write(chunks)) {
      this.unreported = 0;
      this.writtenTotal++;
      return;
    }
    this.unreported++;
    this.droppedTotal++;
  };
}

/**
 * Writes every event of `peer` (filtered) to a JSON Lines file at `path`, one object per
 * line: `{"ts": <ms since the epoch>, "event": …, …fields}`, bigints as decimal strings.
 *
 * @returns the log; `close()` it to flush the file and detach from the peer.
 * @throws the `fs` error when the file cannot be created; PeerError ERR_BAD_INPUT for an
 *   invalid filter.
 */
export function attachEventLog(peer: KkcmPeer, path: string, options?: EventLogOptions): EventLog {
  return new EventLog(peer, path, options);
}
