/**
 * What the end-to-end benchmark sends, and the command protocol between the orchestrator
 * (`run.ts`, `e2e.ts`) and its worker processes (`peer-worker.ts`, `baseline-raw.ts`).
 *
 * Both workers run the same command loop ({@link serveCommands}) around a
 * {@link BenchEndpoint}: the reference peer's, or the raw TCP baseline's. Loads, counting,
 * pings, memory sampling and marks are therefore the same code for both; only the endpoint
 * differs.
 *
 * @module
 */
import {
  constants,
  createHistogram,
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type IntervalHistogram,
  type RecordableHistogram,
} from 'node:perf_hooks';
import { HEADER_SIZE, type MessageInput } from '../codec/src/index.js';

/** Message kinds the benchmark sends, one per client type. */
export const KINDS = ['prl.packet', 'sdrl.socketData', 'iha.asyncNotify', 'psrm.tcpState'] as const;

/** A message kind the benchmark sends. */
export type Kind = (typeof KINDS)[number];

/** One sender loop: messages of one kind and size, with handles cycling over `handles` values. */
export interface LoadSpec {
  readonly kind: Kind;
  /** Total message size in bytes, header included (fixed-size kinds ignore it). */
  readonly size: number;
  /** Distinct socket handles in the bodies, cycled message by message (1: always the same). */
  readonly handles: number;
  /**
   * The peer's client sends every message with the promise API, `await send(…, { wait: true })`,
   * instead of the synchronous `trySend` first (and `send` with `wait` only when the queue is
   * full). The raw baseline ignores it.
   */
  readonly promise?: boolean;
  /**
   * Copy the payload at send: the peer's default `send`, and the raw baseline's client
   * encoding the whole message into a fresh buffer. Without it, both hand a payload of 4 KiB
   * or more over as it is and write it behind the message's head (one `writev`): the peer's
   * `transfer` option, the raw client's two-part write.
   */
  readonly copy?: boolean;
}

/**
 * Payloads from this size up are handed over without a copy unless a load says `copy`: the
 * peer's own threshold, which the raw baseline follows.
 */
export { TRANSFER_MIN } from '../reference-impl/src/link-output.js';

/** Fixed part of a PRL PACKET body: handle, direction, reserved, ifIndex, timestampNs, packetLength. */
export const PACKET_FIXED_BODY = 20;

/** Fixed part of an SDRL SOCKET-DATA body: handle, streamOffset, dataLength. */
const SOCKET_DATA_FIXED_BODY = 16;

/** Receive time stamped in every PACKET: a constant, so that the sender does no clock work. */
export const PACKET_TIMESTAMP_NS = 1_700_000_000_123_456_789n;

/** The handle of message `i` of a load. Handles start at 1. */
export function handleOf(load: LoadSpec, i: number): number {
  return load.handles <= 1 ? 1 : 1 + (i % load.handles);
}

const payloads = new Map<number, Uint8Array>();

/** A payload of `n` bytes with a recognisable pattern, built once per size and shared. */
export function payloadOf(n: number): Uint8Array {
  let p = payloads.get(n);
  if (p === undefined) {
    p = new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] = (i * 31 + 7) & 0xff;
    payloads.set(n, p);
  }
  return p;
}

/**
 * The message number `i` of a load, as the peer's `send` takes it. A fresh object per
 * message (a real client builds one per packet); the payload bytes are shared and copied
 * by `send`, which encodes at once.
 *
 * @throws Error for a size too small for the kind.
 */
export function messageInput(load: LoadSpec, i: number): MessageInput {
  const handle = handleOf(load, i);
  switch (load.kind) {
    case 'prl.packet': {
      const n = load.size - HEADER_SIZE - PACKET_FIXED_BODY;
      if (n < 0) throw new Error(`a PACKET cannot be ${load.size} bytes`);
      return {
        name: 'prl.packet',
        body: { handle, direction: 1, ifIndex: 3, timestampNs: PACKET_TIMESTAMP_NS, packet: payloadOf(n) },
      };
    }
    case 'sdrl.socketData': {
      const n = load.size - HEADER_SIZE - SOCKET_DATA_FIXED_BODY;
      if (n < 0) throw new Error(`a SOCKET-DATA cannot be ${load.size} bytes`);
      return { name: 'sdrl.socketData', body: { handle, streamOffset: 4096n, data: payloadOf(n) } };
    }
    case 'iha.asyncNotify':
      return { name: 'iha.asyncNotify', body: { handle, event: 1, value: 0n } };
    case 'psrm.tcpState':
      return {
        name: 'psrm.tcpState',
        body: {
          handle,
          state: 4,
          windowScale: 7,
          mss: 1460,
          sndUna: 1000,
          sndNxt: 2000,
          rcvNxt: 3000,
          rcvWindow: 65535,
          tsRecent: 42,
          rttMicros: 250,
        },
      };
  }
}

