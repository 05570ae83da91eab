/**
 * One direction of a proxied connection: the bytes from one leg to the other, the message
 * boundaries in them, and the faults that act on them (stalls, cuts, garbage). Used by
 * {@link FaultProxy} (see proxy.ts for the vocabulary and when each fault takes effect).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { decodeHeader, HEADER_SIZE, Limits, type Header } from '../../../codec/src/index.js';
import { Timer, type Clock } from '../../../reference-impl/src/index.js';
import { Prng } from '../prng.js';
import type { CutMessage, FaultHit, ProxyConnectionInfo, ProxyFault, Toward } from './proxy-faults.js';

/** Largest first message toward the listener held to be decoded as a HELLO. */
export const HELLO_CAPTURE_MAX = 4096;

/** What a direction needs of the pair it belongs to. */
export interface DirectionOwner {
  /** The pair as `connections()` reports it. */
  info(): ProxyConnectionInfo;
  /** Counts bytes forwarded toward one side. */
  countBytes(toward: Toward, n: number): void;
  /** The source of a direction sent FIN. */
  noteEnd(side: Toward): void;
  /** A fault ends the pair. */
  finish(kind: ProxyFault['kind']): void;
}

/** Header checks of the tracker: any version, any length up to the protocol's absolute limit. */
export const HEADER_OPTIONS = { anyVersion: true, maxMessage: Limits.absoluteMaxMessage } as const;

/** A message start seen by a tracker, and its header once complete. */
interface Mark {
  readonly start: number;
  header: Header | undefined;
}

/**
 * Message boundaries of one byte stream, in stream offsets. Only the bytes of a header that
 * straddles chunks are copied (16 at most), plus the first message while it may be a HELLO.
 */
export class BoundaryTracker {
  /** Message starts at or after the forwarding point (pruned by the direction). */
  readonly marks: Mark[] = [];
  /** Bytes read from the stream. */
  offset = 0;
  /** Headers read. */
  messages = 0;
  /** Stream offset where the tracking stopped (a header the codec refused), if it did. */
  lostAt: number | undefined;
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  /** Stream offset where the current message ends. */
  private end = 0;
  private first: Uint8Array[] | undefined;

  /** @param onFirst - called once with the first whole message, when it fits the capture bound. */
  constructor(private readonly onFirst?: (frame: Uint8Array) => void) {
    if (onFirst !== undefined) this.first = [];
  }

  /** True when every byte read so far ends a message (nothing of the next one seen yet). */
  get atBoundary(): boolean {
    return this.lostAt === undefined && this.headFill === 0 && this.offset >= this.end;
  }

  push(chunk: Uint8Array): void {
    this.capture(chunk);
    let pos = 0;
    while (pos < chunk.byteLength && this.lostAt === undefined) {
      pos = this.offset < this.end ? this.skipBody(chunk, pos) : this.readHeader(chunk, pos);
    }
    // Past a lost point the offset still counts the stream, for the direction's bookkeeping.
    if (this.lostAt !== undefined) this.offset += chunk.byteLength - pos;
  }

  private skipBody(chunk: Uint8Array, pos: number): number {
    const take = Math.min(this.end - this.offset, chunk.byteLength - pos);
    this.offset += take;
    return pos + take;
  }

  private readHeader(chunk: Uint8Array, pos: number): number {
    if (this.headFill === 0) this.marks.push({ start: this.offset, header: undefined });
    const take = Math.min(HEADER_SIZE - this.headFill, chunk.byteLength - pos);
    this.head.set(chunk.subarray(pos, pos + take), this.headFill);
    this.headFill += take;
    this.offset += take;
    if (this.headFill < HEADER_SIZE) return pos + take;
    this.headFill = 0;
    const mark = this.marks[this.marks.length - 1]!;
    try {
      mark.header = decodeHeader(this.head, HEADER_OPTIONS);
    } catch {
      // Garbage or a huge length: never buffer toward it; boundaries are unknown from here on.
      this.lostAt = mark.start;
      this.first = undefined;
      return pos + take;
    }
    this.messages++;
    this.end = mark.start + mark.header.length;
    return pos + take;
  }

  private capture(chunk: Uint8Array): void {
    const first = this.first;
    if (first === undefined) return;
    first.push(chunk);
    const held = this.offset + chunk.byteLength;
    const length = held >= HEADER_SIZE ? this.firstLength(first) : undefined;
    if (length === undefined && held < HEADER_SIZE) return;
    this.first = undefined;
    if (length === undefined || length > HELLO_CAPTURE_MAX) return;
    if (held < length) {
      this.first = first;
      return;
    }
    this.onFirst?.(Buffer.concat(first).subarray(0, length));
  }

