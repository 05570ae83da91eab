/**
 * The baseline of the end-to-end benchmark: a raw Node.js TCP sender and receiver, in two
 * processes like the peers, exchanging the same bytes with the same length framing and no
 * KKCM logic. It is what the benchmark calls "the best a Node.js program can do", so it is
 * kept here, where anyone can check that it is a fair one:
 *
 * - Same bytes: a PRL PACKET is encoded by hand into a fresh buffer (the 16-byte header with
 *   the length and a sequence number, then the body), the caller's payload copied, as the
 *   peer's `send` encodes at once. `e2e.ts` checks, before timing, that these bytes are
 *   exactly what the codec encodes.
 * - Same batching freedom: messages wait in a queue bounded like the peer's (4096 messages,
 *   8 MiB); one flush per event-loop turn (`setImmediate`) writes them in batches of up to
 *   256 KiB under `cork`/`uncork` (one `writev`), stops when the socket's buffer is full and
 *   resumes on `drain`; a sender whose queue is full waits for room. Nagle is off.
 * - Same receive work: a framer reads the length from each header and hands each whole
 *   message out where it lies in the chunk; only a message that straddles chunks is copied,
 *   once, into a buffer of its length. The handler reads the handle, as the peer's does.
 * - No KKCM logic: no magic, version, type or sequence checks, no decoding, no handshake,
 *   no statistics, no tracing, one connection. The echo side writes the received bytes back
 *   as they are (the peer's echo encodes a new message).
 *
 * Run by `e2e.ts` (through `workers.ts`) under `node --import tsx --expose-gc` and the same
 * heap options as the peers (see `workload.ts` for the commands); the encoder is also
 * imported by `e2e.ts` for its check.
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { HEADER_SIZE, Limits } from '../codec/src/index.js';
import {
  handleOf,
  PACKET_FIXED_BODY,
  PACKET_TIMESTAMP_NS,
  payloadOf,
  serveCommands,
  TRANSFER_MIN,
  type BenchEndpoint,
  type EndpointSink,
  type InitCommand,
  type LoadSpec,
} from './workload.js';

const HOST = '127.0.0.1';
const MAGIC = 0x4b4b434d;
const VERSION = 1;
const PRL = 32;
const PRL_PACKET = 1;
const PRL_OPAQUE = 3;
/** The buffer a connecting socket reads into, as the peer's. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Largest batch handed to the socket in one write, as the peer's link. */
const BATCH_BYTES = 256 * 1024;

function header(b: Buffer, type: number, subtype: number, length: number, seq: number): void {
  b.writeUInt32BE(MAGIC, 0);
  b[4] = VERSION;
  b[5] = 0;
  b[6] = type;
  b[7] = subtype;
  b.writeUInt32BE(length, 8);
  b.writeUInt32BE(seq, 12);
}

/**
 * Encodes message `i` of a PRL PACKET load with sequence number `seq`: the bytes the codec
 * encodes for the same values, in a fresh buffer.
 *
 * @throws Error for another kind (the baseline only carries PACKETs and echoes).
 */
export function encodeRawPacket(load: LoadSpec, i: number, seq: number): Buffer {
  if (load.kind !== 'prl.packet') throw new Error(`the raw baseline sends PRL PACKETs only, not ${load.kind}`);
  const payload = payloadOf(load.size - HEADER_SIZE - PACKET_FIXED_BODY);
  const length = load.size;
  const b = Buffer.allocUnsafe(length);
  writePacketHead(b, load, i, seq, payload.byteLength);
  b.set(payload, 36);
  return b;
}

/**
 * Message `i` of a PACKET load as the raw client writes it: in one fresh buffer (a small
 * payload, or a load that copies), or as a fresh 36-byte head and the payload itself.
 */
export function encodeRawPacketParts(load: LoadSpec, i: number, seq: number): readonly Buffer[] {
  const n = load.size - HEADER_SIZE - PACKET_FIXED_BODY;
  if (load.copy === true || n < TRANSFER_MIN) return [encodeRawPacket(load, i, seq)];
  const payload = payloadOf(n);
  const head = Buffer.allocUnsafe(36);
  writePacketHead(head, load, i, seq, n);
  return [head, Buffer.from(payload.buffer, payload.byteOffset, n)];
}

