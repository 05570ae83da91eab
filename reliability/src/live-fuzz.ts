/**
 * The live fuzzer: a master reference peer holds a real session with a backup (echo traffic
 * running), and a hostile client connects again and again to the master, sending random
 * bytes, mutated vectors, or a valid HELLO followed by mutated messages. Every hostile
 * connection must end with the spec's reaction — an ERROR with a coded error, or a
 * HELLO-REJECT — and then a close from the master [KKCM-CTL-2] (or a close alone, when the
 * client itself opened with a well-formed ERROR); the real session must stay
 * up and keep answering (an echo through both peers after every `checkEvery` connections).
 *
 * @module
 */
import { connect as netConnect } from 'node:net';
import {
  decodeMessage,
  encodeMessage,
  ERROR_CODES,
  Framer,
  RejectReason,
  type DecodedMessage,
} from '../../codec/src/index.js';
import { KkcmPeer, type PeerEvent, type PeerFaults } from '../../reference-impl/src/index.js';
import { makeInput, vectorCorpus } from './mutate.js';
import { Prng } from './prng.js';
import { LiveSession } from './session.js';

/** Settings of {@link fuzzLive}. */
export interface LiveFuzzOptions {
  /** Hostile connections to make. */
  readonly connections: number;
  readonly seed: number;
  /** Echo through the real session after this many hostile connections (default 10). */
  readonly checkEvery?: number;
  /** Hostile connections at once (default 4). */
  readonly concurrency?: number;
  /** The master's handshake timeout, ms (default 300): incomplete input waits this long. */
  readonly handshakeTimeoutMs?: number;
  /** Time a hostile connection may stay open before it is a violation, ms (default 5000). */
  readonly connectionTimeoutMs?: number;
  /** Loopback address (default 127.0.0.1). */
  readonly host?: string;
  readonly onProgress?: (done: number) => void;
  /** Deliberate faults of the session's master: for the fuzzer's own tests, to show it catches a broken peer. */
  readonly faults?: PeerFaults;
}

/** A hostile connection that did not end as the spec says, or a failed health check. */
export interface LiveViolation {
  readonly connection: number;
  readonly kind: 'no-reaction' | 'not-closed' | 'unexpected-reply' | 'session' | 'echo';
  readonly detail: string;
  /** What the hostile client sent, as hex (first 256 bytes). */
  readonly input: string;
}

/** What a live fuzz found. */
export interface LiveFuzzReport {
  readonly liveConnections: number;
  readonly seed: number;
  /** Reactions by kind: `ERROR <code>` or `HELLO-REJECT <reason>`. */
  readonly reactions: Record<string, number>;
  /** Hostile inputs by how they were made. */
  readonly byKind: Record<string, number>;
  readonly sessionDrops: number;
  readonly healthChecks: number;
  /** Echoes the real session carried while the fuzz ran. */
  readonly echoes: number;
  readonly violations: LiveViolation[];
  readonly durationMs: number;
}

const REJECT_NAMES = new Map<number, string>(Object.entries(RejectReason).map(([k, v]) => [v, k]));

/** What a hostile client got back: the messages (or an undecodable tail) and how it ended. */
interface Exchange {
  readonly messages: DecodedMessage[];
  readonly garbage: boolean;
  readonly closed: boolean;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 256)).toString('hex');
}

/** Sends `chunks` on a fresh connection and reads until the master closes it, or the timeout. */
function exchange(host: string, port: number, chunks: readonly Uint8Array[], timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const framer = new Framer({ anyVersion: true, maxMessage: 16 * 1024 * 1024 });
    const messages: DecodedMessage[] = [];
    let garbage = false;
    const socket = netConnect({ host, port }, () => {
      for (const c of chunks) socket.write(c);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ messages, garbage, closed: false });
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      try {
        for (const f of framer.push(d))
          messages.push(decodeMessage(f, { anyVersion: true, maxMessage: 16 * 1024 * 1024 }));
      } catch {
        garbage = true;
      }
    });
    // A reset after the master's answer is still a close; what counts is what came before it.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ messages, garbage, closed: true });
    });
  });
}

/** A hostile connection: how its input was made, the chunks it is sent in, and where. */
interface Hostile {
  readonly kind: string;
  readonly chunks: Uint8Array[];
  /** `session`: the master holding the real session; `idle`: a master with none, that binds the HELLO. */
  readonly target: 'session' | 'idle';
}

