/**
 * What a {@link KkcmPeer} is built with and what it reports: options, defaults of the local
 * defences, send options and the status.
 *
 * @module
 */
import type { ChannelName } from '../../codec/src/index.js';
import type { Clock } from './clock.js';
import type { Role } from './events.js';
import type { PeerFaults } from './faults.js';
import type { Transport } from './transport.js';

/** A host and port. */
export interface Endpoint {
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port (0 when listening: any free port). */
  readonly port: number;
}

/** Reconnection backoff settings. Defaults from the spec's timers. */
export interface BackoffOptions {
  /** First delay after a failure, in ms (default the spec's reconnectInitialMs). */
  readonly initialMs?: number;
  /** Largest delay, in ms (default the spec's reconnectMaxMs). */
  readonly maxMs?: number;
  /** Delay multiplier per failed attempt (default the spec's reconnectMultiplier). */
  readonly multiplier?: number;
  /** Fraction of each delay added or removed at random. */
  readonly jitter?: number;
}

/**
 * Who listens (the spec's session.topologies, design 7.2.b.2): `dual-re`, the RE in slot 0
 * listens and the RE in slot 1 connects whatever their protocol roles; `cluster`, the protocol
 * master listens and the backup connects.
 */
export type Topology = 'dual-re' | 'cluster';

/** Settings of a {@link KkcmPeer}. Every default comes from the spec. */
export interface PeerOptions {
  /** Protocol role at start. Whether it listens is the topology's business, not the role's. */
  readonly role: Role;
  /**
   * Who listens (default `cluster`: the master listens, the backup connects, which is what a
   * peer without a topology did before topologies existed) [KKCM-SESS-1].
   */
  readonly topology?: Topology;
  /** This RE's slot in `dual-re` topology (required there): 0 listens, 1 connects. Ignored in `cluster`. */
  readonly slot?: 0 | 1;
  /** Where to listen. Required whenever this side listens: as RE0, or as the master in cluster (and for a swap to it). */
  readonly listen?: Endpoint;
  /** Where the other side listens. Required whenever this side connects: as RE1, or as the backup in cluster (and for a swap to it). */
  readonly connect?: Endpoint;
  /** Node id sent in HELLO (default the slot in dual-re, else 0). In dual-re RE0 refuses a HELLO whose nodeId is not 1 (slotConflict). */
  readonly nodeId?: number;
  /** Node name sent in HELLO (default empty). */
  readonly nodeName?: string;
  /** How connections are made (default TCP; `MemoryTransport` for tests). */
  readonly transport?: Transport;
  /** Time source for every timer (default the system clock; `ManualClock` for tests). */
  readonly clock?: Clock;
  /** Random source in [0, 1), for backoff jitter. */
  readonly random?: () => number;
  /** Periodic timer interval in ms (default 1000; design section 9 left it open). */
  readonly periodicMs?: number;
  /** Time for a connection's handshake and a session's two channels, in ms (default the spec's handshakeTimeoutMs). */
  readonly handshakeTimeoutMs?: number;
  /** Output outstanding and no input for this long declares a connection dead, in ms (default the spec's deadConnectionMs). */
  readonly deadConnectionMs?: number;
  /** Time a SHUTDOWN gets to be written before the sockets close anyway, in ms (default the spec's shutdownLingerMs). */
  readonly lingerMs?: number;
  /** Largest message we accept, header included (default 262144). */
  readonly maxMessage?: number;
  /** Output queue bound per channel, in messages and bytes. */
  readonly queueMessages?: number;
  /** Output queue bound per channel, in bytes (default the spec's defaultQueueBytes). */
  readonly queueBytes?: number;
  /** Protocol versions we speak (default the spec's range). */
  readonly versions?: {
    /** Lowest version. */
    readonly min: number;
    /** Highest version. */
    readonly max: number;
  };
  /** Reconnection backoff of the backup. */
  readonly backoff?: BackoffOptions;
  /**
   * Hosts allowed to connect; empty or absent means any. An IPv4 address also matches its
   * IPv4-mapped IPv6 form (`::ffff:10.0.0.1`), as a dual-stack listener reports it.
   */
  readonly allow?: readonly string[];
  /**
   * Largest number of accepted connections that have not finished their handshake (default
   * {@link DEFAULT_MAX_PENDING_CONNECTIONS}). A connection beyond it is destroyed as soon
   * as it is accepted, counted in `connectionsShed` and reported as an `error` event
   * ERR_TOO_MANY_CONNECTIONS: with the handshake timeout, it bounds what a flood of
   * connections can hold. A local defence, not a protocol quantity.
   */
  readonly maxPendingConnections?: number;
  /**
   * Connections per second taken into the handshake while a session is up (default
   * {@link DEFAULT_ACCEPT_RATE_WHILE_UP}; a token bucket holding at most one second's
   * worth). A connection beyond it is destroyed as soon as it is accepted, counted in
   * `connectionsShed` and reported as an `error` event ERR_TOO_MANY_CONNECTIONS, without the
   * HELLO-REJECT `sessionBusy` it would otherwise get: a flood then costs the master an
   * accept and a close per connection instead of a handshake, and the live session keeps its
   * throughput. No limit applies while no session is up, so a backup reconnecting is never
   * shed by it. A local defence, not a protocol quantity.
   */
  readonly acceptRateWhileUp?: number;
  /** Run the conformance probe client (KKCM-PROBE-1). */
  readonly conformanceProbe?: boolean;
  /** Deliberate faults, for the conformance suite's self-test only: never set in production. */
  readonly faults?: PeerFaults;
}