/** The header and the PACKET body's fixed fields of message `i` into `b`. */
function writePacketHead(b: Buffer, load: LoadSpec, i: number, seq: number, payloadLength: number): void {
  const length = load.size;
  header(b, PRL, PRL_PACKET, length, seq);
  b.writeUInt32BE(handleOf(load, i), 16);
  b[20] = 1; // direction: inbound
  b[21] = 0;
  b.writeUInt16BE(3, 22); // ifIndex
  b.writeBigUInt64BE(PACKET_TIMESTAMP_NS, 24);
  b.writeUInt32BE(payloadLength, 32);
}

/** Encodes a PRL OPAQUE of `size` bytes whose data starts with `token`. */
export function encodeRawOpaque(token: number, size: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  header(b, PRL, PRL_OPAQUE, size, seq);
  b.set(payloadOf(size - HEADER_SIZE), HEADER_SIZE);
  b.writeUInt32BE(token, HEADER_SIZE);
  return b;
}

/**
 * Splits a byte stream into messages by the length in each header. Whole messages are
 * handed out as `(buffer, start, end)` where they lie; a message that straddles chunks is
 * copied once into a buffer of its own length.
 */
export class RawFramer {
  private readonly head = Buffer.alloc(HEADER_SIZE);
  private headFill = 0;
  private partial: Buffer | undefined;
  private partialFill = 0;
  /** The buffer of the last straddling message, free again once its handler returned. */
  private spare: Buffer | undefined;

  constructor(private readonly onMessage: (b: Buffer, start: number, end: number) => void) {}

  /** @throws Error for a length below the header size or above the absolute limit. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let o = 0;
    while (o < n) {
      if (this.partial !== undefined) {
        const p = this.partial;
        const take = Math.min(p.length - this.partialFill, n - o);
        chunk.copy(p, this.partialFill, o, o + take);
        this.partialFill += take;
        o += take;
        if (this.partialFill === p.length) {
          this.partial = undefined;
          this.onMessage(p, 0, p.length);
          this.spare = p;
        }
      } else if (this.headFill > 0 || n - o < HEADER_SIZE) {
        const take = Math.min(HEADER_SIZE - this.headFill, n - o);
        chunk.copy(this.head, this.headFill, o, o + take);
        this.headFill += take;
        o += take;
        if (this.headFill < HEADER_SIZE) return;
        this.headFill = 0;
        const p = this.alloc(this.length(this.head, 0));
        this.head.copy(p, 0);
        this.partial = p;
        this.partialFill = HEADER_SIZE;
        if (p.length === HEADER_SIZE) {
          this.partial = undefined;
          this.onMessage(p, 0, p.length);
        }
      } else {
        const length = this.length(chunk, o);
        if (o + length <= n) {
          this.onMessage(chunk, o, o + length);
          o += length;
        } else {
          const p = this.alloc(length);
          chunk.copy(p, 0, o, n);
          this.partial = p;
          this.partialFill = n - o;
          o = n;
        }
      }
    }
  }

  /** Room for a straddling message: the last one's buffer when it is large enough, else a new one (of the next power of two). */
  private alloc(length: number): Buffer {
    const spare = this.spare;
    if (spare !== undefined && spare.buffer.byteLength >= length) {
      this.spare = undefined;
      return Buffer.from(spare.buffer, 0, length);
    }
    return Buffer.from(Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(length))).buffer, 0, length);
  }

  private length(b: Buffer, o: number): number {
    const length = b.readUInt32BE(o + 8);
    if (length < HEADER_SIZE || length > Limits.absoluteMaxMessage) throw new Error(`bad length ${length}`);
    return length;
  }
}

