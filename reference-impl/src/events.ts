/**
 * The peer's typed events: the event-file contract (one JSON object per line with `ts` and
 * `event`) and what tests and the CLI await.
 *
 * @module
 */
import type { ChannelName } from '../../codec/src/index.js';

/** Role of a peer. */
export type Role = 'master' | 'backup';

/** Every event a peer emits. `ts` is added by the sinks (milliseconds since the epoch). */
export type PeerEvent =
  | { event: 'configured'; role: Role }
  | { event: 'deconfigured' }
  | { event: 'listening'; host: string; port: number }
  | { event: 'connecting'; host: string; port: number; attempt: number }
  | { event: 'connect-failed'; host: string; port: number; error: string; retryMs: number }
  | { event: 'accepted'; remote: string }
  | { event: 'rejected'; channel: ChannelName | null; reason: string; text: string; retryMs: number }
  | { event: 'refused'; remote: string; reason: string }
  | { event: 'channel-bound'; channel: ChannelName; sessionId: string }
  | { event: 'session-up'; sessionId: string; version: number; role: Role; features: number }
  | { event: 'session-down'; sessionId: string; reason: string; detail: string; text: string }
  | { event: 'cleanup'; client: string; reason: string; detail: string; sessionId: string }
  | { event: 'role-change'; from: Role; to: Role }
  | { event: 'peer-down' }
  | { event: 'peer-up' }
  | { event: 'tx'; channel: ChannelName; type: number; subtype: number; seq: number; length: number; name: string | null }
  | { event: 'rx'; channel: ChannelName; type: number; subtype: number; seq: number; length: number; name: string | null }
  | { event: 'ignored'; channel: ChannelName; type: number; subtype: number; seq: number }
  | { event: 'undelivered'; channel: ChannelName; name: string; client: string }
  | { event: 'handler-error'; client: string; handler: 'message' | 'periodic' | 'cleanup' | 'init'; error: string }
  | { event: 'error'; code: string; channel: ChannelName | null; text: string };

/** Name of a peer event. */
export type PeerEventName = PeerEvent['event'];
