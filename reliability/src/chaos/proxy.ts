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
import { ChannelId, decodeMessage, type ChannelName } from '../../../codec/src/index.js';
import { systemClock, Timer, type Clock } from '../../../reference-impl/src/index.js';
import { Direction, HEADER_OPTIONS, HELLO_CAPTURE_MAX, type DirectionOwner } from './direction.js';

export { HELLO_CAPTURE_MAX };

export type { ChannelName };

/** A direction of a pair, named for the side that receives the bytes. */
export type Toward = 'listener' | 'connector';

/**
 * A fault to inject. `channel` unset: every live pair of the newest session (see the module
 * documentation). `toward` names the side that receives the damaged stream.
 */
export type ProxyFault =
  /** RST on both legs of the pairs. */
  | { readonly kind: 'reset'; readonly channel?: ChannelName }
  /** FIN toward one side (its leg is ended); the other direction keeps flowing. */
  | { readonly kind: 'half-close'; readonly channel?: ChannelName; readonly toward: Toward }
  /**
   * Stop reading the leg that feeds `toward` for `ms`, so that backpressure reaches the
   * sender through TCP's window; bytes already read are still forwarded.
   */
  | { readonly kind: 'stall-reader'; readonly channel?: ChannelName; readonly toward: Toward; readonly ms: number }
  /**
   * Forward the first half of the next message toward one side, then hold the rest (and
   * stop reading its source) for `ms`, then resume.
   */
  | { readonly kind: 'stall-writer'; readonly channel?: ChannelName; readonly toward: Toward; readonly ms: number }
  /** Forward the first half of the next message toward one side, then FIN both legs. */
  | { readonly kind: 'partial-close'; readonly channel?: ChannelName; readonly toward: Toward }
  /** Write `bytes` random bytes (from `seed`) toward one side at the next message boundary. */
  | {
      readonly kind: 'garbage';
      readonly channel?: ChannelName;
      readonly toward: Toward;
      readonly bytes: number;
      readonly seed: number;
    }
  /** RST on both legs of one channel's pairs, the other channel untouched. */
  | { readonly kind: 'drop-channel'; readonly channel: ChannelName };

/** Per-direction counters of a pair. */
export interface DirectionCounts {
  /** Toward the listener (what the connector sent). */
  readonly towardListener: number;
  /** Toward the connector (what the listener sent). */
  readonly towardConnector: number;
}

/** A live pair, as {@link FaultProxy.connections} reports it. Plain JSON. */
export interface ProxyConnectionInfo {
  /** Pair id, unique in this proxy, in accept order (from 1). */
  readonly id: number;
  /** Name of the listener it arrived on. */
  readonly listener: string;
  /** Channel named by its HELLO, null until the HELLO was seen (or when it was not one). */
  readonly channel: ChannelName | null;
  /** Session id of its HELLO (decimal), null until seen. */
  readonly sessionId: string | null;
  /** The connecting peer's address, `host:port`. */
  readonly connector: string;
  /** The target's address, `host:port`. */
  readonly target: string;
  /** Bytes forwarded (garbage excluded). */
  readonly bytes: DirectionCounts;
  /** Message headers read. */
  readonly messages: DirectionCounts;
  /** Whether message boundaries are still known in each direction. */
  readonly tracking: { readonly towardListener: boolean; readonly towardConnector: boolean };
  /** Whether a stall (stall-reader, or the hold of a stall-writer) is in progress in each direction. */
  readonly stalled: { readonly towardListener: boolean; readonly towardConnector: boolean };
  /** `connecting` (to the target), `open`, or `closing` (a fault or a leg is ending it). */
  readonly state: 'connecting' | 'open' | 'closing';
}

/** How a pair ended: its first cause. */
export interface PairEnd {
  /**
   * `fault`: a fault closed it (`fault` says which); `reset`: a leg failed (RST, `error`
   * names it) and the other was reset; `end`: both legs closed cleanly, `side` sent the
   * first FIN; `connect-failed`: the target refused; `proxy-closed`: {@link FaultProxy.close}.
   */
  readonly cause: 'fault' | 'reset' | 'end' | 'connect-failed' | 'proxy-closed';
  /** The leg that ended first, when one did. */
  readonly side: Toward | null;
  /** Kind of the fault, for `fault`. */
  readonly fault: ProxyFault['kind'] | null;
  /** Error code of the failed leg (`ECONNRESET`), for `reset` and `connect-failed`. */
  readonly error: string | null;
}

