/**
 * Session binding of a {@link KkcmPeer} (design 7.2.b and 7.2.g): a session is set up when
 * both its channels are bound under one session id within the handshake timeout, comes up
 * (every client's init, the session timers started), and ends as a whole (every client's
 * cleanup once with the reason, confirmations and waiting sends rejected, the links closed)
 * when one link goes down, the peer sends SHUTDOWN, the watchdog finds it dead or the module
 * stops.
 *
 * @module
 */
import { CleanupDetail, CleanupReason, Timers, type ControlShutdownBody } from '../../codec/src/index.js';
import { Timer } from './clock.js';
import type { Dispatcher } from './dispatch.js';
import { PeerError } from './errors.js';
import type { Link } from './link.js';
import { CHANNELS, type PeerCore } from './peer-core.js';
import { detailName, reasonName, type CleanupReasonName, type Trigger } from './reasons.js';
import type { CleanupInfo } from './registry.js';
import { Session } from './session.js';
import { SessionTimers } from './session-timers.js';
import { bump } from './stats.js';

/** What binding asks of the rest of the peer. */
export interface BindingHooks {
  /** The backup tries again after `ms` (the next backoff when undefined). */
  retry(ms?: number): void;
  /** A session came up: the backoff starts over. */
  up(): void;
  /** The peer sent SHUTDOWN(switchover): this side takes the role the peer held. */
  switchover(): void;
}

/** Owner of the session timer (handshake) and of the session timers of the session up. */
export class SessionBinding {
  private readonly sessionTimer: Timer;
  private readonly timers: SessionTimers;

  constructor(
    private readonly core: PeerCore,
    private readonly dispatcher: Dispatcher,
    private readonly hooks: BindingHooks,
  ) {
    this.sessionTimer = new Timer(core.clock);
    this.timers = new SessionTimers(core, dispatcher, (trigger) => this.end(trigger, undefined));
  }

  /** Stops every timer; safe to call twice. */
  stop(): void {
    this.sessionTimer.stop();
    this.timers.stop();
  }

  /** A session `id` is being set up: it has the handshake timeout to get both channels bound. */
  open(id: bigint): Session {
    const session = new Session(id);
    this.core.pending = session;
    this.startSessionTimer(session);
    return session;
  }

  private startSessionTimer(session: Session): void {
    const core = this.core;
    if (core.options.faults?.keepHalfBoundSession === true) return;
    this.sessionTimer.start(core.options.handshakeTimeoutMs ?? Timers.handshakeTimeoutMs, () => {
      if (core.pending !== session) return;
      const text = 'the session did not come up in time: its two channels were not both bound';
      core.emitEvent({ event: 'error', code: 'ERR_HANDSHAKE_TIMEOUT', channel: null, text });
      // A bound channel learns why it is closed, as an unbound one does from its own timer.
      for (const link of session.allLinks()) if (link.state === 'bound') link.sendError('ERR_HANDSHAKE_TIMEOUT', text);
      this.abort({ reason: 'socketIoError', detail: 'handshakeTimeout', text: 'handshake timeout' });
    });
  }

  /** Drops the session being set up; the backup tries again after `retryMs`. */
  abort(trigger: Trigger, retryMs?: number): void {
    const core = this.core;
    const session = core.pending;
    if (session === undefined) return;
    core.pending = undefined;
    this.sessionTimer.stop();
    // close, not destroy: a link that is failing must still get its ERROR out.
    for (const link of session.allLinks()) link.close(trigger);
    if (!core.listens) this.hooks.retry(retryMs);
  }

  /** A link of the session being set up is bound: with both bound, the session is up. */
  onBound(link: Link): void {
    const core = this.core;
    const session = core.pending;
    if (session === undefined || !session.allLinks().includes(link)) return;
    core.emitEvent({ event: 'channel-bound', channel: link.channel!, sessionId: session.id.toString() });
    if (session.links.send?.state !== 'bound' || session.links.receive?.state !== 'bound') return;
    this.sessionTimer.stop();
    core.pending = undefined;
    core.current = session;
    session.up = true;
    session.version = link.version ?? 0;
    if (link.peerNodeName !== undefined) session.peerNode = link.peerNodeName;
    session.features = link.features;
    this.hooks.up();
    core.stats.sessions.up++;
    this.dispatcher.initClients(session.id);
    core.emitEvent({
      event: 'session-up',
      sessionId: session.id.toString(),
      version: session.version,
      role: core.role,
      features: session.features,
    });
    this.timers.start(session);
    this.dispatcher.deliverEarly(session);
  }

