/**
 * Connection floods against a master: many short connection attempts (a HELLO that must be
 * refused, or a connect and an immediate close) and slow connections that never finish
 * their handshake. Each records what the master answered and whether it closed.
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  Framer,
  RejectReason,
  type DecodedMessage,
} from '../../codec/src/index.js';

/** How a flood connection ended. */
export interface FloodOutcome {
  /** `ERROR <code>`, `HELLO-REJECT <reason>`, `closed` (nothing received) or `open` (timed out). */
  readonly reaction: string;
  /** Milliseconds from connect to the master's close. */
  readonly ms: number;
}

/** Reactions counted by kind. */
export type Tally = Record<string, number>;

const REJECT_NAMES = new Map<number, string>(Object.entries(RejectReason).map(([k, v]) => [v, k]));

function reactionOf(messages: readonly DecodedMessage[], closed: boolean): string {
  const last = messages[messages.length - 1];
  if (last?.name === 'control.error') return `ERROR ${ERROR_CODES[last.body.code] ?? last.body.code}`;
  if (last?.name === 'control.helloReject')
    return `HELLO-REJECT ${REJECT_NAMES.get(last.body.reason) ?? last.body.reason}`;
  return closed ? 'closed' : 'open';
}

/** A HELLO of a backup asking for a session of its own. */
export function floodHello(sessionId: bigint): Uint8Array {
  return encodeMessage({
    name: 'control.hello',
    body: {
      minVersion: 1,
      maxVersion: 1,
      role: 2,
      channel: 1,
      features: 0,
      nodeId: 66,
      maxMessage: 262144,
      sessionId,
      nodeName: 'flood',
    },
  });
}

/** A client connection that sends `bytes` (maybe none) and reads until the master closes it. */
export class FloodConnection {
  readonly done: Promise<FloodOutcome>;
  private readonly socket: Socket;

  constructor(host: string, port: number, bytes: Uint8Array | undefined, timeoutMs: number) {
    const started = performance.now();
    const framer = new Framer({ anyVersion: true });
    const messages: DecodedMessage[] = [];
    this.socket = netConnect({ host, port }, () => {
      if (bytes !== undefined) this.socket.write(bytes);
    });
    const socket = this.socket;
    this.done = new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({ reaction: reactionOf(messages, false), ms: performance.now() - started });
        socket.destroy();
      }, timeoutMs);
      socket.on('data', (d: Buffer) => {
        try {
          for (const f of framer.push(d)) messages.push(decodeMessage(f, { anyVersion: true }));
        } catch {
          // Not KKCM: the reaction says what little came.
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ reaction: reactionOf(messages, true), ms: performance.now() - started });
      });
    });
  }

  /** Closes from the client side. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Counts outcomes by reaction. */
export function tally(outcomes: readonly FloodOutcome[]): Tally {
  const t: Tally = {};
  for (const o of outcomes) t[o.reaction] = (t[o.reaction] ?? 0) + 1;
  return t;
}

/** Settings of {@link connectionAttempts}. */
export interface AttemptOptions {
  readonly count: number;
  /** Attempts in flight at once (default 20). */
  readonly concurrency?: number;
  /** Fraction of attempts that send a HELLO; the others connect and close at once (default 0.5). */
  readonly helloShare?: number;
  /** Time an attempt may stay open, ms (default 10000). */
  readonly timeoutMs?: number;
  /** Attempts started per second at most (default: as fast as `concurrency` allows). */
  readonly ratePerSec?: number;
}

/**
 * Makes `count` connection attempts, `concurrency` at a time: every other one (by
 * `helloShare`) sends a HELLO and waits for the answer, the rest connect and close at once.
 *
 * @returns the outcomes of the HELLO attempts, and how many closed at once.
 */
export async function connectionAttempts(
  host: string,
  port: number,
  options: AttemptOptions,
): Promise<{ hello: FloodOutcome[]; closedAtOnce: number }> {
  const share = options.helloShare ?? 0.5;
  const hello: FloodOutcome[] = [];
  let closedAtOnce = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const i = next++;
      if (options.ratePerSec !== undefined) {
        const wait = started + (i * 1000) / options.ratePerSec - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      // Spread evenly: attempt i sends a HELLO when the running share falls behind.
      if (Math.floor((i + 1) * share) > Math.floor(i * share)) {
        hello.push(await new FloodConnection(host, port, floodHello(BigInt(i + 1)), options.timeoutMs ?? 10000).done);
      } else {
        await new Promise<void>((resolve) => {
          const s = netConnect({ host, port }, () => s.destroy());
          s.on('error', () => undefined);
          s.on('close', () => resolve());
        });
        closedAtOnce++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 20) }, () => worker()));
  return { hello, closedAtOnce };
}

/**
 * Opens `count` slow connections: each sends the first `partial` bytes of a HELLO and
 * never the rest. The master's handshake timeout must close every one.
 */
export function slowConnections(
  host: string,
  port: number,
  count: number,
  timeoutMs: number,
  partial = 10,
): FloodConnection[] {
  const bytes = floodHello(1n).subarray(0, partial);
  return Array.from({ length: count }, () => new FloodConnection(host, port, bytes, timeoutMs));
}
