/**
 * The reference KKCM peer: its public API and lifecycle (design 6.2), a facade over its parts:
 * accepting (accepting.ts) and connecting (connecting.ts) the two channels, session binding
 * and cleanup (session-binding.ts, 7.2.b/g), output (sending.ts, 7.2.c/d), input and dispatch
 * (dispatch.ts, 7.2.e), the session timers (session-timers.ts, 7.2.f) and tracing
 * (tracing.ts), over the state they share (peer-core.ts). Membership, role swap and the
 * status live here.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import {
  CleanupDetail,
  CleanupReason,
  Timers,
  type ChannelName,
  type ClientName,
  type ControlShutdownBody,
  type MessageInput,
} from '../../codec/src/index.js';
import { Acceptor } from './accepting.js';
import { Connector } from './connecting.js';
import { Dispatcher } from './dispatch.js';
import { PeerError } from './errors.js';
import type { PeerEvent, Role } from './events.js';
import type { LinkOwner } from './link.js';
import { CHANNELS, PeerCore } from './peer-core.js';
import type { Endpoint, PeerOptions, PeerStatus, SendOptions } from './peer-options.js';
import { ProbeClient } from './probe.js';
import type { Trigger } from './reasons.js';
import type { ClientHandlers, InitRoutine } from './registry.js';
import { NO_SEND_OPTIONS, Sender } from './sending.js';
import { SessionBinding } from './session-binding.js';
import type { PeerStats } from './stats.js';
import { trace, tracing } from './tracing.js';

export * from './peer-options.js';

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
   * are a view into a buffer the peer reuses (the input, a recycled send buffer): the
   * listener's until it returns; copy them to keep them.
   */
  frame: [ChannelName, 'tx' | 'rx', Uint8Array, string];
}> {
  private readonly core: PeerCore;
  private readonly dispatcher: Dispatcher;
  private readonly sessions: SessionBinding;
  private readonly connector: Connector;
  private readonly acceptor: Acceptor;
  private readonly sender: Sender;
  private readonly probe: ProbeClient | undefined;

  constructor(options: PeerOptions) {
    super();
    const core = new PeerCore(options, this);
    this.core = core;
    this.dispatcher = new Dispatcher(core);
    this.sessions = new SessionBinding(core, this.dispatcher, {
      retry: (ms) => this.connector.retry(ms),
      up: () => this.connector.succeeded(),
      switchover: () => void this.swapRole(),
    });
    this.connector = new Connector(core, this.sessions);
    this.acceptor = new Acceptor(core, this.sessions);
    this.sender = new Sender(core);
    core.attach(this.linkOwner());
    if (options.conformanceProbe === true) {
      this.probe = new ProbeClient(this, core.periodicMs);
      core.registry.register('probe', this.probe.handlers);
    }
  }

  /** Current protocol role. */
  get role(): Role {
    return this.core.role;
  }

  /** True while a session is up. */
  get sessionUp(): boolean {
    return this.core.current?.up === true;
  }

  /** Id of the session that is up, if any. */
  get sessionId(): bigint | undefined {
    return this.core.current?.id;
  }

  /** True when this side listens (the topology's rule for its slot or role), false when it connects. */
  get listens(): boolean {
    return this.core.listens;
  }

  /** Address this side listens on, once listening. */
  get listenAddress(): Endpoint | undefined {
    return this.acceptor.address;
  }

  /**
   * Registers a client (design 7.1).
   *
   * @throws PeerError ERR_INVALID_REGISTRATION or ERR_DUPLICATE_REGISTRATION.
   */
  register(client: ClientName, handlers: ClientHandlers): void {
    this.core.registry.register(client, handlers);
  }

  /** Unregisters a client; a no-op if it is not registered. */
  unregister(client: ClientName): void {
    if (client !== 'probe' || this.probe === undefined) this.core.registry.unregister(client);
  }

  /**
   * Adds a subsystem's init routine (design 6.2, 7.2.b.3): called on every session-up, before
   * the clients' init handlers and before any message of the session is delivered; it
   * registers its client, so that a client that unregisters in its cleanup (the design's PRL
   * example) is back for the next session. What it throws is isolated (a handler error).
   *
   * @throws PeerError ERR_INVALID_REGISTRATION or ERR_DUPLICATE_REGISTRATION (one per client).
   */
  addInitRoutine(client: ClientName, routine: InitRoutine): void {
    this.core.registry.addInitRoutine(client, routine);
  }

  /** Removes a client's init routine; a no-op when it has none. */
  removeInitRoutine(client: ClientName): void {
    this.core.registry.removeInitRoutine(client);
  }

  /**
   * Starts the module (NSR configured, design 4.2.a): the listening side listens, the
   * connecting side connects as soon as the membership source says the other side is up
   * (who is which: {@link PeerOptions.topology}).
   *
   * @throws PeerError ERR_NOT_CONFIGURED when the peer was stopped, or the address this side
   *   needs (listen or connect) is missing; ERR_LISTEN_FAILED when the listener cannot be
   *   opened (address in use…). On failure the module is left unconfigured, so a later call
   *   tries again.
   */
  async configure(): Promise<void> {
    const core = this.core;
    if (core.stopped) throw new PeerError('ERR_NOT_CONFIGURED', 'the peer was stopped');
    if (core.configured) return;
    core.configured = true;
    core.emitEvent({ event: 'configured', role: core.role });
    try {
      await this.enterRole();
    } catch (err) {
      // Undo it all, so that a retry starts afresh (design 7.2.a: a non-zero return, not half a module).
      core.configured = false;
      await this.leaveRole();
      const failed =
        err instanceof PeerError
          ? err
          : new PeerError('ERR_LISTEN_FAILED', `cannot listen: ${(err as Error | undefined)?.message ?? String(err)}`);
      core.emitEvent({ event: 'error', code: failed.code, channel: null, text: failed.message });
      throw failed;
    }
  }

  /**
   * Stops the module (NSR deconfigured): SHUTDOWN to the peer, every client's cleanup
   * with nsrDeconfigured, sockets closed, listener closed.
   */
  async deconfigure(): Promise<void> {
    if (!this.core.configured) return;
    this.core.configured = false;
    this.endSession(
      { reason: 'nsrDeconfigured', detail: 'none', text: 'NSR deconfigured' },
      { reason: CleanupReason.nsrDeconfigured, detail: CleanupDetail.none, text: 'NSR deconfigured' },
    );
    await this.leaveRole();
    this.core.emitEvent({ event: 'deconfigured' });
  }

  /**
   * Stops the peer for good (process exit): SHUTDOWN telling the other side that this one
   * goes down, cleanup with nsrDeconfigured/localShutdown, everything closed.
   */
  async stop(): Promise<void> {
    const core = this.core;
    if (core.stopped) return;
    core.stopped = true;
    if (core.configured) {
      core.configured = false;
      this.endSession(
        { reason: 'nsrDeconfigured', detail: 'localShutdown', text: 'peer stopping' },
        { reason: CleanupReason.peerDown, detail: CleanupDetail.peerShutdown, text: 'peer stopping' },
      );
      await this.leaveRole();
    }
    this.sessions.stop();
    this.connector.stop();
  }

  /**
   * Manual mastership switchover (design 6.2.1.c): SHUTDOWN(switchover) to the peer, every
   * client's cleanup with switchover, then the roles swap. In dual-re RE0 keeps listening and
   * RE1 connects again; in cluster the listener moves with mastership.
   *
   * The design has two triggers, one on each side in either order: the primary relinquishes
   * (`{ to: 'backup' }`), the secondary acquires (`{ to: 'master' }`). A trigger whose role
   * this side already holds does nothing, so the second trigger, arriving after the first
   * one's SHUTDOWN already swapped this side, does not swap the roles back. Without `to` the
   * call swaps whatever the role is.
   *
   * @returns true when the role changed, false when this side already held `to`.
   * @throws PeerError ERR_NOT_CONFIGURED on a peer that is not configured.
   */
  async switchover(options: { readonly to?: Role } = {}): Promise<boolean> {
    if (!this.core.configured) throw new PeerError('ERR_NOT_CONFIGURED', 'switchover needs a configured peer');
    if (options.to === this.core.role) return false;
    this.endSession(
      { reason: 'switchover', detail: 'manualSwitchover', text: 'manual switchover' },
      { reason: CleanupReason.switchover, detail: CleanupDetail.manualSwitchover, text: 'manual switchover' },
    );
    await this.swapRole();
    return true;
  }

  /**
   * The membership source says the other side went offline (design 6.2.1.a/b): cleanup
   * with peerDown, detail clusterMemberLost in cluster topology and masterOffline or
   * backupOffline in dual-re; a backup whose master died becomes the master. A listening side
   * keeps listening (the spec's session rules say why).
   */
  async peerDown(): Promise<void> {
    const core = this.core;
    core.peerAlive = false;
    core.emitEvent({ event: 'peer-down' });
    this.connector.stop();
    const detail =
      core.topology === 'cluster' ? 'clusterMemberLost' : core.role === 'backup' ? 'masterOffline' : 'backupOffline';
    this.endSession({ reason: 'peerDown', detail, text: 'the other side went offline' }, undefined);
    this.sessions.abort({ reason: 'peerDown', detail, text: 'the other side went offline' });
    if (core.configured && core.role === 'backup') await this.swapRole();
  }

  /** The membership source says the other side is up again: the connecting side connects. */
  peerUp(): void {
    const core = this.core;
    if (core.peerAlive) return;
    core.peerAlive = true;
    core.emitEvent({ event: 'peer-up' });
    this.connector.begin();
  }

  /**
   * Sends a message on behalf of a client (design 7.2.c). The message is encoded at once:
   * after the call the caller's buffers are free, but for the trailing bytes handed over with
   * `transfer` (see {@link SendOptions.transfer}). It goes on its type's channel.
   *
   * @returns resolves when queued, or with `confirm` when the peer's handler accepted it.
   *   Rejects (the call itself never throws) with PeerError ERR_WRONG_CLIENT,
   *   ERR_WRONG_CHANNEL, ERR_NOT_CONFIGURED, ERR_NO_SESSION, ERR_QUEUE_FULL (without `wait`),
   *   ERR_SESSION_DOWN; with CodecError for a message that cannot be encoded.
   */
  send(client: ClientName, msg: MessageInput, options: SendOptions = NO_SEND_OPTIONS): Promise<void> {
    return this.sender.send(client, msg, options);
  }

  /**
   * Queues a message on behalf of a client if its channel's queue has room now: the
   * synchronous form of {@link KkcmPeer.send}, for a sender that handles back-pressure itself
   * (design 7.2.c: `jsr_ipc_msg_send` without `wait_ok`, its answer a return value). No
   * promise, no delivery confirmation. The message is encoded at once and goes on its type's
   * channel, never ahead of a `send` that waits for room there.
   *
   * @param options - `channel`: for types that travel on both (control and probe);
   *   `transfer`: hand the trailing bytes over instead of having them copied (see
   *   {@link SendOptions.transfer}).
   * @returns true when the message was queued; false when the queue is full (nothing is
   *   queued, and it is not counted as an error): wait with `send(…, { wait: true })`.
   * @throws PeerError ERR_WRONG_CLIENT, ERR_WRONG_CHANNEL, ERR_NOT_CONFIGURED,
   *   ERR_NO_SESSION; CodecError for a message that cannot be encoded.
   */
  trySend(client: ClientName, msg: MessageInput, options?: Pick<SendOptions, 'channel' | 'transfer'>): boolean {
    return this.sender.trySend(client, msg, options?.channel, options?.transfer === true);
  }

  /** Current state, roles, negotiated version and queue depths. */
  status(): PeerStatus {
    const core = this.core;
    const s = core.current;
    const queues = {} as PeerStatus['queues'] & Record<string, unknown>;
    for (const ch of CHANNELS) {
      const link = s?.links[ch];
      queues[ch] = {
        depth: link?.queueDepth ?? 0,
        bytes: link?.queueBytes ?? 0,
        highWater: core.stats.channels[ch].queueHighWater,
      };
    }
    let state: PeerStatus['state'] = 'idle';
    if (core.configured) {
      if (s?.up === true) state = 'up';
      else if (core.pending !== undefined || core.loose.size > 0) state = 'handshaking';
      else state = this.connector.state ?? 'waiting';
    }
    return {
      configured: core.configured,
      role: core.role,
      topology: core.topology,
      listens: core.listens,
      state,
      peerAlive: core.peerAlive,
      session:
        s?.up === true ? { id: s.id.toString(), version: s.version, features: s.features, peerNode: s.peerNode } : null,
      listening: this.listenAddress ?? null,
      queues,
      clients: core.registry.entries().map(([name]) => name),
    };
  }

  /** A snapshot of the counters. */
  stats(): PeerStats {
    const core = this.core;
    const snap = structuredClone(core.stats);
    for (const ch of CHANNELS) snap.channels[ch].queueDepth = core.current?.links[ch]?.queueDepth ?? 0;
    snap.connectionsPending = core.loose.size;
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

  /** Listens or connects, as the topology says for this side [KKCM-SESS-1]. */
  private async enterRole(): Promise<void> {
    if (this.core.listens) {
      await this.acceptor.listen();
    } else {
      if (this.core.options.connect === undefined)
        throw new PeerError('ERR_NOT_CONFIGURED', 'the connecting side needs a connect address');
      this.connector.begin();
    }
  }

  private async leaveRole(): Promise<void> {
    const trigger: Trigger = { reason: 'nsrDeconfigured', detail: 'localShutdown', text: 'leaving role' };
    this.connector.stop();
    this.sessions.abort(trigger);
    await this.acceptor.close(trigger);
  }

  private async swapRole(): Promise<void> {
    const core = this.core;
    const from = core.role;
    const to: Role = from === 'master' ? 'backup' : 'master';
    const listens = core.listensAs(to);
    if (listens === core.listens) {
      // dual-re: the roles swap, the sockets keep their sides. The connecting RE connects
      // again after one initial delay, which gives the listening RE the time to read the
      // SHUTDOWN of the session that ended before it sees the next HELLO.
      core.role = to;
      core.emitEvent({ event: 'role-change', from, to });
      if (core.configured && !listens)
        this.connector.retry(core.options.backoff?.initialMs ?? Timers.reconnectInitialMs);
      return;
    }
    if ((listens && core.options.listen === undefined) || (!listens && core.options.connect === undefined)) {
      // No address for the other side of the link: stay, but the session is gone; keep serving this role.
      core.emitEvent({
        event: 'error',
        code: 'ERR_NOT_CONFIGURED',
        channel: null,
        text: `cannot become ${to}: no ${listens ? 'listen' : 'connect'} address`,
      });
      if (core.configured && !core.listens) this.connector.retry();
      return;
    }
    await this.leaveRole();
    core.role = to;
    core.emitEvent({ event: 'role-change', from, to });
    if (core.configured) await this.enterRole();
  }

  private endSession(trigger: Trigger, shutdown: ControlShutdownBody | undefined): void {
    this.sessions.end(trigger, shutdown);
  }

  /** Routes each link's report to the part it concerns. */
  private linkOwner(): LinkOwner {
    const { core, acceptor, connector, sessions, dispatcher, sender } = this;
    return {
      onHello: (link, hello) => acceptor.decideHello(link, hello),
      onBound: (link) => sessions.onBound(link),
      onRejected: (link, body) => connector.onRejected(link, body),
      checkHelloAck: (_link, ack) => connector.checkHelloAck(ack),
      onMessage: (link, msg) => dispatcher.onMessage(link, msg),
      onIgnored: (link, msg) => dispatcher.onIgnored(link, msg),
      onAck: (link, upTo) => sender.onAck(link, upTo),
      onNack: (link, seq, code) => sender.onNack(link, seq, code),
      onEchoReply: () => undefined,
      onShutdown: (link, body) => sessions.onShutdown(link, body),
      onDown: (link, trigger, error) => sessions.onLinkDown(link, trigger, error),
      onQueueSpace: (link) => sender.onQueueSpace(link),
      counters: (link, type, subtype) =>
        link.channel === undefined ? undefined : core.traffic.cells(link.channel, type, subtype),
      get tracing() {
        return tracing(core);
      },
      onTrace: (link, direction, msg, frame) => trace(core, link, direction, msg, frame),
    };
  }
}
