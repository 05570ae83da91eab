/**
 * A fault-injecting TCP proxy for the chaos harness: it sits between the two peers, forwards
 * both KKCM channels byte for byte, and on request breaks them the ways a network and a
 * kernel do — resets, half-closes, stalls in either direction, a message cut short by a
 * close, garbage at a message boundary, one channel lost while the other stays up.
 *
 * Vocabulary. A *pair* is one proxied TCP connection: the *connector* leg (the peer that
 * connected to the proxy, the backup) and the *listener* leg (the proxy's own connection to
 * the target, the peer that listens, the master). "Toward the listener" is the direction of
 * the bytes the connector sends, "toward the connector" the other one. After a switchover
 * the former backup listens: give the proxy a second listener ({@link FaultProxy.listen} takes
 * a name), and the words still mean who listens and who connects.
 *
 * Each direction keeps track of message boundaries by reading every header with the codec
 * ({@link decodeHeader}): no byte of a body is buffered for it, so memory stays bounded
 * whatever the stream holds. A header the codec refuses (bad magic, a length too small or
 * above the absolute limit) stops the tracking of that direction for good; the bytes keep
 * flowing, and faults that need a boundary then act at the current position. The first
 * message toward the listener is decoded whole (at most {@link HELLO_CAPTURE_MAX} bytes
 * held): when it is a HELLO it names the pair's channel and session [KKCM-SESS-1].
 *
 * Which pairs a fault hits: among the live pairs whose HELLO was seen and that no fault is
 * closing, the newest session is the session id of the most recent HELLO; a fault hits the
 * pairs of that session, of its `channel` when one is given, else all of them (both
 * channels). Pairs still waiting for their HELLO and older sessions' pairs are never hit.
 *
 * When a fault has taken effect. reset, drop-channel, half-close and stall-reader act at
 * once. garbage waits for the next message boundary (at once when the stream rests on one).
 * stall-writer and partial-close wait for the next message that starts after the fault was
 * armed and cut it in its middle (`floor(length / 2)` bytes forwarded); while its header is
 * incomplete, the bytes from its start on are held back, so that the cut always falls inside
 * it. These three wait at most `faultWaitMs`, then give up (`no-traffic`). On a direction
 * whose tracking stopped, they act at the current position instead. One such fault or stall
 * per direction at a time: a second one on a busy direction skips it (`busy`).
 *
 * Socket errors (ECONNRESET, EPIPE…) never escape: a leg that fails takes its pair down,
 * an RST propagated as an RST, a FIN as a FIN (the legs are half-open capable, so a FIN in
 * one direction does not end the other).
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { ChannelName } from '../../../codec/src/index.js';
import { systemClock, Timer, type Clock } from '../../../reference-impl/src/index.js';
import { HELLO_CAPTURE_MAX } from './direction.js';
import { Pair, type PairOwner } from './pair.js';
import {
  checkFault,
  type ClosedConnectionInfo,
  type FaultHit,
  type FaultResult,
  type ProxyConnectionInfo,
  type ProxyFault,
} from './proxy-faults.js';

export { HELLO_CAPTURE_MAX };

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /**
   * How long a fault that needs a message (garbage inside a message, stall-writer,
   * partial-close) waits for one before it resolves `no-traffic`, ms. Default 10000.
   */
  readonly faultWaitMs?: number;
  /** Time a leg gets to close after its partner closed or a partial-close, ms. Default 2000. */
  readonly lingerMs?: number;
  /** Closed pairs kept for {@link FaultProxy.closed}. Default 256. */
  readonly history?: number;
  /** Time source of every timer (default the system clock). */
  readonly clock?: Clock;
}

interface ListenerEntry {
  readonly server: Server;
  readonly targetHost: string;
  readonly targetPort: number;
}

/**
 * The proxy. Every socket and timer it opens is its own, closed by {@link FaultProxy.close}.
 */