  private firstLength(first: readonly Uint8Array[]): number | undefined {
    try {
      return decodeHeader(Buffer.concat(first).subarray(0, HEADER_SIZE), HEADER_OPTIONS).length;
    } catch {
      return undefined;
    }
  }
}

/** A fault waiting in a direction for a boundary or a message. */
interface Plan {
  readonly kind: 'garbage' | 'stall-writer' | 'partial-close';
  /** Forwarding offset when armed: the message cut is the first that starts at or after it. */
  readonly armedAt: number;
  readonly fault: ProxyFault;
  /** Called once, when the fault took effect (with the hit) or gave up (undefined). */
  readonly done: (hit: FaultHit | undefined) => void;
}

/** Where a plan stops the forwarding: fire at `at`, or wait there for more bytes. */
type Stop = { readonly at: number; readonly fire: boolean; readonly cut?: CutMessage } | undefined;

/** One direction of a pair: reads `source`, writes `sink`, applies the faults aimed at it. */
export class Direction {
  readonly tracker: BoundaryTracker;
  /** Bytes forwarded; also the stream offset of the next byte to forward. */
  forwarded = 0;
  /** The source sent FIN. */
  sourceEnded = false;
  /** We ended the sink (FIN toward it): later bytes are dropped. */
  sinkEnded = false;
  plan: Plan | undefined;
  private readonly queue: Buffer[] = [];
  /** Stream offset of `queue[0]`'s first byte. */
  private queueStart = 0;
  private sinkBlocked = false;
  private readerStalled = false;
  private holding = false;
  private readonly stallTimer: Timer;
  private readonly holdTimer: Timer;

  constructor(
    readonly toward: Toward,
    private readonly pair: DirectionOwner,
    readonly source: Socket,
    readonly sink: Socket,
    clock: Clock,
    onFirst?: (frame: Uint8Array) => void,
  ) {
    this.tracker = new BoundaryTracker(onFirst);
    this.stallTimer = new Timer(clock);
    this.holdTimer = new Timer(clock);
  }

  /** A stall-reader or a stall-writer's hold is in progress. */
  get stalled(): boolean {
    return this.holding || this.readerStalled;
  }