/** A pair that closed, as {@link FaultProxy.closed} reports it. */
export type ClosedConnectionInfo = Omit<ProxyConnectionInfo, 'state' | 'stalled'> & { readonly end: PairEnd };

/** The message a cut (stall-writer, partial-close) fell in. */
export interface CutMessage {
  /** Its header fields. */
  readonly seq: number;
  readonly type: number;
  readonly subtype: number;
  /** Its length, header included. */
  readonly length: number;
  /** Bytes of it forwarded before the cut. */
  readonly forwarded: number;
}

/** One pair a fault took effect on. */
export interface FaultHit {
  /** The pair, as it was when the fault took effect. */
  readonly connection: ProxyConnectionInfo;
  /** For stall-writer and partial-close: the message that was cut (absent when untracked). */
  readonly cut?: CutMessage;
  /** For garbage: the stream offset toward the damaged side where the bytes went in. */
  readonly at?: number;
}

/**
 * What {@link FaultProxy.inject} resolves with. `none-matched`: no live pair of the newest
 * session on that channel. `no-traffic`: pairs matched, but none carried a message within
 * the proxy's `faultWaitMs` (faults that need one). `busy`: every matched direction was
 * already in the middle of a stall or an armed fault.
 */
export interface FaultResult {
  readonly outcome: 'applied' | 'none-matched' | 'no-traffic' | 'busy';
  /** Pairs the fault took effect on (empty unless `applied`). */
  readonly hits: readonly FaultHit[];
  /** What happened, for people. */
  readonly text: string;
}

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

/** One proxied connection. */
class Pair implements DirectionOwner {
  readonly toListener: Direction;
  readonly toConnector: Direction;
  channel: ChannelName | null = null;
  sessionId: string | null = null;
  /** Order of the HELLO among all pairs (0: not seen). */
  helloSerial = 0;
  state: ProxyConnectionInfo['state'] = 'connecting';
  endCause: PairEnd | undefined;
  private readonly bytes = { listener: 0, connector: 0 };
  private readonly lingerTimer: Timer;
  private closedLegs = 0;
  private readonly target: string;

  constructor(
    private readonly proxy: FaultProxy,
    readonly id: number,
    readonly listener: string,
    readonly connectorSocket: Socket,
    readonly listenerSocket: Socket,
    targetHost: string,
    targetPort: number,
    private readonly lingerMs: number,
    clock: Clock,
  ) {
    this.target = `${targetHost}:${targetPort}`;
    this.lingerTimer = new Timer(clock);
    this.toListener = new Direction('listener', this, connectorSocket, listenerSocket, clock, (frame) =>
      this.onFirstMessage(frame),
    );
    this.toConnector = new Direction('connector', this, listenerSocket, connectorSocket, clock);
    for (const [socket, side] of [
      [connectorSocket, 'connector'],
      [listenerSocket, 'listener'],
    ] as const) {
      socket.on('error', (err: NodeJS.ErrnoException) => this.onLegError(side, err));
      socket.once('close', () => this.onLegClose(side));
    }
    listenerSocket.once('connect', () => this.onTargetConnected());
  }

  get connectorAddress(): string {
    return `${this.connectorSocket.remoteAddress ?? '?'}:${String(this.connectorSocket.remotePort ?? '?')}`;
  }

  direction(toward: Toward): Direction {
    return toward === 'listener' ? this.toListener : this.toConnector;
  }

  info(): ProxyConnectionInfo {
    return {
      id: this.id,
      listener: this.listener,
      channel: this.channel,
      sessionId: this.sessionId,
      connector: this.connectorAddress,
      target: this.target,
      bytes: { towardListener: this.bytes.listener, towardConnector: this.bytes.connector },
      messages: {
        towardListener: this.toListener.tracker.messages,
        towardConnector: this.toConnector.tracker.messages,
      },
      tracking: {
        towardListener: this.toListener.tracker.lostAt === undefined,
        towardConnector: this.toConnector.tracker.lostAt === undefined,
      },
      stalled: { towardListener: this.toListener.stalled, towardConnector: this.toConnector.stalled },
      state: this.state,
    };
  }

  countBytes(toward: Toward, n: number): void {
    this.bytes[toward] += n;
  }

  /** A leg sent FIN (the first one names the clean end's side). */
  noteEnd(side: Toward): void {
    this.endCause ??= { cause: 'end', side, fault: null, error: null };
  }

  /** A fault that does not close the pair at once (half-close) still names its end. */
  noteFault(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
  }

  /** RST on both legs, as a fault. */
  reset(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
    this.state = 'closing';
    this.destroyBoth(true);
  }

