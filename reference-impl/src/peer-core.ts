/**
 * The state a {@link KkcmPeer}'s parts share: options and the settings derived from them, the
 * role and membership flags, the session that is up and the one being set up, the accepted
 * links not yet in a session, the client registry, the counters, and the one way to report an
 * event. The parts (accepting, connecting, session binding, dispatch, sending, timers,
 * tracing) each own their own timers and read and write this state; none of them holds
 * another's.
 *
 * @module
 */
import { Feature, Limits, MESSAGES, PROTOCOL_VERSIONS, Timers, type ChannelName } from '../../codec/src/index.js';
import { systemClock, type Clock } from './clock.js';
import { PeerError } from './errors.js';
import type { PeerEvent, Role } from './events.js';
import { Link, type LinkOwner } from './link.js';
import type { PeerOptions, Topology } from './peer-options.js';
import { ClientRegistry } from './registry.js';
import type { Session } from './session.js';
import { bump, emptyStats, TrafficCounter, type PeerStats } from './stats.js';
import { tcpTransport } from './tcp-transport.js';
import type { Connection, Transport } from './transport.js';

/** Both channels, in the order the connector opens them. */
export const CHANNELS: readonly ChannelName[] = ['send', 'receive'];

/** Message names by `type << 8 | subtype`. */
const MESSAGE_NAMES = new Map<number, string>(Object.values(MESSAGES).map((m) => [(m.type << 8) | m.subtype, m.name]));

/** The peer's two events, as the parts emit them (the peer is an EventEmitter of them). */
export interface PeerEmitter {
  emit(name: 'event', e: PeerEvent): boolean;
  emit(name: 'frame', channel: ChannelName, direction: 'tx' | 'rx', frame: Uint8Array, remote: string): boolean;
  listenerCount(name: 'event' | 'frame'): number;
}

/** Shared state of one peer. */
export class PeerCore {
  role: Role;
  configured = false;
  stopped = false;
  peerAlive = true;
  /** The session that is up. */
  current: Session | undefined;
  /** The session being set up (its channels not both bound yet). */
  pending: Session | undefined;
  /** Accepted links not (yet) part of a session. */
  readonly loose = new Set<Link>();
  readonly clock: Clock;
  readonly transport: Transport;
  readonly random: () => number;
  readonly registry = new ClientRegistry();
  readonly stats: PeerStats = emptyStats();
  /** Counts traffic into `stats`, message names looked up once per type. */
  readonly traffic = new TrafficCounter(this.stats, (type, subtype) => this.nameOf(type, subtype));
  /** Who the links report to; set once by the peer, before any link exists. */
  private owner: LinkOwner | undefined;

  constructor(
    readonly options: PeerOptions,
    readonly emitter: PeerEmitter,
  ) {
    this.role = options.role;
    this.clock = options.clock ?? systemClock();
    this.transport = options.transport ?? tcpTransport;
    this.random = options.random ?? Math.random;
  }

  /** Who listens (default cluster). */
  get topology(): Topology {
    return this.options.topology ?? 'cluster';
  }

  /** True when this side listens in `role` (default the current role) [KKCM-SESS-1]. */
  listensAs(role: Role = this.role): boolean {
    return this.topology === 'dual-re' ? this.options.slot === 0 : role === 'master';
  }

  /** True when this side listens now. */
  get listens(): boolean {
    return this.listensAs();
  }

  /** Node id sent in HELLO and HELLO-ACK: the option, else the slot in dual-re, else 0. */
  get nodeId(): number {
    return this.options.nodeId ?? (this.topology === 'dual-re' ? (this.options.slot ?? 0) : 0);
  }

  get periodicMs(): number {
    return this.options.periodicMs ?? Timers.periodicMs;
  }

  get maxMessage(): number {
    return Math.min(this.options.maxMessage ?? Limits.defaultMaxMessage, Limits.absoluteMaxMessage);
  }

  get versions(): { min: number; max: number } {
    return this.options.versions ?? { min: PROTOCOL_VERSIONS.min, max: PROTOCOL_VERSIONS.max };
  }

  /** Features this side offers: delivery ACK always, the probe when it is registered. */
  get features(): number {
    return Feature.deliveryAck | (this.options.conformanceProbe === true ? Feature.conformanceProbe : 0);
  }

  /** Sets who the links report to. */
  attach(owner: LinkOwner): void {
    this.owner = owner;
  }

  /** A link over `conn` with this peer's limits and timers. */
  newLink(conn: Connection, side: 'connector' | 'acceptor', channel: ChannelName | undefined): Link {
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
      this.owner!,
    );
  }

  nameOf(type: number, subtype: number): string | null {
    return MESSAGE_NAMES.get((type << 8) | subtype) ?? null;
  }

  /** A PeerError for the caller, counted. */
  apiError(code: ConstructorParameters<typeof PeerError>[0], text: string): PeerError {
    bump(this.stats.errors, code);
    return new PeerError(code, text);
  }

  /** Reports an event (an error one is counted). */
  emitEvent(e: PeerEvent): void {
    if (e.event === 'error') bump(this.stats.errors, e.code);
    this.emitter.emit('event', e);
  }
}