/** Index in {@link KINDS} of a message name, or -1. */
export function kindIndex(name: string | null): number {
  return KINDS.indexOf(name as Kind);
}

// ------------------------------------------------------------------ worker protocol

/** How a worker starts. `a` sends, pings and listens; `b` receives, echoes and connects. */
export interface InitCommand {
  readonly cmd: 'init';
  readonly side: 'a' | 'b';
  /** Port side `a` listens on (side `b` connects to it). */
  readonly port?: number;
  /** Dead-connection time of the peer, ms (long enough for the stall case). */
  readonly deadConnectionMs: number;
}

/** Commands after `init`. */
export type Command =
  | InitCommand
  | { readonly cmd: 'ready' }
  | { readonly cmd: 'blast'; readonly loads: readonly LoadSpec[] }
  | { readonly cmd: 'stop' }
  | { readonly cmd: 'mark' }
  | { readonly cmd: 'ping'; readonly count: number; readonly size: number }
  | { readonly cmd: 'rss' }
  | { readonly cmd: 'watch'; readonly on: boolean }
  | { readonly cmd: 'probe'; readonly on: boolean }
  | { readonly cmd: 'exit' };

/** The collector's work since the worker started: collections and their pauses. */
export interface GcTotals {
  /** Minor collections (scavenges): count and total pause, ms. */
  readonly minorCount: number;
  readonly minorMs: number;
  /** Major collections (mark-compact, incremental marking steps, weak callbacks): count and total pause, ms. */
  readonly majorCount: number;
  readonly majorMs: number;
}

/** One collection, on the machine's clock (epoch ms, comparable between processes). */
export interface GcEvent {
  readonly startMs: number;
  readonly durationMs: number;
  readonly major: boolean;
}

/** Percentiles of a histogram, µs. */
export interface Percentiles {
  readonly count: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/**
 * What a worker saw while probing (the round trips): every collection; the event loop's delay
 * (`monitorEventLoopDelay`, 1 ms resolution: how late a timer ran); and the flush scheduling, the
 * time from each `setImmediate` call (the peer's and the raw baseline's flush, the echo's reply)
 * to its callback.
 */
export interface ProbeResult {
  readonly gc: readonly GcEvent[];
  readonly loopDelay: Percentiles;
  readonly immediate: Percentiles;
}

/** A counter snapshot, taken in the worker at one instant. */
export interface Mark {
  /** Worker clock, ms (`performance.now()`). */
  readonly t: number;
  /** CPU time the worker has used since it started (user + system), µs. */
  readonly cpuUs: number;
  /** Messages received so far, all kinds. */
  readonly received: number;
  /** Messages received so far, per kind (index in {@link KINDS}). */
  readonly byKind: readonly number[];
  /** Bytes of the messages received so far. */
  readonly bytes: number;
  /** Messages this worker queued so far (its sender loops). */
  readonly sent: number;
  /** Sum of the handles received, mod 2^32 (keeps the handle read live). */
  readonly handleSum: number;
  /** The collector's work so far. */
  readonly gc: GcTotals;
  /** Minor page faults so far (`process.resourceUsage()`): pages the kernel had to map in, fresh memory touched. */
  readonly pageFaults: number;
}

/** Memory while watching (the stall case). */
export interface WatchResult {
  /** Largest resident set size sampled, bytes. */
  readonly maxRss: number;
  /** Resident set size of the last sample, bytes. */
  readonly lastRss: number;
  /** Largest output queue sampled, bytes. */
  readonly maxQueueBytes: number;
  /** At the sample of the largest resident set: the V8 heap's size, and the memory of ArrayBuffers (Buffers included), bytes. */
  readonly atMax: { readonly heapTotal: number; readonly arrayBuffers: number };
  /** Samples taken. */
  readonly samples: number;
}

/** What a worker answers. */
export interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly port?: number;
  readonly sent?: number;
  readonly mark?: Mark;
  readonly rttNs?: readonly number[];
  /** With `rttNs`: when each ping was sent, epoch ms. */
  readonly pingAtMs?: readonly number[];
  readonly probe?: ProbeResult;
  readonly rss?: number;
  /** With `rss`: the V8 heap's size and the memory of ArrayBuffers at the same time, bytes. */
  readonly memory?: { readonly heapTotal: number; readonly arrayBuffers: number };
  readonly watch?: WatchResult;
}