  /** FIN on both legs; they are destroyed if they have not closed within the linger time. */
  finish(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
    this.state = 'closing';
    this.toListener.endSink();
    this.toConnector.endSink();
    this.lingerTimer.start(this.lingerMs, () => this.destroyBoth(false));
  }

  /** Destroys both legs at once (proxy closing). */
  abort(): void {
    this.endCause ??= { cause: 'proxy-closed', side: null, fault: null, error: null };
    this.state = 'closing';
    this.destroyBoth(false);
  }

  private destroyBoth(rst: boolean): void {
    for (const s of [this.connectorSocket, this.listenerSocket]) {
      // resetAndDestroy needs a connected TCP handle; a leg still connecting is just destroyed.
      if (rst && !s.destroyed && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
  }

  private onTargetConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    for (const s of [this.connectorSocket, this.listenerSocket]) s.setNoDelay(true);
    for (const d of [this.toListener, this.toConnector]) {
      d.source.on('data', d.onData);
      d.source.on('end', d.onEnd);
      d.sink.on('drain', d.onDrain);
    }
    this.connectorSocket.resume();
  }

  private onFirstMessage(frame: Uint8Array): void {
    try {
      const msg = decodeMessage(frame, HEADER_OPTIONS);
      if (msg.name !== 'control.hello') return;
      this.channel =
        msg.body.channel === ChannelId.send ? 'send' : msg.body.channel === ChannelId.receive ? 'receive' : null;
      this.sessionId = msg.body.sessionId.toString();
      this.helloSerial = this.proxy.nextHelloSerial();
    } catch {
      // Not a well-formed message: the pair stays unnamed and is never a fault's target.
    }
  }

  private onLegError(side: Toward, err: NodeJS.ErrnoException): void {
    if (this.state === 'connecting' && side === 'listener') {
      this.endCause ??= { cause: 'connect-failed', side, fault: null, error: err.code ?? err.message };
      this.state = 'closing';
      this.destroyBoth(true);
      return;
    }
    this.endCause ??= { cause: 'reset', side, fault: null, error: err.code ?? err.message };
    this.state = 'closing';
    // Propagate the failure as what it is: an RST.
    this.destroyBoth(true);
  }

  private onLegClose(side: Toward): void {
    this.closedLegs++;
    if (this.closedLegs === 2) {
      this.lingerTimer.stop();
      this.toListener.stop();
      this.toConnector.stop();
      this.proxy.pairClosed(this);
      return;
    }
    // The other leg gets the linger time to finish its own close.
    this.endCause ??= { cause: 'end', side, fault: null, error: null };
    this.state = 'closing';
    this.lingerTimer.start(this.lingerMs, () => this.destroyBoth(false));
  }
}

interface ListenerEntry {
  readonly server: Server;
  readonly targetHost: string;
  readonly targetPort: number;
}

/**
 * The proxy. Every socket and timer it opens is its own, closed by {@link FaultProxy.close}.
 */
export class FaultProxy {
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

/**
 * Checks a fault's shape (it may come from JSON).
 *
 * @throws Error naming the first problem.
 */
export function checkFault(fault: ProxyFault): void {
  const f = fault as Partial<Record<string, unknown>>;
  const kinds = ['reset', 'half-close', 'stall-reader', 'stall-writer', 'partial-close', 'garbage', 'drop-channel'];
  if (typeof f !== 'object' || f === null || typeof f.kind !== 'string' || !kinds.includes(f.kind))
    throw new Error(`fault.kind must be one of ${kinds.join(', ')}`);
  if (f.channel !== undefined && f.channel !== 'send' && f.channel !== 'receive')
    throw new Error('fault.channel must be send or receive');
  if (f.kind === 'drop-channel' && f.channel === undefined) throw new Error('drop-channel needs a channel');
  if (f.kind !== 'reset' && f.kind !== 'drop-channel' && f.toward !== 'listener' && f.toward !== 'connector')
    throw new Error(`${f.kind} needs toward: listener or connector`);
  const int = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
  if ((f.kind === 'stall-reader' || f.kind === 'stall-writer') && !int(f.ms, 3_600_000))
    throw new Error(`${f.kind} needs ms: an integer from 0 to 3600000`);
  if (f.kind === 'garbage' && (!int(f.bytes, 1 << 20) || !int(f.seed, 0xffffffff)))
    throw new Error('garbage needs bytes (0 to 1048576) and seed (a 32-bit unsigned integer)');
}