/** The hostile input of one connection. */
function hostileInput(rng: Prng, corpus: readonly Uint8Array[]): Hostile {
  const roll = rng.next();
  let kind: string;
  let bytes: Uint8Array;
  let target: Hostile['target'] = 'session';
  if (roll < 0.4) {
    // A valid HELLO of a backup, then mutated messages. The master holding the session
    // refuses the HELLO (sessionBusy); the idle one binds the channel, so that the rest is
    // read in the bound state: its first message is numbered 1, after the HELLO's 0.
    const hello = encodeMessage({
      name: 'control.hello',
      body: {
        minVersion: 1,
        maxVersion: 1,
        role: 2,
        channel: rng.pick([1, 2]),
        features: rng.below(4),
        nodeId: rng.below(1000),
        maxMessage: 262144,
        sessionId: BigInt(rng.between(1, 0x7fffffff)),
        nodeName: 'hostile',
      },
    });
    const tail = makeInput(rng, corpus, 4096).bytes;
    target = rng.chance(0.5) ? 'idle' : 'session';
    if (target === 'idle' && tail.byteLength >= 16 && rng.chance(0.8)) tail.set([0, 0, 0, 1], 12);
    kind = `hello-then-mutated (${target === 'idle' ? 'bound' : 'refused'})`;
    bytes = new Uint8Array(hello.byteLength + tail.byteLength);
    bytes.set(hello);
    bytes.set(tail, hello.byteLength);
  } else {
    const input = makeInput(rng, corpus, 4096);
    kind = input.kind;
    bytes = input.bytes;
  }
  // Sent whole, or in two or three writes.
  const chunks: Uint8Array[] = [];
  let at = 0;
  const parts = rng.between(1, 3);
  for (let p = 1; p <= parts && at < bytes.byteLength; p++) {
    const end = p === parts ? bytes.byteLength : rng.between(at, bytes.byteLength);
    if (end > at) chunks.push(bytes.subarray(at, end));
    at = end;
  }
  return { kind, chunks, target };
}

/** True when the first message of the input is a well-formed ERROR. */
function opensWithError(chunks: readonly Uint8Array[]): boolean {
  try {
    const first = new Framer({ anyVersion: true }).push(Buffer.concat(chunks))[0];
    return first !== undefined && decodeMessage(first, { anyVersion: true }).name === 'control.error';
  } catch {
    return false;
  }
}

/**
 * Runs the live fuzz: starts the master and the backup, pumps echoes, makes the hostile
 * connections, stops everything.
 */
