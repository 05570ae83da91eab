/**
 * Statistics of a peer: per channel, per message type, errors by code, sessions and
 * cleanups by reason.
 *
 * @module
 */
import type { ChannelName } from '../../codec/src/index.js';

/** Counters of one channel. */
export interface ChannelStats {
  txMessages: number;
  txBytes: number;
  rxMessages: number;
  rxBytes: number;
  /** Messages in the output queue now. */
  queueDepth: number;
  /** Highest queue depth seen, in messages. */
  queueHighWater: number;
}

/** Counters of one message name (or `type.subtype` for unknown ones). */
export interface TypeStats {
  tx: number;
  rx: number;
  txBytes: number;
  rxBytes: number;
}

/** Everything a peer counts. */
export interface PeerStats {
  channels: Record<ChannelName, ChannelStats>;
  types: Record<string, TypeStats>;
  /** Protocol and API errors by code. */
  errors: Record<string, number>;
  sessions: { up: number; down: number };
  /** Cleanup handler calls by reason. */
  cleanups: Record<string, number>;
  handlerErrors: number;
  undelivered: number;
  ignored: number;
  connectionsAccepted: number;
  connectionsRefused: number;
}

const channelStats = (): ChannelStats => ({ txMessages: 0, txBytes: 0, rxMessages: 0, rxBytes: 0, queueDepth: 0, queueHighWater: 0 });

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
  };
}

/** Adds one to a counter of a record. */
export function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** Counts one message in or out. */
export function countMessage(stats: PeerStats, channel: ChannelName, direction: 'tx' | 'rx', key: string, bytes: number): void {
  const c = stats.channels[channel];
  const t = (stats.types[key] ??= { tx: 0, rx: 0, txBytes: 0, rxBytes: 0 });
  if (direction === 'tx') {
    c.txMessages++;
    c.txBytes += bytes;
    t.tx++;
    t.txBytes += bytes;
  } else {
    c.rxMessages++;
    c.rxBytes += bytes;
    t.rx++;
    t.rxBytes += bytes;
  }
}
