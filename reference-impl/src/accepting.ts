/**
 * Accepting, the listening side of a session (design 7.2.b; RE0 in dual-re, the master in
 * cluster): it listens, admits connections
 * within its local defences against floods (at most so many handshaking at once, and while a
 * session is up at most so many a second, a token bucket) and sheds the rest before any byte,
 * then answers each HELLO: accepted into the session being set up, or refused with a reason.
 *
 * @module
 */
import { Limits, RejectReason, Role as RoleValue, Timers, type ControlHelloBody } from '../../codec/src/index.js';
import { PeerError } from './errors.js';
import type { HelloDecision, Link } from './link.js';
import { DEFAULT_ACCEPT_RATE_WHILE_UP, DEFAULT_MAX_PENDING_CONNECTIONS, type Endpoint } from './peer-options.js';
import type { PeerCore } from './peer-core.js';
import type { Trigger } from './reasons.js';
import type { SessionBinding } from './session-binding.js';
import type { Connection, Listener } from './transport.js';

/** Owner of the listener and of its accepted links not yet in a session. */
export class Acceptor {
  private listener: Listener | undefined;
  /** Port the master listens on once resolved (0 until then). */
  private boundPort = 0;
  private listening: Promise<void> | undefined;
  /** Accept tokens left and when they were last refilled (see {@link Acceptor.takeAcceptToken}). */
  private acceptTokens = 0;
  private acceptRefilledAt = -Infinity;

  constructor(
    private readonly core: PeerCore,
    private readonly sessions: SessionBinding,
  ) {}

  /** Address the master listens on, once listening. */
  get address(): Endpoint | undefined {
    return this.listener === undefined ? undefined : { host: this.listener.host, port: this.listener.port };
  }

  /** Starts listening (the master role begins). */
  async listen(): Promise<void> {
    const core = this.core;
    const at = core.options.listen;
    if (at === undefined) throw new PeerError('ERR_NOT_CONFIGURED', 'the listening side needs a listen address');
    // Port 0 is resolved once: after a deconfigure or a role swap the master comes back on
    // the same port, so that its backup finds it again.
    this.listening = core.transport
      .listen(at.host, at.port === 0 ? this.boundPort : at.port, (c) => this.onAccept(c))
      .then((l) => {
        this.listener = l;
        this.boundPort = l.port;
        core.emitEvent({ event: 'listening', host: l.host, port: l.port });
      });
    await this.listening;
  }

  /** Destroys the accepted links not in a session and closes the listener; safe to call twice. */
  async close(trigger: Trigger): Promise<void> {
    for (const link of this.core.loose) link.destroy(trigger);
    this.core.loose.clear();
    await this.listening?.catch(() => undefined);
    this.listening = undefined;
    const l = this.listener;
    this.listener = undefined;
    await l?.close();
  }

  private onAccept(conn: Connection): void {
    const core = this.core;
    if (!core.configured || !core.listens) {
      conn.destroy();
      return;
    }
    if (core.loose.size >= (core.options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS)) {
      this.shed(conn, `${core.loose.size} connections are already handshaking`);
      return;
    }
    if (core.current !== undefined && !this.takeAcceptToken()) {
      this.shed(conn, `more than ${this.acceptRate} connections per second while a session is up`);
      return;
    }
    core.stats.connectionsAccepted++;
    core.emitEvent({ event: 'accepted', remote: conn.remote });
    core.loose.add(core.newLink(conn, 'acceptor', undefined));
  }

  /** Closes a connection at once, before any byte: a local defence against floods. */
  private shed(conn: Connection, why: string): void {
    conn.destroy();
    this.core.stats.connectionsShed++;
    this.core.emitEvent({
      event: 'error',
      code: 'ERR_TOO_MANY_CONNECTIONS',
      channel: null,
      text: `${conn.remote}: ${why}`,
    });
  }

  private get acceptRate(): number {
    return this.core.options.acceptRateWhileUp ?? DEFAULT_ACCEPT_RATE_WHILE_UP;
  }

  /** Token bucket of `acceptRateWhileUp`: true when one more connection fits. */
  private takeAcceptToken(): boolean {
    const rate = this.acceptRate;
    if (!(rate > 0)) return false;
    if (rate === Infinity) return true;
    const now = this.core.clock.now();
    this.acceptTokens = Math.min(rate, this.acceptTokens + ((now - this.acceptRefilledAt) * rate) / 1000);
    this.acceptRefilledAt = now;
    if (this.acceptTokens < 1) return false;
    this.acceptTokens--;
    return true;
  }

  /** A HELLO arrived on an accepted link: it joins the session being set up, or is refused. */
  decideHello(link: Link, hello: ControlHelloBody): HelloDecision {
    const core = this.core;
    const ours = core.versions;
    const reject = (reason: keyof typeof RejectReason, text: string, retryAfterMs = 0): HelloDecision => {
      core.stats.connectionsRefused++;
      core.emitEvent({ event: 'refused', remote: link.connection.remote, reason });
      return {
        reject: { reason: RejectReason[reason], minVersion: ours.min, maxVersion: ours.max, retryAfterMs, text },
      };
    };
    const allow = core.options.allow ?? [];
    if (allow.length > 0 && !allow.includes(link.connection.remoteHost.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')))
      return reject('notAllowed', `${link.connection.remoteHost} is not on the allow-list`);
    if (hello.role === RoleValue[core.role])
      return reject('roleConflict', `both sides claim the ${core.role} role`, Timers.reconnectInitialMs);
    if (core.topology === 'dual-re' && hello.nodeId !== 1)
      return reject('slotConflict', `dual-re: RE0 listens, the connecting RE must be slot 1, not ${hello.nodeId}`);
    const lo = Math.max(ours.min, hello.minVersion);
    const hi = Math.min(ours.max, hello.maxVersion);
    if (lo > hi && core.options.faults?.ignoreVersionRanges !== true)
      return reject(
        'versionIncompatible',
        `no common version: ours ${ours.min}..${ours.max}, yours ${hello.minVersion}..${hello.maxVersion}`,
      );
    if (hello.maxMessage < Limits.minMaxMessage)
      return reject('messageLimitTooSmall', `maxMessage ${hello.maxMessage} < ${Limits.minMaxMessage}`);
    if (core.current !== undefined && core.options.faults?.acceptSecondSession !== true)
      return reject('sessionBusy', 'a session is already up', Timers.reconnectMaxMs);
    const channel = link.channel!;
    const pending = core.pending;
    if (pending !== undefined && pending.id !== hello.sessionId)
      return reject('sessionMismatch', 'another session is being set up', Timers.reconnectInitialMs);
    if (pending?.links[channel] !== undefined)
      return reject(
        'channelBusy',
        `the ${channel} channel of this session is already bound`,
        Timers.reconnectInitialMs,
      );
    const session = pending ?? this.sessions.open(hello.sessionId);
    session.links[channel] = link;
    session.peerNode = hello.nodeName;
    core.loose.delete(link);
    return {
      accept: {
        version: hi,
        role: RoleValue[core.role],
        features: core.features & hello.features,
        nodeId: core.nodeId,
        maxMessage: core.maxMessage,
        sessionId: hello.sessionId,
        nodeName: core.options.nodeName ?? '',
      },
    };
  }
}