export class FaultProxy implements PairOwner {
  private readonly listeners = new Map<string, ListenerEntry>();
  private readonly pairs = new Map<number, Pair>();
  private readonly history: ClosedConnectionInfo[] = [];
  private readonly waits = new Set<Timer>();
  private nextId = 1;
  private helloSerial = 0;
  private closing = false;

  private constructor(
    private readonly options: Required<Omit<FaultProxyOptions, 'clock'>> & { readonly clock: Clock },
  ) {}

  /** A proxy with no listener yet. */
  static start(options: FaultProxyOptions = {}): Promise<FaultProxy> {
    return Promise.resolve(
      new FaultProxy({
        faultWaitMs: options.faultWaitMs ?? 10_000,
        lingerMs: options.lingerMs ?? 2000,
        history: options.history ?? 256,
        clock: options.clock ?? systemClock(),
      }),
    );
  }

  /**
   * Listens on `listenHost:listenPort` (port 0: any free port) and forwards every accepted
   * connection to `targetHost:targetPort`. A connection the target refuses is reset.
   *
   * @returns the port it listens on.
   * @throws Error when `name` is taken, the proxy is closed, or the address cannot be bound.
   */
  listen(
    name: string,
    listenHost: string,
    listenPort: number,
    targetHost: string,
    targetPort: number,
  ): Promise<number> {
    if (this.closing) return Promise.reject(new Error('the proxy is closed'));
    if (this.listeners.has(name)) return Promise.reject(new Error(`a listener named ${JSON.stringify(name)} exists`));
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) =>
        this.onAccept(name, socket),
      );
      server.once('error', reject);
      server.listen(listenPort, listenHost, () => {
        server.off('error', reject);
        // A listener that fails later (EMFILE on accept) must not crash the proxy.
        server.on('error', () => undefined);
        this.listeners.set(name, { server, targetHost, targetPort });
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  /** Stops accepting on listener `name`; its pairs stay up. A no-op for an unknown name. */
  async unlisten(name: string): Promise<void> {
    const entry = this.listeners.get(name);
    if (entry === undefined) return;
    this.listeners.delete(name);
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
  }

  /** The live pairs, in accept order. */
  connections(): ProxyConnectionInfo[] {
    return [...this.pairs.values()].map((p) => p.info());
  }

  /** Pairs that closed, oldest first (the last `history` of them). */
  closed(): ClosedConnectionInfo[] {
    return [...this.history];
  }

  /**
   * Injects a fault into the pairs it matches (module documentation: the newest session's).
   * Resolves when it took effect on every matched pair (a stall: when it began) or gave up;
   * never rejects for a fault that matched nothing.
   *
   * @throws Error for a malformed fault (unknown kind, bad `ms`/`bytes`) or a closed proxy.
   */
  async inject(fault: ProxyFault): Promise<FaultResult> {
    checkFault(fault);
    if (this.closing) throw new Error('the proxy is closed');
    const targets = this.select(fault.channel);
    const scope =
      fault.channel === undefined ? 'the newest session' : `the ${fault.channel} channel of the newest session`;
    if (targets.length === 0) return { outcome: 'none-matched', hits: [], text: `no live connection of ${scope}` };
    if (fault.kind === 'reset' || fault.kind === 'drop-channel') {
      const hits = targets.map((p) => ({ connection: p.info() }));
      for (const p of targets) p.reset(fault.kind);
      return { outcome: 'applied', hits, text: `reset ${hits.length} connection(s) of ${scope}` };
    }
    const free = targets.filter((p) => !p.direction(fault.toward).busy);
    if (free.length === 0)
      return {
        outcome: 'busy',
        hits: [],
        text: `every matched direction toward the ${fault.toward} is already stalled or armed`,
      };
    if (fault.kind === 'half-close' || fault.kind === 'stall-reader') {
      const hits = free.map((p) => ({ connection: p.info() }));
      for (const p of free) {
        if (fault.kind === 'half-close') {
          p.noteFault('half-close');
          p.direction(fault.toward).endSink();
        } else p.direction(fault.toward).stallReader(fault.ms);
      }
      return {
        outcome: 'applied',
        hits,
        text: `${fault.kind} toward the ${fault.toward} on ${hits.length} connection(s) of ${scope}`,
      };
    }
    const hits = (await this.armAll(free, fault)).filter((h): h is FaultHit => h !== undefined);
    if (hits.length === 0)
      return {
        outcome: 'no-traffic',
        hits,
        text: `no message toward the ${fault.toward} within ${this.options.faultWaitMs} ms`,
      };
    return {
      outcome: 'applied',
      hits,
      text: `${fault.kind} toward the ${fault.toward} on ${hits.length} connection(s) of ${scope}`,
    };
  }

  /** Closes every listener and socket and cancels every timer. Safe twice. */
  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waits) w.stop();
    this.waits.clear();
    const servers = [...this.listeners.values()].map((l) => l.server);
    this.listeners.clear();
    const gone = [...this.pairs.values()].map(
      (p) =>
        new Promise<void>((resolve) => {
          let left = 2;
          const one = (): void => {
            if (--left === 0) resolve();
          };
          for (const s of [p.connectorSocket, p.listenerSocket]) {
            if (s.closed) one();
            else s.once('close', one);
          }
        }),
    );
    for (const p of this.pairs.values()) p.abort();
    await Promise.all([...servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))), ...gone]);
  }

  /** Arms `fault` in every pair's direction and waits (bounded) for each to fire. */
  private armAll(
    pairs: readonly Pair[],
    fault: Extract<ProxyFault, { kind: 'garbage' | 'stall-writer' | 'partial-close' }>,
  ): Promise<(FaultHit | undefined)[]> {
    const wait = new Timer(this.options.clock);
    this.waits.add(wait);
    const directions = pairs.map((p) => p.direction(fault.toward));
    const all = Promise.all(
      directions.map(
        (d) => new Promise<FaultHit | undefined>((resolve) => d.arm({ kind: fault.kind, fault, done: resolve })),
      ),
    );
    wait.start(this.options.faultWaitMs, () => directions.forEach((d) => d.disarm()));
    return all.finally(() => {
      wait.stop();
      this.waits.delete(wait);
    });
  }

  /** The pairs a fault on `channel` hits: see the module documentation. */
  private select(channel: ChannelName | undefined): Pair[] {
    const named = [...this.pairs.values()].filter((p) => p.state === 'open' && p.helloSerial > 0);
    if (named.length === 0) return [];
    const newest = named.reduce((a, b) => (b.helloSerial > a.helloSerial ? b : a)).sessionId;
    return named.filter((p) => p.sessionId === newest && (channel === undefined || p.channel === channel));
  }

  private onAccept(name: string, socket: Socket): void {
    const entry = this.listeners.get(name);
    if (entry === undefined || this.closing) {
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const target = createConnection({ host: entry.targetHost, port: entry.targetPort, allowHalfOpen: true });
    const pair = new Pair(
      this,
      this.nextId++,
      name,
      socket,
      target,
      entry.targetHost,
      entry.targetPort,
      this.options.lingerMs,
      this.options.clock,
    );
    this.pairs.set(pair.id, pair);
  }

  /** @internal Order of HELLOs across pairs. */
  nextHelloSerial(): number {
    return ++this.helloSerial;
  }

  /** @internal A pair's two legs closed. */
  pairClosed(pair: Pair): void {
    if (!this.pairs.delete(pair.id)) return;
    const { state: _state, stalled: _stalled, ...info } = pair.info();
    this.history.push({ ...info, end: pair.endCause ?? { cause: 'end', side: null, fault: null, error: null } });
    if (this.history.length > this.options.history) this.history.shift();
  }
}