/** A socket with the peer's output discipline: bounded queue, one batched flush per turn. */
class RawLink {
  /** The parts of the queued messages, in order. */
  private pending: Buffer[] = [];
  /**
   * Where each queued message ends (counted in parts since the link started; `removed` parts
   * have been written), so that a batch never cuts one: one entry per queued message.
   */
  private ends: number[] = [];
  private removed = 0;
  private added = 0;
  private pendingBytes = 0;
  private writable = true;
  private flushScheduled = false;
  private readonly waiters: (() => void)[] = [];
  private seq = 0;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('drain', () => {
      this.writable = true;
      this.scheduleFlush();
    });
  }

  get queuedBytes(): number {
    return this.pendingBytes;
  }

  nextSeq(): number {
    const s = this.seq;
    this.seq = (s + 1) >>> 0;
    return s;
  }

  /**
   * Queues a message (its parts, written one after the other); when the queue is full,
   * returns a promise that queues it once there is room.
   */
  send(parts: readonly Buffer[]): Promise<void> | undefined {
    const size = parts.length === 1 ? parts[0]!.length : parts.reduce((s, p) => s + p.length, 0);
    if (this.hasRoom(size)) {
      this.enqueueParts(parts, size);
      return undefined;
    }
    return this.sendLater(parts, size);
  }

  private async sendLater(parts: readonly Buffer[], size: number): Promise<void> {
    while (!this.hasRoom(size)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.enqueueParts(parts, size);
  }

  private hasRoom(size: number): boolean {
    return this.ends.length < Limits.defaultQueueMessages && this.pendingBytes + size <= Limits.defaultQueueBytes;
  }

  /** Queues `b` whatever the queue holds (echo replies, as the peer's replies may). */
  enqueue(b: Buffer): void {
    this.enqueueParts([b], b.length);
  }

  private enqueueParts(parts: readonly Buffer[], size: number): void {
    for (const p of parts) this.pending.push(p);
    this.added += parts.length;
    this.ends.push(this.added);
    this.pendingBytes += size;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    let wrote = false;
    while (this.writable && this.pending.length > 0 && !this.socket.destroyed) {
      // Whole messages, up to BATCH_BYTES (at least one).
      let m = 0;
      let n = 0;
      let bytes = 0;
      while (m < this.ends.length) {
        const end = this.ends[m]! - this.removed;
        let size = 0;
        for (let k = n; k < end; k++) size += this.pending[k]!.length;
        if (m > 0 && bytes + size > BATCH_BYTES) break;
        bytes += size;
        n = end;
        m++;
      }
      const batch = this.pending.splice(0, n);
      this.ends.splice(0, m);
      this.removed += n;
      this.pendingBytes -= bytes;
      if (batch.length === 1) {
        this.writable = this.socket.write(batch[0]!);
      } else {
        this.socket.cork();
        for (const b of batch) this.writable = this.socket.write(b);
        this.socket.uncork();
      }
      wrote = true;
    }
    if (wrote) for (const wake of this.waiters.splice(0)) wake();
  };
}

async function start(init: InitCommand, sink: EndpointSink): Promise<BenchEndpoint> {
  let server: Server | undefined;
  let link: RawLink | undefined;
  let socket: Socket | undefined;
  const echo = init.side === 'b';
  const onMessage = (b: Buffer, start: number, end: number): void => {
    if (b[start + 6] === PRL && b[start + 7] === PRL_OPAQUE) {
      // A copy: the bytes are in a buffer the next read reuses, and the echo is written later.
      if (echo) link!.enqueue(Buffer.from(b.subarray(start, end)));
      else sink.pong(b.readUInt32BE(start + HEADER_SIZE));
      return;
    }
    sink.received(b[start + 7] === PRL_PACKET ? 0 : -1, end - start, b.readUInt32BE(start + HEADER_SIZE));
  };
  const framer = new RawFramer(onMessage);
  const attach = (s: Socket, reusedBuffer: boolean): void => {
    socket = s;
    link = new RawLink(s);
    if (!reusedBuffer) s.on('data', (chunk: Buffer) => framer.push(chunk));
    s.on('error', (err) => console.error(`bench raw ${init.side}: ${err.message}`));
  };
  let port = 0;
  let ready: Promise<void>;
  if (init.side === 'a') {
    let connected!: () => void;
    ready = new Promise<void>((resolve) => (connected = resolve));
    const srv = createServer((s) => {
      if (socket !== undefined) {
        s.destroy();
        return;
      }
      attach(s, false);
      connected();
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, HOST, () => resolve());
    });
    port = (srv.address() as { port: number }).port;
  } else {
    // As the peer's connecting socket: reads into one reused buffer (Node's `onread`).
    const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const s = createConnection({
      host: HOST,
      port: init.port ?? 0,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number) => {
          framer.push(readBuffer.subarray(0, bytes));
          return true;
        },
      },
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.once('connect', () => resolve());
    });
    attach(s, true);
    ready = Promise.resolve();
  }
  return {
    port,
    ready,
    send: (load, i) => link!.send(encodeRawPacketParts(load, i, link!.nextSeq())),
    ping: (token, size) => link!.enqueue(encodeRawOpaque(token, size, link!.nextSeq())),
    queuedBytes: () => link?.queuedBytes ?? 0,
    async close() {
      socket?.destroy();
      await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) serveCommands(start);
