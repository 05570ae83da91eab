/**
 * A transport wrapper that lets a mutant peer misbehave on the wire without a change to the
 * reference peer: it rewrites the bytes the peer reads and the frames it writes, and can
 * ignore the peer's requests to close a connection.
 *
 * @module
 */
import type { Connection, ConnectionHandlers, Listener, Transport } from '../../reference-impl/src/transport.js';
import { FrameSplitter, Header, writeU32 } from './frames.js';

/** What a mutant does to one connection. Every hook is optional; absent means untouched. */
export interface Tap {
  /** Bytes arrived for the peer: returns what the peer reads instead, in order. */
  read?(chunk: Uint8Array): readonly Uint8Array[];
  /**
   * The peer writes these whole frames (one write call): returns what goes on the wire.
   * Sequence numbers are restamped afterwards when {@link Tap.restamp} is set.
   */
  write?(frames: readonly Uint8Array[]): readonly Uint8Array[];
  /**
   * Sequence number given to the first frame written when the tap restamps every written
   * frame (0 for a tap that drops, adds or reorders frames and must keep the numbering
   * legal; anything else breaks KKCM-SEQ-1). Absent: written frames keep their numbers.
   */
  readonly restamp?: number;
  /** Called with the delivery of a close to the peer (the connection failed or ended). */
  closing?(deliver: () => void): void;
  /** The peer asks to end or destroy the connection: return false to ignore the request. */
  closeRequested?(how: 'end' | 'destroy'): boolean;
}

/** Builds the tap of each new connection (accepted or connected). */
export type TapFactory = (connection: Connection) => Tap;

class TappedConnection implements Connection {
  readonly remote: string;
  readonly remoteHost: string;
  private readonly splitter = new FrameSplitter();
  private nextSeq: number;
  private readonly tap: Tap;

  constructor(
    private readonly inner: Connection,
    factory: TapFactory,
  ) {
    this.remote = inner.remote;
    this.remoteHost = inner.remoteHost;
    this.tap = factory(this);
    this.nextSeq = this.tap.restamp ?? 0;
  }

  attach(handlers: ConnectionHandlers): void {
    const { read, closing } = this.tap;
    this.inner.attach({
      data:
        read === undefined
          ? handlers.data
          : (chunk) => {
              for (const piece of read.call(this.tap, chunk)) if (piece.byteLength > 0) handlers.data(piece);
            },
      drain: handlers.drain,
      close: closing === undefined ? handlers.close : (error) => closing.call(this.tap, () => handlers.close(error)),
    });
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.tap.write === undefined && this.tap.restamp === undefined) return this.inner.write(chunks);
    const frames = this.splitter.push(chunks);
    const out = this.tap.write === undefined ? frames : [...this.tap.write(frames)];
    if (this.tap.restamp !== undefined) {
      for (let i = 0; i < out.length; i++) {
        const frame = Uint8Array.from(out[i]!);
        writeU32(frame, Header.seq, this.nextSeq);
        this.nextSeq = (this.nextSeq + 1) >>> 0;
        out[i] = frame;
      }
    }
    // An empty write still reports the transport's state (nothing queued: writable).
    return out.length === 0 ? true : this.inner.write(out);
  }

  end(): void {
    if (this.tap.closeRequested?.('end') !== false) this.inner.end();
  }

  destroy(): void {
    if (this.tap.closeRequested?.('destroy') !== false) this.inner.destroy();
  }
}

/**
 * Wraps a transport so that every connection it makes or accepts goes through a tap built
 * by `factory`. A new wrapper per peer instance: state shared between the connections of
 * one peer (both channels) can live in the factory's closure.
 */
export function tapTransport(inner: Transport, factory: TapFactory): Transport {
  return {
    listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
      return inner.listen(host, port, (c) => onConnection(new TappedConnection(c, factory)));
    },
    async connect(host: string, port: number): Promise<Connection> {
      return new TappedConnection(await inner.connect(host, port), factory);
    },
  };
}
