/**
 * The reference KKCM peer: lifecycle (design 6.2), the two channels and the session
 * (7.2.b), output (7.2.c/d), input and dispatch (7.2.e), the periodic timer service
 * (7.2.f) and cleanup (7.2.g), with membership, reconnection and role swap.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  CleanupDetail,
  CleanupReason,
  CodecError,
  ERROR_CODES,
  ERROR_VALUES,
  Feature,
  Flags,
  HEADER_SIZE,
  Limits,
  MESSAGES,
  PROTOCOL_VERSIONS,
  RejectReason,
  Role as RoleValue,
  Timers,
  TYPE_CLIENT,
  type ChannelName,
  type ClientName,
  type ControlHelloBody,
  type ControlHelloRejectBody,
  type ControlShutdownBody,
  type DecodedMessage,
  type KnownMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { systemClock, Timer, type Clock } from './clock.js';
import { PeerError } from './errors.js';
import type { PeerEvent, Role } from './events.js';
import { Link, type HelloDecision, type LinkOwner } from './link.js';
import { ProbeClient } from './probe.js';
import { detailName, reasonName, type CleanupReasonName, type Trigger } from './reasons.js';
import { ClientRegistry, type ClientHandlers, type CleanupInfo, type DeliveryContext } from './registry.js';
import { bump, emptyStats, TrafficCounter, type PeerStats } from './stats.js';
import {
  DEFAULT_ACCEPT_RATE_WHILE_UP,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  type Endpoint,
  type PeerOptions,
  type PeerStatus,
  type SendOptions,
} from './peer-options.js';
import { Session } from './session.js';
import { tcpTransport } from './tcp-transport.js';
import type { Listener, Transport } from './transport.js';

export * from './peer-options.js';

const CHANNELS: readonly ChannelName[] = ['send', 'receive'];
/** Message names by `type << 8 | subtype`. */
const MESSAGE_NAMES = new Map<number, string>(Object.values(MESSAGES).map((m) => [(m.type << 8) | m.subtype, m.name]));
const seqLte = (a: number, b: number): boolean => (b - a) >>> 0 < 0x80000000;
/** What `send` returns for a message queued at once: one promise, always resolved. */
const RESOLVED: Promise<void> = Promise.resolve();
/** `send` without options. */
const NO_SEND_OPTIONS: SendOptions = {};
/** What a message handler learns of a delivery: one object per channel, not one per message. */
const DELIVERY_CONTEXT: Readonly<Record<ChannelName, DeliveryContext>> = {
  send: Object.freeze({ channel: 'send' }),
  receive: Object.freeze({ channel: 'receive' }),
};

/**
 * A KKCM peer: one side of the replication link.
 *
 * Lifecycle: `configure()` (NSR enabled) starts it, `deconfigure()` stops it, `stop()`
 * stops it for good. Events (`peer.on('event', fn)`) follow the event-file contract.
 */