/** What a worker counts; the endpoint calls it for every message it delivers. */
export interface EndpointSink {
  /** A message of kind `kind` (index in {@link KINDS}) of `bytes` bytes arrived. */
  received(kind: number, bytes: number, handle: number): void;
  /** The echo of ping `token` came back. */
  pong(token: number): void;
}

/** One side of a benchmarked link: the reference peer, or the raw baseline. */
export interface BenchEndpoint {
  /** Port it listens on (side `a`). */
  readonly port: number;
  /** Resolves when the link is up (the KKCM session, or the TCP connection). */
  readonly ready: Promise<void>;
  /**
   * Queues message `i` of `load`, waiting for room when the queue is full. Returns a
   * promise when the caller must wait: when the queue is full, or for every message when the
   * peer's client uses its promise API (`load.promise`).
   */
  send(load: LoadSpec, i: number): Promise<void> | undefined;
  /** Sends echo request `token`, `size` bytes in total; the other side echoes it. */
  ping(token: number, size: number): void;
  /** Bytes in the output queue now. */
  queuedBytes(): number;
  /** Closes the link and everything it holds. */
  close(): Promise<void>;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Percentiles of a histogram of nanoseconds, in µs. */
function percentiles(h: RecordableHistogram | IntervalHistogram): Percentiles {
  const count = h.count;
  const us = (ns: number): number => (count === 0 ? 0 : ns / 1000);
  return { count, p50Us: us(h.percentile(50)), p99Us: us(h.percentile(99)), maxUs: us(h.max) };
}

/**
 * Counts every collection of this process (cumulative: cheap enough to stay on), and while
 * `log` is set, records each one.
 */
class GcWatch {
  minorCount = 0;
  minorMs = 0;
  majorCount = 0;
  majorMs = 0;
  log: GcEvent[] | undefined;

  constructor() {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
        const major = kind !== constants.NODE_PERFORMANCE_GC_MINOR;
        if (major) {
          this.majorCount++;
          this.majorMs += e.duration;
        } else {
          this.minorCount++;
          this.minorMs += e.duration;
        }
        this.log?.push({ startMs: performance.timeOrigin + e.startTime, durationMs: e.duration, major });
      }
    }).observe({ entryTypes: ['gc'] });
  }

  totals(): GcTotals {
    return { minorCount: this.minorCount, minorMs: this.minorMs, majorCount: this.majorCount, majorMs: this.majorMs };
  }
}

/**
 * Times every `setImmediate` of this process from the call to the callback while recording:
 * the flush scheduling of both implementations (each flushes its queue in an immediate).
 */
class ImmediateWatch {
  private readonly original = globalThis.setImmediate;
  private histogram: RecordableHistogram | undefined;

  start(): void {
    const h = createHistogram();
    this.histogram = h;
    const original = this.original;
    const timed = (<A extends unknown[]>(callback: (...args: A) => void, ...args: A): NodeJS.Immediate => {
      const t0 = process.hrtime.bigint();
      return original(() => {
        h.record(Number(process.hrtime.bigint() - t0) || 1);
        callback(...args);
      });
    }) as typeof setImmediate;
    globalThis.setImmediate = timed;
  }

  stop(): Percentiles {
    globalThis.setImmediate = this.original;
    const h = this.histogram ?? createHistogram();
    this.histogram = undefined;
    return percentiles(h);
  }
}

/**
 * Runs a worker: reads commands from the IPC channel, answers each with a {@link Reply}
 * carrying its `id`. Exits when the parent goes away.
 */
