/**
 * Connecting, the backup's side of a session (design 7.2.b and 6.2): one attempt at a time
 * opens both channels and sends HELLO on each with one new session id; a failed attempt, a
 * refused HELLO or a session that goes down is retried after an exponential backoff with
 * jitter, which starts over once a session comes up.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  ERROR_VALUES,
  RejectReason,
  Role as RoleValue,
  Timers,
  type ChannelName,
  type ControlHelloAckBody,
  type ControlHelloBody,
  type ControlHelloRejectBody,
} from '../../codec/src/index.js';
import { Timer } from './clock.js';
import type { Link } from './link.js';
import { CHANNELS, type PeerCore } from './peer-core.js';
import { bump } from './stats.js';
import type { SessionBinding } from './session-binding.js';

/** Owner of the reconnect timer: the backup's connection attempts and their backoff. */
export class Connector {
  private readonly reconnectTimer: Timer;
  /** Failed attempts since the last session came up (the backoff's exponent). */
  private attempt = 0;
  /** True while an attempt is opening its connections. */
  private connecting = false;

  constructor(
    private readonly core: PeerCore,
    private readonly sessions: SessionBinding,
  ) {
    this.reconnectTimer = new Timer(core.clock);
  }

  /** `connecting` while an attempt is under way, `backoff` while one is scheduled. */
  get state(): 'connecting' | 'backoff' | undefined {
    if (this.connecting) return 'connecting';
    return this.reconnectTimer.active ? 'backoff' : undefined;
  }

  /** Connects at once (the backup role begins, or the other side is up again). */
  begin(): void {
    this.attempt = 0;
    this.schedule(0);
  }

  /** Tries again after `ms`, or after the next backoff. */
  retry(ms?: number): void {
    this.schedule(ms ?? this.nextBackoff());
  }

  /** A session came up: the backoff starts over. */
  succeeded(): void {
    this.attempt = 0;
  }

  /** Cancels a scheduled attempt; safe to call twice. */
  stop(): void {
    this.reconnectTimer.stop();
  }

  /**
   * Checks the listening side's HELLO-ACK claims the other protocol role [KKCM-SESS-13].
   *
   * @returns why the HELLO-ACK is refused, or undefined when it is accepted.
   */
  checkHelloAck(ack: ControlHelloAckBody): string | undefined {
    const role = this.core.role;
    return ack.role === RoleValue[role] ? `the listening side also claims the ${role} role` : undefined;
  }

  /** The listening side refused the HELLO: the session being set up is dropped, retried as it asks. */
  onRejected(link: Link, body: ControlHelloRejectBody): void {
    const core = this.core;
    const reason = Object.entries(RejectReason).find(([, v]) => v === body.reason)?.[0] ?? `reason${body.reason}`;
    const retryMs =
      body.retryAfterMs > 0
        ? body.retryAfterMs
        : reason === 'versionIncompatible'
          ? Timers.incompatibleRetryMs
          : this.nextBackoff();
    core.emitEvent({ event: 'rejected', channel: link.channel ?? null, reason, text: body.text, retryMs });
    bump(core.stats.errors, 'ERR_PEER_REJECTED');
    this.sessions.abort({ reason: 'socketIoError', detail: 'protocolError', text: `rejected: ${reason}` }, retryMs);
  }

  private schedule(ms: number): void {
    const core = this.core;
    if (!core.configured || core.listens || !core.peerAlive) return;
    this.reconnectTimer.start(ms, () => void this.connectOnce());
  }

  private nextBackoff(): number {
    const core = this.core;
    const b = core.options.backoff ?? {};
    const initial = b.initialMs ?? Timers.reconnectInitialMs;
    const max = b.maxMs ?? Timers.reconnectMaxMs;
    const mult = b.multiplier ?? Timers.reconnectMultiplier;
    const jitter = b.jitter ?? Timers.reconnectJitter;
    const base = Math.min(max, initial * mult ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(0, Math.round(base * (1 + jitter * (2 * core.random() - 1))));
  }

  /** One connection attempt: both channels, HELLO on each with one new session id. */
  private async connectOnce(): Promise<void> {
    const core = this.core;
    const at = core.options.connect;
    if (this.connecting || at === undefined || !this.idleBackup()) return;
    this.connecting = true;
    core.emitEvent({ event: 'connecting', host: at.host, port: at.port, attempt: this.attempt });
    const session = this.sessions.open(randomBytes(8).readBigUInt64BE() | 1n);
    try {
      for (const channel of CHANNELS) {
        const conn = await core.transport.connect(at.host, at.port);
        if (core.pending !== session) {
          conn.destroy();
          return;
        }
        const link = core.newLink(conn, 'connector', channel);
        session.links[channel] = link;
        link.sendHello(this.helloBody(channel, session.id));
      }
    } catch (err) {
      const retryMs = this.nextBackoff();
      // A transport that knows why it failed (TLS: the master's certificate) says so with a spec code.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code in ERROR_VALUES)
        core.emitEvent({ event: 'error', code, channel: null, text: (err as Error).message });
      core.emitEvent({ event: 'connect-failed', host: at.host, port: at.port, error: (err as Error).message, retryMs });
      this.sessions.abort({ reason: 'socketIoError', detail: 'connectionReset', text: 'connect failed' }, retryMs);
    } finally {
      this.connecting = false;
    }
  }

  /** Configured as the backup, with no session up and none being set up. */
  private idleBackup(): boolean {
    const core = this.core;
    return core.configured && !core.listens && core.current === undefined && core.pending === undefined;
  }

  private helloBody(channel: ChannelName, sessionId: bigint): ControlHelloBody {
    const core = this.core;
    return {
      minVersion: core.versions.min,
      maxVersion: core.versions.max,
      role: RoleValue[core.role],
      channel: channel === 'send' ? 1 : 2,
      features: core.features,
      nodeId: core.nodeId,
      maxMessage: core.maxMessage,
      sessionId,
      nodeName: core.options.nodeName ?? '',
    };
  }
}