export async function fuzzLive(options: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const host = options.host ?? '127.0.0.1';
  const checkEvery = options.checkEvery ?? 10;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.connectionTimeoutMs ?? 5000;
  const corpus = vectorCorpus();
  const reactions: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const violations: LiveViolation[] = [];
  let healthChecks = 0;
  // Counted before the peers are stopped: stopping ends the session on purpose.
  let sessionDrops = 0;
  const started = performance.now();
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 300;
  // No accept rate: every hostile connection must reach the handshake, not be shed at accept.
  const session = await LiveSession.start({
    host,
    master: {
      handshakeTimeoutMs,
      acceptRateWhileUp: Infinity,
      ...(options.faults !== undefined ? { faults: options.faults } : {}),
    },
  });
  // A master with no session: it binds a hostile HELLO, so that what follows is read bound.
  const idle = new KkcmPeer({
    role: 'master',
    listen: { host, port: 0 },
    handshakeTimeoutMs,
    nodeName: 'reliability-idle',
  });
  const idleEvents: PeerEvent[] = [];
  idle.on('event', (e) => {
    if (e.event === 'error' || e.event === 'session-up') idleEvents.push(e);
  });
  // One hostile connection at a time on the idle master: two would make one session.
  let idleTurn: Promise<unknown> = Promise.resolve();
  try {
    await idle.configure();
    const port = session.master.listenAddress!.port;
    const idlePort = idle.listenAddress!.port;
    session.startPump(4);
    let next = 0;
    let done = 0;
    const check = async (connection: number): Promise<void> => {
      healthChecks++;
      try {
        await session.echo(5000);
      } catch (err) {
        violations.push({ connection, kind: 'echo', detail: (err as Error).message, input: '' });
      }
      if (!session.intact)
        violations.push({ connection, kind: 'session', detail: 'the real session is gone', input: '' });
    };
    const one = async (i: number): Promise<void> => {
      const rng = Prng.forRun(options.seed, i);
      const { kind, chunks, target } = hostileInput(rng, corpus);
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      const input = hex(Buffer.concat(chunks));
      const names = (ms: readonly DecodedMessage[]): string =>
        ms.map((m) => m.name ?? 'unknown').join(', ') || 'nothing';
      let r: Exchange;
      let seen: PeerEvent[] = [];
      if (target === 'idle') {
        const turn = idleTurn.then(async () => {
          const from = idleEvents.length;
          const got = await exchange(host, idlePort, chunks, timeoutMs);
          return { got, seen: idleEvents.slice(from) };
        });
        idleTurn = turn.catch(() => undefined);
        ({ got: r, seen } = await turn);
      } else {
        r = await exchange(host, port, chunks, timeoutMs);
      }
      // The idle master answers the HELLO first; the reaction is what ends the connection.
      const bound = target === 'idle' && r.messages[0]?.name === 'control.helloAck';
      const tail = bound ? r.messages.slice(1) : r.messages;
      const last = tail[tail.length - 1];
      const suffix = bound ? ' (bound)' : '';
      let reaction: string | undefined;
      if (last?.name === 'control.error')
        reaction = `ERROR ${ERROR_CODES[last.body.code] ?? `code ${last.body.code}`}${suffix}`;
      else if (last?.name === 'control.helloReject' && !bound)
        reaction = `HELLO-REJECT ${REJECT_NAMES.get(last.body.reason) ?? `reason ${last.body.reason}`}`;
      else if (r.closed && !r.garbage && !bound && r.messages.length === 0 && opensWithError(chunks)) {
        // An ERROR from the other side is not its protocol error: the answer is a close alone.
        reaction = "CLOSE after the client's ERROR";
      } else if (
        r.closed &&
        !r.garbage &&
        bound &&
        seen.some((e) => e.event === 'error' && e.code === 'ERR_HANDSHAKE_TIMEOUT' && e.channel === null)
      ) {
        // Well-formed messages after the HELLO: one channel bound, the other never comes, and
        // the session timer closes the half session (an `error` event, no ERROR on the wire).
        reaction = 'CLOSE at the session timeout (bound)';
      } else if (
        r.closed &&
        !r.garbage &&
        bound &&
        last === undefined &&
        tail.length === 0 &&
        opensWithError([Buffer.concat(chunks).subarray(r.messages[0]!.header.length)])
      ) {
        reaction = "CLOSE after the client's ERROR (bound)";
      }
      if (reaction !== undefined) reactions[reaction] = (reactions[reaction] ?? 0) + 1;
      if (!r.closed)
        violations.push({ connection: i, kind: 'not-closed', detail: `still open after ${timeoutMs} ms`, input });
      if (target === 'idle' && !bound && reaction === undefined)
        violations.push({
          connection: i,
          kind: 'unexpected-reply',
          detail: `the idle master did not bind a valid HELLO: got ${names(r.messages)}`,
          input,
        });
      else if (reaction === undefined)
        violations.push({
          connection: i,
          kind: 'no-reaction',
          detail: `got ${names(r.messages)}${r.garbage ? ' and bytes that do not decode' : ''}`,
          input,
        });
      else if (r.garbage || (!bound && r.messages.length > 1))
        violations.push({
          connection: i,
          kind: 'unexpected-reply',
          detail: `before the reaction: ${names(r.messages.slice(0, -1))}${r.garbage ? ' and bytes that do not decode' : ''}`,
          input,
        });
    };
    const worker = async (): Promise<void> => {
      while (next < options.connections) {
        const i = next++;
        await one(i);
        done++;
        if (done % checkEvery === 0) await check(i);
        if (options.onProgress !== undefined && done % 100 === 0) options.onProgress(done);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
    await check(options.connections);
    if (idleEvents.some((e) => e.event === 'session-up'))
      violations.push({
        connection: options.connections,
        kind: 'session',
        detail: 'a hostile client brought a session up on the idle master',
        input: '',
      });
    await session.stopPump();
    if (session.pumpError !== undefined)
      violations.push({
        connection: options.connections,
        kind: 'echo',
        detail: `the echo pump failed: ${session.pumpError.message}`,
        input: '',
      });
    sessionDrops = session.sessionDrops;
  } finally {
    await idle.stop();
    await session.stop();
  }
  return {
    liveConnections: options.connections,
    seed: options.seed,
    reactions,
    byKind,
    sessionDrops,
    healthChecks,
    echoes: session.delivered,
    violations,
    durationMs: Math.round(performance.now() - started),
  };
}
