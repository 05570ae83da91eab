/**
 * The lenient-but-legal peer: the reference peer made as awkward as the spec allows. It
 * writes every message in 1-byte pieces, a turn of the event loop apart and with a short
 * pause between messages; it holds ACKs back and coalesces them (ACK is cumulative); it
 * accepts only 8192-byte messages (above the protocol minimum); its node name is odd. A
 * conformance suite must pass it: a case that fails it expects more than the spec says.
 *
 * @module
 */
import type { PeerOptions } from '../../reference-impl/src/peer.js';
import { tcpTransport } from '../../reference-impl/src/tcp-transport.js';
import type { Connection, ConnectionHandlers, Listener, Transport } from '../../reference-impl/src/transport.js';
import { FrameSplitter, frameName, Header, writeU32 } from './frames.js';

/** How long an ACK is held back for coalescing, ms. */
const ACK_HOLD_MS = 20;
/** Pause between two messages, ms. */
const MESSAGE_PAUSE_MS = 1;

/** A connection that writes slowly, byte by byte, and coalesces ACKs. */
class LenientConnection implements Connection {
  readonly remote: string;
  readonly remoteHost: string;
  private readonly splitter = new FrameSplitter();
  /** Frames waiting to be written, already numbered. */
  private readonly queue: Uint8Array[] = [];
  /** Bytes of `queue[0]` already written. */
  private offset = 0;
  private pumping = false;
  private heldAck: Uint8Array | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private ending = false;
  private gone = false;
  private seq = 0;

  constructor(private readonly inner: Connection) {
    this.remote = inner.remote;
    this.remoteHost = inner.remoteHost;
  }

  attach(handlers: ConnectionHandlers): void {
    this.inner.attach({
      data: handlers.data,
      drain: handlers.drain,
      close: (error) => {
        this.stop();
        handlers.close(error);
      },
    });
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.gone) return false;
    for (const frame of this.splitter.push(chunks)) {
      if (frameName(frame) === 'control.ack') {
        // A newer ACK confirms everything the held one did: keep only the newest.
        this.heldAck = frame;
        this.ackTimer ??= setTimeout(this.releaseAck, ACK_HOLD_MS);
        continue;
      }
      // SHUTDOWN and ERROR are the last words: no ACK may follow them.
      if (frameName(frame) === 'control.shutdown' || frameName(frame) === 'control.error') this.releaseAck();
      this.enqueue(frame);
    }
    // The queue is ours and unbounded here: the peer never has to wait for a drain.
    return true;
  }

  end(): void {
    this.releaseAck();
    this.ending = true;
    if (!this.pumping) this.inner.end();
  }

  destroy(): void {
    this.stop();
    this.inner.destroy();
  }

  private readonly releaseAck = (): void => {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const ack = this.heldAck;
    this.heldAck = undefined;
    if (ack !== undefined && !this.gone) this.enqueue(ack);
  };

  /** Numbers a frame in the order it will be written (the ACKs moved). [KKCM-SEQ-1] */
  private enqueue(frame: Uint8Array): void {
    const copy = Uint8Array.from(frame);
    writeU32(copy, Header.seq, this.seq);
    this.seq = (this.seq + 1) >>> 0;
    this.queue.push(copy);
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(this.pump);
    }
  }

  private readonly pump = (): void => {
    if (this.gone) return;
    const frame = this.queue[0];
    if (frame === undefined) {
      this.pumping = false;
      if (this.ending) this.inner.end();
      return;
    }
    this.inner.write([frame.subarray(this.offset, this.offset + 1)]);
    this.offset++;
    if (this.offset < frame.byteLength) {
      setImmediate(this.pump);
      return;
    }
    this.queue.shift();
    this.offset = 0;
    setTimeout(this.pump, MESSAGE_PAUSE_MS);
  };

  private stop(): void {
    this.gone = true;
    clearTimeout(this.ackTimer);
    this.queue.length = 0;
  }
}

/** Wraps a transport so that every connection writes the lenient way. */
export function lenientTransport(inner: Transport): Transport {
  return {
    listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
      return inner.listen(host, port, (c) => onConnection(new LenientConnection(c)));
    },
    async connect(host: string, port: number): Promise<Connection> {
      return new LenientConnection(await inner.connect(host, port));
    },
  };
}

/** A legal peer that differs from the reference peer in every way the spec leaves open. */
export interface LenientPeer {
  readonly name: string;
  /** What it does differently, for reports. */
  readonly description: string;
  readonly customize: (options: PeerOptions) => PeerOptions;
}

/** The lenient-but-legal peer. */
export const LENIENT: LenientPeer = {
  name: 'lenient-slow-writer',
  description:
    'writes 1-byte pieces with pauses, holds and coalesces ACKs, accepts only 8192-byte messages, odd node name',
  customize: (options) => ({
    ...options,
    transport: lenientTransport(options.transport ?? tcpTransport),
    maxMessage: 8192,
    nodeId: 0xffffffff,
    nodeName: 'lenient ☃ péer/β \u{1F600}',
  }),
};
