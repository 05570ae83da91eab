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
  header(b, PRL, PRL_PACKET, length, seq);
  b.writeUInt32BE(handleOf(load, i), 16);
  b[20] = 1; // direction: inbound
  b[21] = 0;
  b.writeUInt16BE(3, 22); // ifIndex
  b.writeBigUInt64BE(PACKET_TIMESTAMP_NS, 24);
  b.writeUInt32BE(payload.byteLength, 32);
  b.set(payload, 36);
  return b;
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
        }
      } else if (this.headFill > 0 || n - o < HEADER_SIZE) {
        const take = Math.min(HEADER_SIZE - this.headFill, n - o);
        chunk.copy(this.head, this.headFill, o, o + take);
        this.headFill += take;
        o += take;
        if (this.headFill < HEADER_SIZE) return;
        this.headFill = 0;
        const p = Buffer.allocUnsafe(this.length(this.head, 0));
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
          const p = Buffer.allocUnsafe(length);
          chunk.copy(p, 0, o, n);
          this.partial = p;
          this.partialFill = n - o;
          o = n;
        }
      }
    }
  }

  private length(b: Buffer, o: number): number {
    const length = b.readUInt32BE(o + 8);
    if (length < HEADER_SIZE || length > Limits.absoluteMaxMessage) throw new Error(`bad length ${length}`);
    return length;
  }
}

/** A socket with the peer's output discipline: bounded queue, one batched flush per turn. */
class RawLink {
  private pending: Buffer[] = [];
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

  /** Queues `b`; when the queue is full, returns a promise that queues it once there is room. */
  send(b: Buffer): Promise<void> | undefined {
    if (this.hasRoom(b.length)) {
      this.enqueue(b);
      return undefined;
    }
    return this.sendLater(b);
  }

  private async sendLater(b: Buffer): Promise<void> {
    while (!this.hasRoom(b.length)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.enqueue(b);
  }

  private hasRoom(size: number): boolean {
    return this.pending.length < Limits.defaultQueueMessages && this.pendingBytes + size <= Limits.defaultQueueBytes;
  }

  /** Queues `b` whatever the queue holds (echo replies, as the peer's replies may). */
  enqueue(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
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
      let n = 0;
      let bytes = 0;
      while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.length <= BATCH_BYTES))
        bytes += this.pending[n++]!.length;
      const batch = this.pending.splice(0, n);
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
      if (echo) link!.enqueue(b.subarray(start, end));
      else sink.pong(b.readUInt32BE(start + HEADER_SIZE));
      return;
    }
    sink.received(b[start + 7] === PRL_PACKET ? 0 : -1, end - start, b.readUInt32BE(start + HEADER_SIZE));
  };
  const attach = (s: Socket): void => {
    socket = s;
    link = new RawLink(s);
    const framer = new RawFramer(onMessage);
    s.on('data', (chunk: Buffer) => framer.push(chunk));
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
      attach(s);
      connected();
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, HOST, () => resolve());
    });
    port = (srv.address() as { port: number }).port;
  } else {
    const s = createConnection({ host: HOST, port: init.port ?? 0 });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.once('connect', () => resolve());
    });
    attach(s);
    ready = Promise.resolve();
  }
  return {
    port,
    ready,
    send: (load, i) => link!.send(encodeRawPacket(load, i, link!.nextSeq())),
    ping: (token, size) => link!.enqueue(encodeRawOpaque(token, size, link!.nextSeq())),
    queuedBytes: () => link?.queuedBytes ?? 0,
    async close() {
      socket?.destroy();
      await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) serveCommands(start);