export class KkcmPeer extends EventEmitter<{
  /** Every {@link PeerEvent}: state changes, traffic, errors (the event file's lines). */
  event: [PeerEvent];
  /**
   * Every whole message written (`tx`) or read (`rx`), with the remote address. The bytes
   * may be a view into a transport buffer: copy them to keep them.
   */
  frame: [ChannelName, 'tx' | 'rx', Uint8Array, string];
}> {
  private roleValue: Role;
  private readonly options: PeerOptions;
  private readonly clock: Clock;
  private readonly transport: Transport;
  private readonly random: () => number;
  private readonly registry = new ClientRegistry();
  private readonly probe: ProbeClient | undefined;
  private readonly statsValue: PeerStats = emptyStats();
  /** Counts traffic into `statsValue`, message names looked up once per type. */
  private readonly traffic = new TrafficCounter(this.statsValue, (type, subtype) => this.nameOf(type, subtype));
  private readonly periodicTimer: Timer;
  private readonly watchdogTimer: Timer;
  private readonly reconnectTimer: Timer;
  private readonly sessionTimer: Timer;
  /** Accept tokens left and when they were last refilled (see {@link takeAcceptToken}). */
  private acceptTokens = 0;
  private acceptRefilledAt = -Infinity;
  private configured = false;
  private stopped = false;
  private peerAlive = true;
  private listener: Listener | undefined;
  /** Port the master listens on once resolved (0 until then). */
  private boundPort = 0;
  private listening: Promise<void> | undefined;
  private connecting = false;
  private attempt = 0;
  private current: Session | undefined;
  private pending: Session | undefined;
  /** Accepted links not (yet) part of a session. */
  private readonly loose = new Set<Link>();
  private readonly linkOwner: LinkOwner;

  constructor(options: PeerOptions) {
    super();
    this.options = options;
    this.roleValue = options.role;
    this.clock = options.clock ?? systemClock();
    this.transport = options.transport ?? tcpTransport;
    this.random = options.random ?? Math.random;
    this.periodicTimer = new Timer(this.clock);
    this.watchdogTimer = new Timer(this.clock);
    this.reconnectTimer = new Timer(this.clock);
    this.sessionTimer = new Timer(this.clock);
    this.linkOwner = this.makeLinkOwner();
    if (options.conformanceProbe === true) {
      this.probe = new ProbeClient(this, this.periodicMs);
      this.registry.register('probe', this.probe.handlers);
    }
  }

  // ---------------------------------------------------------------- public API

  /** Current role. */
  get role(): Role {
    return this.roleValue;
  }

  /** True while a session is up. */
  get sessionUp(): boolean {
    return this.current?.up === true;
  }

  /** Id of the session that is up, if any. */
  get sessionId(): bigint | undefined {
    return this.current?.id;
  }

  /** Address the master listens on, once listening. */
  get listenAddress(): Endpoint | undefined {
    return this.listener === undefined ? undefined : { host: this.listener.host, port: this.listener.port };
  }

  private get periodicMs(): number {
    return this.options.periodicMs ?? Timers.periodicMs;
  }

  private get maxMessage(): number {
    return Math.min(this.options.maxMessage ?? Limits.defaultMaxMessage, Limits.absoluteMaxMessage);
  }

  private get versions(): { min: number; max: number } {
    return this.options.versions ?? { min: PROTOCOL_VERSIONS.min, max: PROTOCOL_VERSIONS.max };
  }

  private get features(): number {
    return Feature.deliveryAck | (this.probe !== undefined ? Feature.conformanceProbe : 0);
  }

  /**
   * Registers a client (design 7.1).
   *
   * @throws PeerError ERR_INVALID_REGISTRATION or ERR_DUPLICATE_REGISTRATION.
   */
  register(client: ClientName, handlers: ClientHandlers): void {
    this.registry.register(client, handlers);
  }

  /** Unregisters a client; a no-op if it is not registered. */
  unregister(client: ClientName): void {
    if (client !== 'probe' || this.probe === undefined) this.registry.unregister(client);
  }

  /**
   * Starts the module (NSR configured, design 4.2.a): the master listens, the backup
   * connects as soon as the membership source says the other side is up.
   */
  async configure(): Promise<void> {
    if (this.stopped) throw new PeerError('ERR_NOT_CONFIGURED', 'the peer was stopped');
    if (this.configured) return;
    this.configured = true;
    this.emitEvent({ event: 'configured', role: this.roleValue });
    await this.enterRole();
  }

  /**
   * Stops the module (NSR deconfigured): SHUTDOWN to the peer, every client's cleanup
   * with nsrDeconfigured, sockets closed, listener closed.
   */
  async deconfigure(): Promise<void> {
    if (!this.configured) return;
    this.configured = false;
    this.endSession(
      { reason: 'nsrDeconfigured', detail: 'none', text: 'NSR deconfigured' },
      { reason: CleanupReason.nsrDeconfigured, detail: CleanupDetail.none, text: 'NSR deconfigured' },
    );
    await this.leaveRole();
    this.emitEvent({ event: 'deconfigured' });
  }

  /**
   * Stops the peer for good (process exit): SHUTDOWN telling the other side that this one
   * goes down, cleanup with nsrDeconfigured/localShutdown, everything closed.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.configured) {
      this.configured = false;
      this.endSession(
        { reason: 'nsrDeconfigured', detail: 'localShutdown', text: 'peer stopping' },
        { reason: CleanupReason.peerDown, detail: CleanupDetail.peerShutdown, text: 'peer stopping' },
      );
      await this.leaveRole();
    }
    this.periodicTimer.stop();
    this.watchdogTimer.stop();
    this.reconnectTimer.stop();
    this.sessionTimer.stop();
  }

  /**
   * Manual mastership switchover (design 6.2.1.c): SHUTDOWN(switchover) to the peer, every
   * client's cleanup with switchover, then the roles swap.
   */
  async switchover(): Promise<void> {
    if (!this.configured) throw new PeerError('ERR_NOT_CONFIGURED', 'switchover needs a configured peer');
    this.endSession(
      { reason: 'switchover', detail: 'manualSwitchover', text: 'manual switchover' },
      { reason: CleanupReason.switchover, detail: CleanupDetail.manualSwitchover, text: 'manual switchover' },
    );
    await this.swapRole();
  }

  /**
   * The membership source says the other side went offline (design 6.2.1.a/b): cleanup
   * with peerDown; a backup whose master died becomes the master.
   */
  async peerDown(): Promise<void> {
    this.peerAlive = false;
    this.emitEvent({ event: 'peer-down' });
    this.reconnectTimer.stop();
    const detail = this.roleValue === 'backup' ? 'masterOffline' : 'backupOffline';
    this.endSession({ reason: 'peerDown', detail, text: 'the other side went offline' }, undefined);
    this.abortPending({ reason: 'peerDown', detail, text: 'the other side went offline' });
    if (this.configured && this.roleValue === 'backup' && this.options.listen !== undefined) await this.swapRole();
  }

  /** The membership source says the other side is up again: the backup connects. */
  peerUp(): void {
    if (this.peerAlive) return;
    this.peerAlive = true;
    this.emitEvent({ event: 'peer-up' });
    this.attempt = 0;
    if (this.configured && this.roleValue === 'backup') this.scheduleConnect(0);
  }

  /**
   * Sends a message on behalf of a client (design 7.2.c). The message is encoded at once:
   * after the call the caller's buffers are free. It goes on its type's channel.
   *
   * @returns resolves when queued, or with `confirm` when the peer's handler accepted it.
   *   Rejects (the call itself never throws) with PeerError ERR_WRONG_CLIENT,
   *   ERR_WRONG_CHANNEL, ERR_NOT_CONFIGURED, ERR_NO_SESSION, ERR_QUEUE_FULL (without `wait`),
   *   ERR_SESSION_DOWN; with CodecError for a message that cannot be encoded.
   */
  send(client: ClientName, msg: MessageInput, options: SendOptions = NO_SEND_OPTIONS): Promise<void> {
    // Not `async`: a message queued at once (the common case) costs no promise of its own
    // and no suspended function; it gets the one promise that is always resolved.
    try {
      const link = this.linkFor(client, msg, options.channel);
      const session = this.current!;
      const channel = link.channel!;
      // The caller's flags are encoded (and checked) as given; ackRequested is then set in the
      // header's flags byte. Not `{ ...msg, flags }`: the copy cost more than the encoding.
      const bytes = link.encode(msg);
      const confirm = options.confirm === true;
      if (confirm) bytes[5] = bytes[5]! | Flags.ackRequested;
      // A message waiting for room goes first: a later one that would fit must not overtake it.
      const waiting = session.waiting[channel];
      if (waiting.length > 0 || !link.hasRoom(bytes.byteLength)) {
        if (options.wait !== true) throw this.apiError('ERR_QUEUE_FULL', `the ${channel} queue is full`);
        return new Promise<void>((resolve, reject) => waiting.push({ bytes, confirm, resolve, reject }));
      }
      const seq = link.enqueueFrame(bytes);
      if (!confirm) return RESOLVED;
      return new Promise<void>((resolve, reject) => session.confirmations[channel].push({ seq, resolve, reject }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Queues a message on behalf of a client if its channel's queue has room now: the
   * synchronous form of {@link KkcmPeer.send}, for a sender that handles back-pressure itself
   * (design 7.2.c: `jsr_ipc_msg_send` without `wait_ok`, its answer a return value). No
   * promise, no delivery confirmation. The message is encoded at once and goes on its type's
   * channel, never ahead of a `send` that waits for room there.
   *
   * @param options - `channel`: for types that travel on both (control and probe).
   * @returns true when the message was queued; false when the queue is full (nothing is
   *   queued, and it is not counted as an error): wait with `send(…, { wait: true })`.
   * @throws PeerError ERR_WRONG_CLIENT, ERR_WRONG_CHANNEL, ERR_NOT_CONFIGURED,
   *   ERR_NO_SESSION; CodecError for a message that cannot be encoded.
   */
  trySend(client: ClientName, msg: MessageInput, options?: Pick<SendOptions, 'channel'>): boolean {
    const link = this.linkFor(client, msg, options?.channel);
    // Without room for even a header, not worth encoding.
    if (this.current!.waiting[link.channel!].length > 0 || !link.hasRoom(HEADER_SIZE)) return false;
    const bytes = link.encode(msg);
    if (!link.hasRoom(bytes.byteLength)) return false;
    link.enqueueFrame(bytes);
    return true;
  }

  /**
   * The checks `send` and `trySend` share (client, channel, module configured, session up);
   * the bound link the message goes out on.
   *
   * @throws CodecError ERR_UNKNOWN_MESSAGE; PeerError ERR_WRONG_CLIENT, ERR_WRONG_CHANNEL,
   *   ERR_NOT_CONFIGURED, ERR_NO_SESSION.
   */
  private linkFor(client: ClientName, msg: MessageInput, channelAsked: ChannelName | undefined): Link {
    const meta = MESSAGES[msg.name] as (typeof MESSAGES)[keyof typeof MESSAGES] | undefined;
    if (meta === undefined) throw new CodecError('ERR_UNKNOWN_MESSAGE', `no message named ${String(msg.name)}`);
    if (meta.client !== client)
      throw this.apiError('ERR_WRONG_CLIENT', `${msg.name} belongs to ${meta.client}, not ${client}`);
    const channel = channelAsked ?? meta.channels[0]!;
    if (channelAsked !== undefined && !meta.channels.includes(channelAsked))
      throw this.apiError('ERR_WRONG_CHANNEL', `${msg.name} does not travel on the ${channelAsked} channel`);
    const session = this.current;
    if (!this.configured) throw this.apiError('ERR_NOT_CONFIGURED', 'NSR is not configured');
    if (session === undefined || !session.up) throw this.apiError('ERR_NO_SESSION', 'no session is up');
    return session.links[channel]!;
  }

  /** Bytes left a queue: the sends waiting for room go in, in order, as far as they fit. */
  private admitWaiting(session: Session, channel: ChannelName, link: Link): void {
    const waiting = session.waiting[channel];
    let n = 0;
    while (n < waiting.length && link.hasRoom(waiting[n]!.bytes.byteLength)) {
      const w = waiting[n++]!;
      const seq = link.enqueueFrame(w.bytes);
      if (w.confirm) session.confirmations[channel].push({ seq, resolve: w.resolve, reject: w.reject });
      else w.resolve();
    }
    if (n > 0) waiting.splice(0, n);
  }

  /** Current state, roles, negotiated version and queue depths. */
  status(): PeerStatus {
    const s = this.current;
    const queues = {} as PeerStatus['queues'] & Record<string, unknown>;
    for (const ch of CHANNELS) {
      const link = s?.links[ch];
      queues[ch] = {
        depth: link?.queueDepth ?? 0,
        bytes: link?.queueBytes ?? 0,
        highWater: this.statsValue.channels[ch].queueHighWater,
      };
    }
    let state: PeerStatus['state'] = 'idle';
    if (this.configured) {
      if (s?.up === true) state = 'up';
      else if (this.pending !== undefined || this.loose.size > 0) state = 'handshaking';
      else if (this.connecting) state = 'connecting';
      else if (this.reconnectTimer.active) state = 'backoff';
      else state = 'waiting';
    }
    return {
      configured: this.configured,
      role: this.roleValue,
      state,
      peerAlive: this.peerAlive,
      session:
        s?.up === true ? { id: s.id.toString(), version: s.version, features: s.features, peerNode: s.peerNode } : null,
      listening: this.listenAddress ?? null,
      queues,
      clients: this.registry.entries().map(([name]) => name),
    };
  }

  /** A snapshot of the counters. */
  stats(): PeerStats {
    const snap = structuredClone(this.statsValue);
    for (const ch of CHANNELS) snap.channels[ch].queueDepth = this.current?.links[ch]?.queueDepth ?? 0;
    snap.connectionsPending = this.loose.size;
    return snap;
  }

  /** Resolves with the next event matching `predicate` (for tests and the CLI). */
  waitFor(predicate: (e: PeerEvent) => boolean): Promise<PeerEvent> {
    return new Promise((resolve) => {
      const listener = (e: PeerEvent): void => {
        if (!predicate(e)) return;
        this.off('event', listener);
        resolve(e);
      };
      this.on('event', listener);
    });
  }

  // ---------------------------------------------------------------- roles

  private async enterRole(): Promise<void> {
    if (this.roleValue === 'master') {
      const at = this.options.listen;
      if (at === undefined) throw new PeerError('ERR_NOT_CONFIGURED', 'the master role needs a listen address');
      // Port 0 is resolved once: after a deconfigure or a role swap the master comes back on
      // the same port, so that its backup finds it again.
      this.listening = this.transport
        .listen(at.host, at.port === 0 ? this.boundPort : at.port, (c) => this.onAccept(c))
        .then((l) => {
          this.listener = l;
          this.boundPort = l.port;
          this.emitEvent({ event: 'listening', host: l.host, port: l.port });
        });
      await this.listening;
    } else {
      if (this.options.connect === undefined)
        throw new PeerError('ERR_NOT_CONFIGURED', 'the backup role needs a connect address');
      this.attempt = 0;
      if (this.peerAlive) this.scheduleConnect(0);
    }
  }

  private async leaveRole(): Promise<void> {
    this.reconnectTimer.stop();
    this.abortPending({ reason: 'nsrDeconfigured', detail: 'localShutdown', text: 'leaving role' });
    for (const link of this.loose)
      link.destroy({ reason: 'nsrDeconfigured', detail: 'localShutdown', text: 'leaving role' });
    this.loose.clear();
    await this.listening?.catch(() => undefined);
    this.listening = undefined;
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }

  private async swapRole(): Promise<void> {
    const from = this.roleValue;
    const to: Role = from === 'master' ? 'backup' : 'master';
    if (
      (to === 'master' && this.options.listen === undefined) ||
      (to === 'backup' && this.options.connect === undefined)
    ) {
      // No address for the other role: stay, but the session is gone; keep serving this role.
      this.emitEvent({
        event: 'error',
        code: 'ERR_NOT_CONFIGURED',
        channel: null,
        text: `cannot become ${to}: no ${to === 'master' ? 'listen' : 'connect'} address`,
      });
      if (this.configured && from === 'backup') this.scheduleConnect(this.nextBackoff());
      return;
    }
    await this.leaveRole();
    this.roleValue = to;
    this.emitEvent({ event: 'role-change', from, to });
    if (this.configured) await this.enterRole();
  }

  // ---------------------------------------------------------------- connecting (backup)

  private scheduleConnect(ms: number): void {
    if (!this.configured || this.roleValue !== 'backup' || !this.peerAlive) return;
    this.reconnectTimer.start(ms, () => void this.connectOnce());
  }

  private nextBackoff(): number {
    const b = this.options.backoff ?? {};
    const initial = b.initialMs ?? Timers.reconnectInitialMs;
    const max = b.maxMs ?? Timers.reconnectMaxMs;
    const mult = b.multiplier ?? Timers.reconnectMultiplier;
    const jitter = b.jitter ?? Timers.reconnectJitter;
    const base = Math.min(max, initial * mult ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(0, Math.round(base * (1 + jitter * (2 * this.random() - 1))));
  }

  /** One connection attempt: both channels, HELLO on each with one new session id. */
  private async connectOnce(): Promise<void> {
    const at = this.options.connect;
    if (
      this.connecting ||
      at === undefined ||
      !this.configured ||
      this.roleValue !== 'backup' ||
      this.current !== undefined ||
      this.pending !== undefined
    )
      return;
    this.connecting = true;
    this.emitEvent({ event: 'connecting', host: at.host, port: at.port, attempt: this.attempt });
    const session = new Session(randomBytes(8).readBigUInt64BE() | 1n);
    this.pending = session;
    this.startSessionTimer(session);
    try {
      for (const channel of CHANNELS) {
        const conn = await this.transport.connect(at.host, at.port);
        if (this.pending !== session) {
          conn.destroy();
          return;
        }
        const link = this.newLink(conn, 'connector', channel);
        session.links[channel] = link;
        link.sendHello(this.helloBody(channel, session.id));
      }
    } catch (err) {
      const retryMs = this.nextBackoff();
      // A transport that knows why it failed (TLS: the master's certificate) says so with a spec code.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code in ERROR_VALUES)
        this.emitEvent({ event: 'error', code, channel: null, text: (err as Error).message });
      this.emitEvent({ event: 'connect-failed', host: at.host, port: at.port, error: (err as Error).message, retryMs });
      this.abortPending({ reason: 'socketIoError', detail: 'connectionReset', text: 'connect failed' }, retryMs);
    } finally {
      this.connecting = false;
    }
  }

  private helloBody(channel: ChannelName, sessionId: bigint): ControlHelloBody {
    return {
      minVersion: this.versions.min,
      maxVersion: this.versions.max,
      role: RoleValue[this.roleValue],
      channel: channel === 'send' ? 1 : 2,
      features: this.features,
      nodeId: this.options.nodeId ?? 0,
      maxMessage: this.maxMessage,
      sessionId,
      nodeName: this.options.nodeName ?? '',
    };
  }

  // ---------------------------------------------------------------- accepting (master)

  private onAccept(conn: import('./transport.js').Connection): void {
    if (!this.configured || this.roleValue !== 'master') {
      conn.destroy();
      return;
    }
    if (this.loose.size >= (this.options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS)) {
      this.shed(conn, `${this.loose.size} connections are already handshaking`);
      return;
    }
    if (this.current !== undefined && !this.takeAcceptToken()) {
      this.shed(conn, `more than ${this.acceptRate} connections per second while a session is up`);
      return;
    }
    this.statsValue.connectionsAccepted++;
    this.emitEvent({ event: 'accepted', remote: conn.remote });
    this.loose.add(this.newLink(conn, 'acceptor', undefined));
  }

  /** Closes a connection at once, before any byte: a local defence against floods. */
  private shed(conn: import('./transport.js').Connection, why: string): void {
    conn.destroy();
    this.statsValue.connectionsShed++;
    this.emitEvent({ event: 'error', code: 'ERR_TOO_MANY_CONNECTIONS', channel: null, text: `${conn.remote}: ${why}` });
  }

  private get acceptRate(): number {
    return this.options.acceptRateWhileUp ?? DEFAULT_ACCEPT_RATE_WHILE_UP;
  }

  /** Token bucket of {@link PeerOptions.acceptRateWhileUp}: true when one more connection fits. */
  private takeAcceptToken(): boolean {
    const rate = this.acceptRate;
    if (!(rate > 0)) return false;
    if (rate === Infinity) return true;
    const now = this.clock.now();
    this.acceptTokens = Math.min(rate, this.acceptTokens + ((now - this.acceptRefilledAt) * rate) / 1000);
    this.acceptRefilledAt = now;
    if (this.acceptTokens < 1) return false;
    this.acceptTokens--;
    return true;
  }

  private decideHello(link: Link, hello: ControlHelloBody): HelloDecision {
    const ours = this.versions;
    const reject = (reason: keyof typeof RejectReason, text: string, retryAfterMs = 0): HelloDecision => {
      this.statsValue.connectionsRefused++;
      this.emitEvent({ event: 'refused', remote: link.connection.remote, reason });
      return {
        reject: { reason: RejectReason[reason], minVersion: ours.min, maxVersion: ours.max, retryAfterMs, text },
      };
    };
    const allow = this.options.allow ?? [];
    if (allow.length > 0 && !allow.includes(link.connection.remoteHost.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')))
      return reject('notAllowed', `${link.connection.remoteHost} is not on the allow-list`);
    if (hello.role !== RoleValue.backup)
      return reject('roleConflict', 'this side is the master; the connecting side must be the backup');
    const lo = Math.max(ours.min, hello.minVersion);
    const hi = Math.min(ours.max, hello.maxVersion);
    if (lo > hi && this.options.faults?.ignoreVersionRanges !== true)
      return reject(
        'versionIncompatible',
        `no common version: ours ${ours.min}..${ours.max}, yours ${hello.minVersion}..${hello.maxVersion}`,
      );
    if (hello.maxMessage < Limits.minMaxMessage)
      return reject('messageLimitTooSmall', `maxMessage ${hello.maxMessage} < ${Limits.minMaxMessage}`);
    if (this.current !== undefined && this.options.faults?.acceptSecondSession !== true)
      return reject('sessionBusy', 'a session is already up', Timers.reconnectMaxMs);
    const channel = link.channel!;
    let session = this.pending;
    if (session !== undefined && session.id !== hello.sessionId)
      return reject('sessionMismatch', 'another session is being set up', Timers.reconnectInitialMs);
    if (session?.links[channel] !== undefined)
      return reject(
        'channelBusy',
        `the ${channel} channel of this session is already bound`,
        Timers.reconnectInitialMs,
      );
    if (session === undefined) {
      session = new Session(hello.sessionId);
      this.pending = session;
      this.startSessionTimer(session);
    }
    session.links[channel] = link;
    session.peerNode = hello.nodeName;
    this.loose.delete(link);
    return {
      accept: {
        version: hi,
        role: RoleValue.master,
        features: this.features & hello.features,
        nodeId: this.options.nodeId ?? 0,
        maxMessage: this.maxMessage,
        sessionId: hello.sessionId,
        nodeName: this.options.nodeName ?? '',
      },
    };
  }

  // ---------------------------------------------------------------- sessions

  private startSessionTimer(session: Session): void {
    if (this.options.faults?.keepHalfBoundSession === true) return;
    this.sessionTimer.start(this.options.handshakeTimeoutMs ?? Timers.handshakeTimeoutMs, () => {
      if (this.pending !== session) return;
      const text = 'the session did not come up in time: its two channels were not both bound';
      this.emitEvent({ event: 'error', code: 'ERR_HANDSHAKE_TIMEOUT', channel: null, text });
      // A bound channel learns why it is closed, as an unbound one does from its own timer.
      for (const link of session.allLinks()) if (link.state === 'bound') link.sendError('ERR_HANDSHAKE_TIMEOUT', text);
      this.abortPending({ reason: 'socketIoError', detail: 'handshakeTimeout', text: 'handshake timeout' });
    });
  }

  /** Drops the session being set up; the backup tries again after `retryMs`. */
  private abortPending(trigger: Trigger, retryMs?: number): void {
    const session = this.pending;
    if (session === undefined) return;
    this.pending = undefined;
    this.sessionTimer.stop();
    // close, not destroy: a link that is failing must still get its ERROR out.
    for (const link of session.allLinks()) link.close(trigger);
    if (this.roleValue === 'backup') this.scheduleConnect(retryMs ?? this.nextBackoff());
  }

  private onBound(link: Link): void {
    const session = this.pending;
    if (session === undefined || !session.allLinks().includes(link)) return;
    this.emitEvent({ event: 'channel-bound', channel: link.channel!, sessionId: session.id.toString() });
    if (session.links.send?.state !== 'bound' || session.links.receive?.state !== 'bound') return;
    this.sessionTimer.stop();
    this.pending = undefined;
    this.current = session;
    session.up = true;
    session.version = link.version ?? 0;
    if (link.peerNodeName !== undefined) session.peerNode = link.peerNodeName;
    session.features = link.features;
    this.attempt = 0;
    this.statsValue.sessions.up++;
    for (const [client, h] of this.registry.entries()) this.callHandler(client, 'init', () => h.init?.(session.id));
    this.emitEvent({
      event: 'session-up',
      sessionId: session.id.toString(),
      version: session.version,
      role: this.roleValue,
      features: session.features,
    });
    this.startPeriodic(session);
    this.startWatchdog(session);
    for (const { link: l, msg } of session.early.splice(0)) this.dispatch(l, msg);
  }

  /**
   * Ends the current session as a whole (design 7.2.g): periodic timer stopped, every
   * client's cleanup called once with the reason, then the sockets closed (after SHUTDOWN
   * when `shutdown` is given).
   */
  private endSession(trigger: Trigger, shutdown: ControlShutdownBody | undefined): void {
    const session = this.current;
    if (session === undefined) return;
    this.current = undefined;
    session.up = false;
    this.periodicTimer.stop();
    this.watchdogTimer.stop();
    this.statsValue.sessions.down++;
    const down = new PeerError('ERR_SESSION_DOWN', `session ended: ${trigger.reason}`);
    for (const ch of CHANNELS) {
      for (const c of session.confirmations[ch].splice(0)) c.reject(down);
      for (const w of session.waiting[ch].splice(0))
        w.reject(this.apiError('ERR_SESSION_DOWN', 'the session went down while waiting for room'));
    }
    const info: CleanupInfo = {
      reason: trigger.reason,
      reasonValue: CleanupReason[trigger.reason],
      detail: trigger.detail,
      sessionId: session.id,
    };
    for (const [client, h] of this.registry.entries()) {
      bump(this.statsValue.cleanups, trigger.reason);
      this.emitEvent({
        event: 'cleanup',
        client,
        reason: trigger.reason,
        detail: trigger.detail,
        sessionId: session.id.toString(),
      });
      this.callHandler(client, 'cleanup', () => h.cleanup?.(info));
    }
    for (const link of session.allLinks()) link.close(trigger, shutdown);
    this.emitEvent({
      event: 'session-down',
      sessionId: session.id.toString(),
      reason: trigger.reason,
      detail: trigger.detail,
      text: trigger.text,
    });
    if (this.configured && this.roleValue === 'backup' && trigger.reason !== 'switchover')
      this.scheduleConnect(this.nextBackoff());
  }

  private onLinkDown(link: Link, trigger: Trigger, error?: Error): void {
    if (error !== undefined && (error as { code?: string }).code !== 'ERR_CONNECTION_LOST') {
      const code = (error as { code?: string }).code ?? 'ERR_CONNECTION_LOST';
      this.emitEvent({ event: 'error', code, channel: link.channel ?? null, text: trigger.text });
    }
    this.loose.delete(link);
    if (this.current?.allLinks().includes(link) === true) this.endSession(trigger, undefined);
    else if (this.pending?.allLinks().includes(link) === true) this.abortPending(trigger);
  }

  private onShutdown(link: Link, body: ControlShutdownBody): void {
    if (this.current?.allLinks().includes(link) !== true) return;
    const name = this.options.faults?.ignoreShutdownReason === true ? 'none' : reasonName(body.reason);
    const reason: CleanupReasonName =
      name === 'none' || name.startsWith('reason') ? 'socketIoError' : (name as CleanupReasonName);
    const detail = detailName(body.detail) as Trigger['detail'];
    this.endSession(
      { reason, detail: detail in CleanupDetail ? detail : 'peerShutdown', text: `peer sent SHUTDOWN: ${body.text}` },
      undefined,
    );
    if (reason === 'switchover' && this.configured) void this.swapRole();
  }

  private onRejected(link: Link, body: ControlHelloRejectBody): void {
    const reason = Object.entries(RejectReason).find(([, v]) => v === body.reason)?.[0] ?? `reason${body.reason}`;
    const retryMs =
      body.retryAfterMs > 0
        ? body.retryAfterMs
        : reason === 'versionIncompatible'
          ? Timers.incompatibleRetryMs
          : this.nextBackoff();
    this.emitEvent({ event: 'rejected', channel: link.channel ?? null, reason, text: body.text, retryMs });
    bump(this.statsValue.errors, 'ERR_PEER_REJECTED');
    this.abortPending({ reason: 'socketIoError', detail: 'protocolError', text: `rejected: ${reason}` }, retryMs);
  }

  // ---------------------------------------------------------------- dispatch

  private onMessage(link: Link, msg: KnownMessage): void {
    const session = this.current;
    if (session === undefined || (session.links.send !== link && session.links.receive !== link)) {
      const pending = this.pending;
      const fits =
        pending !== undefined &&
        pending.early.length < (this.options.queueMessages ?? Limits.defaultQueueMessages) &&
        pending.earlyBytes + msg.header.length <= (this.options.queueBytes ?? Limits.defaultQueueBytes);
      if (pending !== undefined && fits && link.state === 'bound' && this.roleValue === 'backup') {
        // The master may send as soon as it bound both channels; hold until ours are.
        pending.early.push({ link, msg });
        pending.earlyBytes += msg.header.length;
        return;
      }
      link.protocolError(new CodecError('ERR_UNEXPECTED_MESSAGE', `${msg.name} before the session is up`), undefined);
      return;
    }
    this.dispatch(link, msg);
  }

  /**
   * Hands a whole message to the handler registered for its type (design 7.2.e), then
   * confirms an ackRequested one: ACK when the handler accepted it, NACK when it threw or
   * no client is registered (KKCM-CTL-4).
   */
  private dispatch(link: Link, msg: KnownMessage): void {
    const client = TYPE_CLIENT[msg.header.type] ?? 'kkcm';
    const handler = this.registry.get(client)?.message;
    const confirm = (msg.header.flags & Flags.ackRequested) !== 0;
    if (handler === undefined) {
      this.statsValue.undelivered++;
      this.emitEvent({ event: 'undelivered', channel: link.channel!, name: msg.name, client });
      if (confirm) link.sendNack(msg.header.seq, 'ERR_NO_HANDLER');
      return;
    }
    // Not through callHandler: no closure per message. The context is one frozen object per channel.
    let accepted = true;
    try {
      handler(msg, DELIVERY_CONTEXT[link.channel!]);
    } catch (err) {
      accepted = false;
      this.handlerThrew(client, 'message', err);
    }
    if (!confirm) return;
    if (accepted) link.scheduleAck(msg.header.seq);
    else link.sendNack(msg.header.seq, 'ERR_HANDLER_FAILED');
  }

  /** Calls a client handler, isolating its exception (counted and traced). @returns false when it threw. */
  private callHandler(client: string, handler: 'message' | 'periodic' | 'cleanup' | 'init', fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.handlerThrew(client, handler, err);
      return false;
    }
  }

  /** A client handler threw: counted and traced, never propagated. */
  private handlerThrew(client: string, handler: 'message' | 'periodic' | 'cleanup' | 'init', err: unknown): void {
    this.statsValue.handlerErrors++;
    // `throw undefined` is possible too: reading its message must not throw in turn.
    const message = (err as { message?: unknown } | null | undefined)?.message;
    this.emitEvent({
      event: 'handler-error',
      client,
      handler,
      error: typeof message === 'string' ? message : String(err),
    });
  }

  // ---------------------------------------------------------------- timers

  private startPeriodic(session: Session): void {
    if (this.options.faults?.periodicNeverFires === true) return;
    const tick = (): void => {
      if (this.current !== session) return;
      for (const [client, h] of this.registry.entries())
        if (h.periodic !== undefined) this.callHandler(client, 'periodic', h.periodic);
      if (this.current === session) this.periodicTimer.start(this.periodicMs, tick);
    };
    this.periodicTimer.start(this.periodicMs, tick);
  }

  /** Dead-connection detection: output outstanding and no input for deadConnectionMs. */
  private startWatchdog(session: Session): void {
    const limit = this.options.deadConnectionMs ?? Timers.deadConnectionMs;
    const check = (): void => {
      if (this.current !== session) return;
      const now = this.clock.now();
      for (const ch of CHANNELS) {
        const link = session.links[ch]!;
        const outstanding = session.confirmations[ch].length > 0 || link.queueDepth > 0;
        // Dead: output outstanding, and neither input nor output progress for the limit
        // (a one-way flow that keeps draining is alive).
        if (outstanding && now - Math.max(link.lastInputAt, link.lastOutputAt) > limit) {
          this.endSession(
            {
              reason: 'socketIoError',
              detail: 'deadConnection',
              text: `no progress on the ${ch} channel for ${limit} ms with output outstanding`,
            },
            undefined,
          );
          return;
        }
      }
      this.watchdogTimer.start(Math.max(1, limit / 2), check);
    };
    this.watchdogTimer.start(Math.max(1, limit / 2), check);
  }

  // ---------------------------------------------------------------- links

  private newLink(
    conn: import('./transport.js').Connection,
    side: 'connector' | 'acceptor',
    channel: ChannelName | undefined,
  ): Link {
    return new Link(
      conn,
      {
        side,
        channel,
        clock: this.clock,
        maxMessage: this.maxMessage,
        handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? Timers.handshakeTimeoutMs,
        lingerMs: this.options.lingerMs ?? Timers.shutdownLingerMs,
        queueMessages: this.options.queueMessages ?? Limits.defaultQueueMessages,
        queueBytes: this.options.queueBytes ?? Limits.defaultQueueBytes,
        faults: this.options.faults,
      },
      this.linkOwner,
    );
  }

  private makeLinkOwner(): LinkOwner {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- for the getter below, whose `this` is the owner object
    const peer = this;
    return {
      onHello: (link, hello) => this.decideHello(link, hello),
      onBound: (link) => this.onBound(link),
      onRejected: (link, body) => this.onRejected(link, body),
      onMessage: (link, msg) => this.onMessage(link, msg),
      onIgnored: (link, msg: DecodedMessage) => {
        this.statsValue.ignored++;
        this.emitEvent({
          event: 'ignored',
          channel: link.channel!,
          type: msg.header.type,
          subtype: msg.header.subtype,
          seq: msg.header.seq,
        });
      },
      onAck: (link, upTo) => {
        const list = this.current?.confirmations[link.channel!];
        while (list !== undefined && list.length > 0 && seqLte(list[0]!.seq, upTo)) list.shift()!.resolve();
      },
      onNack: (link, seq, code) => {
        const list = this.current?.confirmations[link.channel!];
        const i = list === undefined ? -1 : list.findIndex((c) => c.seq === seq);
        if (list === undefined || i < 0) return;
        const errorCode = ERROR_CODES[code] ?? 'ERR_HANDLER_FAILED';
        list.splice(i, 1)[0]!.reject(new PeerError(errorCode, `the peer did not accept message ${seq}: ${errorCode}`));
      },
      onEchoReply: () => undefined,
      onShutdown: (link, body) => this.onShutdown(link, body),
      onDown: (link, trigger, error) => this.onLinkDown(link, trigger, error),
      onQueueSpace: (link) => {
        const s = this.current;
        const ch = link.channel;
        if (s === undefined || ch === undefined) return;
        if (s.links[ch] === link) this.admitWaiting(s, ch, link);
      },
      counters: (link, type, subtype) =>
        link.channel === undefined ? undefined : this.traffic.cells(link.channel, type, subtype),
      get tracing() {
        return peer.listenerCount('frame') > 0 || peer.listenerCount('event') > 0;
      },
      onTrace: (link, direction, msg, frame) => this.trace(link, direction, msg, frame),
    };
  }

  /** Frame and traffic events of one message (the link counted it already). */
  private trace(link: Link, direction: 'tx' | 'rx', msg: DecodedMessage | undefined, frame: Uint8Array): void {
    const channel = link.channel;
    if (channel === undefined) return;
    const type = frame[6]!;
    const subtype = frame[7]!;
    const name = msg !== undefined ? msg.name : this.nameOf(type, subtype);
    if (this.listenerCount('frame') > 0) this.emit('frame', channel, direction, frame, link.connection.remote);
    if (this.listenerCount('event') > 0) {
      const seq = ((frame[12]! << 24) | (frame[13]! << 16) | (frame[14]! << 8) | frame[15]!) >>> 0;
      this.emit('event', { event: direction, channel, type, subtype, seq, length: frame.byteLength, name });
    }
  }

  private nameOf(type: number, subtype: number): string | null {
    return MESSAGE_NAMES.get((type << 8) | subtype) ?? null;
  }

  private apiError(code: ConstructorParameters<typeof PeerError>[0], text: string): PeerError {
    bump(this.statsValue.errors, code);
    return new PeerError(code, text);
  }

  private emitEvent(e: PeerEvent): void {
    if (e.event === 'error') bump(this.statsValue.errors, e.code);
    this.emit('event', e);
  }
}
