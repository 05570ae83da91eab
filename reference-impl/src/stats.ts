/**
 * Statistics of a peer: per channel, per message type, errors by code, sessions and
 * cleanups by reason.
 *
 * @module
 */
import type { ChannelName } from '../../codec/src/index.js';

/** Counters of one channel. */
export interface ChannelStats {
  /** Messages written. */
  txMessages: number;
  /** Bytes written, headers included. */
  txBytes: number;
  /** Messages read. */
  rxMessages: number;
  /** Bytes read, headers included. */
  rxBytes: number;
  /** Messages in the output queue now. */
  queueDepth: number;
  /** Highest queue depth seen, in messages. */
  queueHighWater: number;
}

/** Counters of one message name (or `type.subtype` for unknown ones). */
export interface TypeStats {
  /** Messages written. */
  tx: number;
  /** Messages read. */
  rx: number;
  /** Bytes written, headers included. */
  txBytes: number;
  /** Bytes read, headers included. */
  rxBytes: number;
}

/** Everything a peer counts. */
export interface PeerStats {
  /** Counters per channel. */
  channels: Record<ChannelName, ChannelStats>;
  /** Counters per message name. */
  types: Record<string, TypeStats>;
  /** Protocol and API errors by code. */
  errors: Record<string, number>;
  /** Sessions that came up and went down. */
  sessions: {
    /** Sessions that came up. */
    up: number;
    /** Sessions that went down. */
    down: number;
  };
  /** Cleanup handler calls by reason. */
  cleanups: Record<string, number>;
  /** Client handler calls that threw (isolated, traced). */
  handlerErrors: number;
  /** Messages for a client that is not registered. */
  undelivered: number;
  /** Unknown messages skipped under mayIgnore. */
  ignored: number;
  /** Connections the master accepted. */
  connectionsAccepted: number;
  /** HELLOs refused with HELLO-REJECT. */
  connectionsRefused: number;
  /** Connections closed as soon as accepted: `maxPendingConnections` were already handshaking. */
  connectionsShed: number;
  /** Accepted connections that have not finished their handshake, now. */
  connectionsPending: number;
}

const channelStats = (): ChannelStats => ({
  txMessages: 0,
  txBytes: 0,
  rxMessages: 0,
  rxBytes: 0,
  queueDepth: 0,
  queueHighWater: 0,
});

/** Fresh, zeroed statistics. */
export function emptyStats(): PeerStats {
  return {
    channels: { send: channelStats(), receive: channelStats() },
    types: {},
    errors: {},
    sessions: { up: 0, down: 0 },
    cleanups: {},
    handlerErrors: 0,
    undelivered: 0,
    ignored: 0,
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsShed: 0,
    connectionsPending: 0,
  };
}

/** Adds one to a counter of a record. */
export function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

const newTypeStats = (): TypeStats => ({ tx: 0, rx: 0, txBytes: 0, rxBytes: 0 });

/** The two sets of counters a message adds to: its channel's and its type's. */
export interface TrafficCells {
  readonly channel: ChannelStats;
  readonly type: TypeStats;
}

/** Adds `messages` messages, `bytes` bytes in all, written (`tx`) or read (`rx`), to their cells. */
export function addTraffic(cells: TrafficCells, direction: 'tx' | 'rx', messages: number, bytes: number): void {
  const c = cells.channel;
  const t = cells.type;
  if (direction === 'tx') {
    c.txMessages += messages;
    c.txBytes += bytes;
    t.tx += messages;
    t.txBytes += bytes;
  } else {
    c.rxMessages += messages;
    c.rxBytes += bytes;
    t.rx += messages;
    t.rxBytes += bytes;
  }
}

/**
 * The {@link TrafficCells} of a {@link PeerStats} by channel, type and subtype: each pair's
 * name is looked up once and its cells kept, so that counting a message (or a run of
 * messages of one type) is a few additions, cheap enough for every message of the hot path,
 * and the counters are exact whenever they are read.
 */
export class TrafficCounter {
  private readonly cellsByKey = new Map<number, TrafficCells>();

  /**
   * @param stats - the counters to add to.
   * @param nameOf - the message name of a type and subtype, or null for an unknown pair
   *   (counted as `type.subtype`).
   */
  constructor(
    private readonly stats: PeerStats,
    private readonly nameOf: (type: number, subtype: number) => string | null,
  ) {}

  /** The cells a message of `type.subtype` on `channel` counts in. */
  cells(channel: ChannelName, type: number, subtype: number): TrafficCells {
    const key = (channel === 'send' ? 0 : 0x10000) | (type << 8) | subtype;
    let cells = this.cellsByKey.get(key);
    if (cells === undefined) {
      cells = {
        channel: this.stats.channels[channel],
        type: (this.stats.types[this.nameOf(type, subtype) ?? `${type}.${subtype}`] ??= newTypeStats()),
      };
      this.cellsByKey.set(key, cells);
    }
    return cells;
  }
}