/** Default of {@link PeerOptions.maxPendingConnections}. */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64;

/** Default of {@link PeerOptions.acceptRateWhileUp}, in connections per second. */
export const DEFAULT_ACCEPT_RATE_WHILE_UP = 100;

/** Options of {@link KkcmPeer.send}. */
export interface SendOptions {
  /** Wait for room when the channel's queue is full (design `wait_ok`); default false. */
  readonly wait?: boolean;
  /**
   * Ask for delivery confirmation: resolve when the peer's client handler accepted it;
   * reject with ERR_HANDLER_FAILED or ERR_NO_HANDLER when it did not (NACK), or with
   * ERR_SESSION_DOWN when the session ended first (the message's fate is then unknown).
   */
  readonly confirm?: boolean;
  /** Channel, for types that travel on both (control and probe); default the first. */
  readonly channel?: ChannelName;
  /**
   * Hand the message's trailing bytes over instead of having them copied: the bytes field
   * that ends the body (a PACKET's `packet`, a SOCKET-DATA's `data`, an OPAQUE's `data`), when
   * it holds 4 KiB or more, is written as it is, right behind the encoded rest of the message
   * (one `writev`), as the design's `jsr_ipc_msg_send` takes the caller's mbuf chain and frees
   * it. From the call on those bytes are the peer's: the caller must not change them, nor
   * reuse their memory, ever after (the peer holds them until the transport has written them,
   * which may be long after the call returns). Default false: `send` copies every byte before
   * it returns.
   */
  readonly transfer?: boolean;
}

/** What `status()` reports. */
export interface PeerStatus {
  /** NSR configured: the module runs. */
  readonly configured: boolean;
  /** Current protocol role. */
  readonly role: Role;
  /** Who listens (see {@link PeerOptions.topology}). */
  readonly topology: Topology;
  /** True when this side listens, false when it connects. */
  readonly listens: boolean;
  /** Session state (see the spec's session state machine). */
  readonly state: 'idle' | 'waiting' | 'connecting' | 'handshaking' | 'up' | 'backoff';
  /** What the membership source last said about the other side. */
  readonly peerAlive: boolean;
  /** The session that is up, or null. */
  readonly session: null | {
    /** Session id, as a decimal string. */
    readonly id: string;
    /** Negotiated protocol version. */
    readonly version: number;
    /** Feature bits in use. */
    readonly features: number;
    /** The other side's node name. */
    readonly peerNode: string;
  };
  /** Where the master listens, or null. */
  readonly listening: Endpoint | null;
  /** Output queue of each channel. */
  readonly queues: Record<
    ChannelName,
    {
      /** Messages queued now. */
      readonly depth: number;
      /** Bytes queued now. */
      readonly bytes: number;
      /** Highest depth seen, in messages. */
      readonly highWater: number;
    }
  >;
  /** Registered clients, in registration order. */
  readonly clients: readonly string[];
}