  /** A stall or an armed fault is in progress. */
  get busy(): boolean {
    return this.plan !== undefined || this.holding || this.readerStalled;
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.sinkEnded) return;
    this.tracker.push(chunk);
    if (this.queue.length === 0) this.queueStart = this.forwarded;
    this.queue.push(chunk);
    this.pump();
  };

  readonly onEnd = (): void => {
    this.sourceEnded = true;
    this.pump();
  };

  readonly onDrain = (): void => {
    this.sinkBlocked = false;
    this.pump();
  };

  /** Stops reading the source for `ms` (stall-reader). */
  stallReader(ms: number): void {
    this.readerStalled = true;
    this.updateFlow();
    this.stallTimer.start(ms, () => {
      this.readerStalled = false;
      this.updateFlow();
    });
  }

  /** Ends the sink now (half-close toward it); bytes still queued for it are dropped. */
  endSink(): void {
    if (this.sinkEnded) return;
    this.sinkEnded = true;
    this.queue.length = 0;
    this.holding = false;
    this.holdTimer.stop();
    if (!this.sink.destroyed) this.sink.end();
    this.updateFlow();
  }

  /** Arms a fault that waits for a boundary or a message, and tries it at once. */
  arm(plan: Omit<Plan, 'armedAt'>): void {
    this.plan = { ...plan, armedAt: this.forwarded };
    this.pump();
  }

  /** Gives up an armed fault (its wait ran out): bytes it held back go on. */
  disarm(): void {
    const plan = this.plan;
    if (plan === undefined) return;
    this.plan = undefined;
    plan.done(undefined);
    this.pump();
  }

  /** Cancels every timer and gives up an armed fault; the pair is gone. */
  stop(): void {
    this.stallTimer.stop();
    this.holdTimer.stop();
    const plan = this.plan;
    this.plan = undefined;
    plan?.done(undefined);
  }

  /** Forwards what may go, stopping where an armed fault says. */
  private pump(): void {
    while (!this.holding && !this.sinkBlocked && !this.sinkEnded && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const chunkEnd = this.queueStart + chunk.byteLength;
      const stop = this.plan === undefined ? undefined : this.stopIn(this.plan, chunkEnd);
      const to = stop?.at ?? chunkEnd;
      if (to > this.forwarded) this.write(chunk.subarray(this.forwarded - this.queueStart, to - this.queueStart));
      this.forwarded = to;
      if (to === chunkEnd) {
        this.queue.shift();
        this.queueStart = chunkEnd;
      }
      this.prune();
      if (stop !== undefined && !stop.fire) break;
      if (stop !== undefined) this.fire(stop);
    }
    // Garbage at the boundary the stream is resting on: nothing more needs to arrive.
    if (
      this.plan?.kind === 'garbage' &&
      this.queue.length === 0 &&
      !this.holding &&
      !this.sinkEnded &&
      (this.tracker.atBoundary || this.tracker.lostAt !== undefined)
    )
      this.fire({ at: this.forwarded, fire: true });
    if (this.sourceEnded && this.queue.length === 0 && !this.holding && !this.sinkEnded) {
      this.sinkEnded = true;
      this.pair.noteEnd(this.toward === 'listener' ? 'connector' : 'listener');
      if (!this.sink.destroyed) this.sink.end();
    }
    this.updateFlow();
  }

  /** Where `plan` stops the forwarding of bytes up to `chunkEnd`, if it does. */
  private stopIn(plan: Plan, chunkEnd: number): Stop {
    const from = this.forwarded;
    if (plan.kind === 'garbage') {
      const mark = this.tracker.marks.find((m) => m.start >= from && m.start <= chunkEnd);
      if (mark !== undefined) return { at: mark.start, fire: true };
      // Boundaries unknown: at the current position.
      return this.tracker.lostAt !== undefined && this.tracker.lostAt <= from ? { at: from, fire: true } : undefined;
    }
    const mark = this.tracker.marks.find((m) => m.start >= plan.armedAt);
    if (mark === undefined || mark.start > chunkEnd) {
      if (this.tracker.lostAt !== undefined && this.tracker.lostAt <= chunkEnd && from < chunkEnd)
        return { at: from + 1, fire: true };
      return undefined;
    }
    const header = mark.header;
    if (header === undefined) {
      if (this.tracker.lostAt === mark.start) {
        const at = Math.max(from, mark.start) + 1;
        return at <= chunkEnd ? { at, fire: true } : undefined;
      }
      // The header straddles: wait at its start for the rest of it, to know where its middle is.
      return { at: Math.max(from, mark.start), fire: false };
    }
    const at = Math.max(mark.start + Math.floor(header.length / 2), from);
    if (at > chunkEnd) return undefined;
    return {
      at,
      fire: true,
      cut: {
        seq: header.seq,
        type: header.type,
        subtype: header.subtype,
        length: header.length,
        forwarded: at - mark.start,
      },
    };
  }

  private fire(stop: NonNullable<Stop>): void {
    const plan = this.plan!;
    this.plan = undefined;
    const connection = this.pair.info();
    const fault = plan.fault;
    if (fault.kind === 'garbage') {
      this.write(new Prng(fault.seed).bytes(fault.bytes), false);
      plan.done({ connection, at: stop.at });
    } else if (fault.kind === 'stall-writer') {
      this.holding = true;
      this.holdTimer.start(fault.ms, () => {
        this.holding = false;
        this.pump();
      });
      plan.done({ connection, ...(stop.cut !== undefined ? { cut: stop.cut } : {}) });
    } else {
      plan.done({ connection, ...(stop.cut !== undefined ? { cut: stop.cut } : {}) });
      this.pair.finish('partial-close');
    }
  }

  private write(bytes: Uint8Array, counted = true): void {
    if (this.sink.destroyed) return;
    if (!this.sink.write(bytes)) this.sinkBlocked = true;
    if (counted) this.pair.countBytes(this.toward, bytes.byteLength);
  }

  /** Drops marks of messages wholly forwarded, keeping the one the forwarding point is in. */
  private prune(): void {
    const marks = this.tracker.marks;
    let keep = 0;
    while (keep + 1 < marks.length && marks[keep + 1]!.start <= this.forwarded) keep++;
    if (keep > 0) marks.splice(0, keep);
  }

  /** Reads the source unless a stall, a hold or a full sink says not to. */
  private updateFlow(): void {
    if (this.source.destroyed) return;
    if (this.readerStalled || this.holding || this.sinkBlocked) this.source.pause();
    else if (!this.sourceEnded) this.source.resume();
  }
}