  /**
   * Ends the current session as a whole (design 7.2.g): periodic timer stopped, every
   * client's cleanup called once with the reason, then the sockets closed (after SHUTDOWN
   * when `shutdown` is given). The connecting side then tries again, unless `reconnect` is
   * false or the session ended by a switchover [KKCM-SESS-14].
   */
  end(trigger: Trigger, shutdown: ControlShutdownBody | undefined, reconnect = true): void {
    const core = this.core;
    const session = core.current;
    if (session === undefined) return;
    core.current = undefined;
    session.up = false;
    this.timers.stop();
    core.stats.sessions.down++;
    const down = new PeerError('ERR_SESSION_DOWN', `session ended: ${trigger.reason}`);
    for (const ch of CHANNELS) {
      for (const c of session.confirmations[ch].splice(0)) c.reject(down);
      for (const w of session.waiting[ch].splice(0))
        w.reject(core.apiError('ERR_SESSION_DOWN', 'the session went down while waiting for room'));
    }
    const info: CleanupInfo = {
      reason: trigger.reason,
      reasonValue: CleanupReason[trigger.reason],
      detail: trigger.detail,
      sessionId: session.id,
    };
    for (const [client, h] of core.registry.entries()) {
      bump(core.stats.cleanups, trigger.reason);
      core.emitEvent({
        event: 'cleanup',
        client,
        reason: trigger.reason,
        detail: trigger.detail,
        sessionId: session.id.toString(),
      });
      this.dispatcher.call(client, 'cleanup', () => h.cleanup?.(info));
    }
    for (const link of session.allLinks()) link.close(trigger, shutdown);
    core.emitEvent({
      event: 'session-down',
      sessionId: session.id.toString(),
      reason: trigger.reason,
      detail: trigger.detail,
      text: trigger.text,
    });
    if (reconnect && core.configured && !core.listens && trigger.reason !== 'switchover') this.hooks.retry();
  }

  /** A link went down: the session it belongs to (up or being set up) goes with it. */
  onLinkDown(link: Link, trigger: Trigger, error?: Error): void {
    const core = this.core;
    if (error !== undefined && (error as { code?: string }).code !== 'ERR_CONNECTION_LOST') {
      const code = (error as { code?: string }).code ?? 'ERR_CONNECTION_LOST';
      core.emitEvent({ event: 'error', code, channel: link.channel ?? null, text: trigger.text });
    }
    core.loose.delete(link);
    if (core.current?.allLinks().includes(link) === true)
      this.end(trigger, undefined, core.options.faults?.noReconnectAfterLoss !== true);
    else if (core.pending?.allLinks().includes(link) === true) this.abort(trigger);
  }

  /** The peer sent SHUTDOWN: the session ends with its reason; a switchover swaps the roles. */
  onShutdown(link: Link, body: ControlShutdownBody): void {
    const core = this.core;
    if (core.current?.allLinks().includes(link) !== true) return;
    const name = core.options.faults?.ignoreShutdownReason === true ? 'none' : reasonName(body.reason);
    const reason: CleanupReasonName =
      name === 'none' || name.startsWith('reason') ? 'socketIoError' : (name as CleanupReasonName);
    const detail = (
      core.options.faults?.ignoreShutdownDetail === true ? 'peerShutdown' : detailName(body.detail)
    ) as Trigger['detail'];
    this.end(
      { reason, detail: detail in CleanupDetail ? detail : 'peerShutdown', text: `peer sent SHUTDOWN: ${body.text}` },
      undefined,
    );
    if (reason === 'switchover' && core.configured) this.hooks.switchover();
  }
}