export function serveCommands(start: (init: InitCommand, sink: EndpointSink) => Promise<BenchEndpoint>): void {
  if (process.send === undefined) throw new Error('a bench worker runs as a child process with an IPC channel');
  let endpoint: BenchEndpoint | undefined;
  let received = 0;
  let bytes = 0;
  let handleSum = 0;
  const byKind = KINDS.map(() => 0);
  let sent = 0;
  let running = false;
  let loops: Promise<void>[] = [];
  let loopError: Error | undefined;
  const pings = new Map<number, () => void>();
  const gcWatch = new GcWatch();
  const immediates = new ImmediateWatch();
  let loopDelay: IntervalHistogram | undefined;
  let watch:
    | {
        timer: NodeJS.Timeout;
        maxRss: number;
        lastRss: number;
        maxQueueBytes: number;
        samples: number;
        atMax: WatchResult['atMax'];
      }
    | undefined;

  const sink: EndpointSink = {
    received(kind, n, handle) {
      received++;
      bytes += n;
      handleSum = (handleSum + handle) >>> 0;
      if (kind >= 0) byKind[kind]!++;
    },
    pong(token) {
      const done = pings.get(token);
      pings.delete(token);
      done?.();
    },
  };

  const sender = async (load: LoadSpec): Promise<void> => {
    const ep = endpoint!;
    try {
      for (let i = 0; running; i++) {
        const wait = ep.send(load, i);
        if (wait !== undefined) await wait;
        sent++;
      }
    } catch (err) {
      loopError ??= err as Error;
    }
  };

  const ping = async (count: number, size: number): Promise<{ rttNs: number[]; pingAtMs: number[] }> => {
    const ep = endpoint!;
    const rttNs: number[] = [];
    const pingAtMs: number[] = [];
    for (let token = 1; token <= count; token++) {
      const back = new Promise<void>((resolve) => pings.set(token, resolve));
      pingAtMs.push(performance.timeOrigin + performance.now());
      const t0 = process.hrtime.bigint();
      ep.ping(token, size);
      await back;
      rttNs.push(Number(process.hrtime.bigint() - t0));
    }
    return { rttNs, pingAtMs };
  };

  const mark = (): Mark => {
    const cpu = process.cpuUsage();
    return {
      t: performance.now(),
      cpuUs: cpu.user + cpu.system,
      received,
      byKind: [...byKind],
      bytes,
      sent,
      handleSum,
      gc: gcWatch.totals(),
      pageFaults: process.resourceUsage().minorPageFault,
    };
  };

  const sample = (): void => {
    if (watch === undefined) return;
    const m = process.memoryUsage();
    watch.lastRss = m.rss;
    if (m.rss > watch.maxRss) {
      watch.maxRss = m.rss;
      watch.atMax = { heapTotal: m.heapTotal, arrayBuffers: m.arrayBuffers };
    }
    watch.maxQueueBytes = Math.max(watch.maxQueueBytes, endpoint?.queuedBytes() ?? 0);
    watch.samples++;
  };

  const handle = async (c: Command): Promise<Omit<Reply, 'id' | 'ok'>> => {
    switch (c.cmd) {
      case 'init':
        endpoint = await start(c, sink);
        return { port: endpoint.port };
      case 'ready':
        await endpoint!.ready;
        return {};
      case 'blast':
        if (running) throw new Error('already sending');
        running = true;
        loopError = undefined;
        loops = c.loads.map((l) => sender(l));
        return {};
      case 'stop':
        running = false;
        await Promise.all(loops);
        loops = [];
        if (loopError !== undefined) throw loopError;
        return { sent };
      case 'mark':
        return { mark: mark() };
      case 'ping':
        return await ping(c.count, c.size);
      case 'probe':
        if (c.on) {
          gcWatch.log = [];
          loopDelay?.disable();
          loopDelay = monitorEventLoopDelay({ resolution: 1 });
          loopDelay.enable();
          immediates.start();
          return {};
        } else {
          const log = gcWatch.log ?? [];
          gcWatch.log = undefined;
          loopDelay?.disable();
          const delay = loopDelay !== undefined ? percentiles(loopDelay) : percentiles(createHistogram());
          loopDelay = undefined;
          return { probe: { gc: log, loopDelay: delay, immediate: immediates.stop() } };
        }
      case 'rss': {
        gc?.();
        const m = process.memoryUsage();
        return { rss: m.rss, memory: { heapTotal: m.heapTotal, arrayBuffers: m.arrayBuffers } };
      }
      case 'watch':
        if (c.on) {
          if (watch !== undefined) clearInterval(watch.timer);
          watch = {
            timer: setInterval(sample, 20),
            maxRss: 0,
            lastRss: 0,
            maxQueueBytes: 0,
            samples: 0,
            atMax: { heapTotal: 0, arrayBuffers: 0 },
          };
          sample();
          return {};
        } else {
          const w = watch;
          if (w === undefined) throw new Error('not watching');
          sample();
          clearInterval(w.timer);
          watch = undefined;
          return {
            watch: {
              maxRss: w.maxRss,
              lastRss: w.lastRss,
              maxQueueBytes: w.maxQueueBytes,
              samples: w.samples,
              atMax: w.atMax,
            },
          };
        }
      case 'exit':
        running = false;
        if (watch !== undefined) clearInterval(watch.timer);
        await endpoint?.close();
        setImmediate(() => process.exit(0));
        return {};
    }
  };

  process.on('message', (m: Command & { id: number }) => {
    handle(m).then(
      (r) => process.send!({ id: m.id, ok: true, ...r }),
      (err: unknown) =>
        process.send!({
          id: m.id,
          ok: false,
          error: err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err),
        }),
    );
  });
  // The orchestrator died or closed the channel: nothing else will stop this process.
  process.on('disconnect', () => process.exit(0));
}
