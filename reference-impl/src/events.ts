/**
 * The peer's typed events: the event-file contract (one JSON object per line with `ts` and
 * `event`) and what tests and the CLI await.
 *
 * @module
 */
import type { ChannelName } from '../../codec/src/index.js';

/** Role of a peer. */
export type Role = 'master' | 'backup';

/**
 * Every event a peer emits, discriminated by `event`. `ts` is added by the sinks
 * (milliseconds since the epoch). Session ids are decimal strings (u64); `channel` is the
 * channel a message or connection belongs to, null when none is known yet.
 */
export type PeerEvent =
  | {
      /** NSR configured: the module started. */
      event: 'configured';
      /** Role the peer starts in. */
      role: Role;
    }
  | {
      /** NSR deconfigured: the module stopped. */
      event: 'deconfigured';
    }
  | {
      /** The master listens. */
      event: 'listening';
      /** Listening address. */
      host: string;
      /** Listening port (the real one when port 0 was asked). */
      port: number;
    }
  | {
      /** The backup starts a connection attempt. */
      event: 'connecting';
      /** Master's address. */
      host: string;
      /** Master's port. */
      port: number;
      /** Failed attempts before this one since the last session came up (0 for the first). */
      attempt: number;
    }
  | {
      /** A connection attempt failed; the backup retries after `retryMs`. */
      event: 'connect-failed';
      /** Master's address. */
      host: string;
      /** Master's port. */
      port: number;
      /** Why it failed. */
      error: string;
      /** Delay before the next attempt, in ms (backoff with jitter). */
      retryMs: number;
    }
  | {
      /** The master accepted a connection. */
      event: 'accepted';
      /** The other end's address, `host:port`. */
      remote: string;
    }
  | {
      /** The other side refused our HELLO with HELLO-REJECT. */
      event: 'rejected';
      /** Channel of the refused connection. */
      channel: ChannelName | null;
      /** Reject reason name (`versionIncompatible`, `sessionBusy`…). */
      reason: string;
      /** The refusal's text. */
      text: string;
      /** Delay before the next attempt, in ms. */
      retryMs: number;
    }
  | {
      /** We refused a connection or its HELLO. */
      event: 'refused';
      /** The other end's address, `host:port`. */
      remote: string;
      /** Reject reason name (`sessionBusy`, `notAllowed`…). */
      reason: string;
    }
  | {
      /** A channel completed its handshake and is bound to a session. */
      event: 'channel-bound';
      /** The channel. */
      channel: ChannelName;
      /** Session it is bound to. */
      sessionId: string;
    }
  | {
      /** Both channels are bound: clients are initialised, traffic flows. */
      event: 'session-up';
      /** Session id. */
      sessionId: string;
      /** Negotiated protocol version. */
      version: number;
      /** Our role in the session. */
      role: Role;
      /** Feature bits in use. */
      features: number;
    }
  | {
      /** The session ended; every client's cleanup ran. */
      event: 'session-down';
      /** Session id. */
      sessionId: string;
      /** Cleanup reason name (design 6.2.1). */
      reason: string;
      /** Cleanup detail name. */
      detail: string;
      /** What happened, for people. */
      text: string;
    }
  | {
      /** One client's cleanup handler was called. */
      event: 'cleanup';
      /** Client name. */
      client: string;
      /** Cleanup reason name. */
      reason: string;
      /** Cleanup detail name. */
      detail: string;
      /** Session that ended. */
      sessionId: string;
    }
  | {
      /** The peer changed role (switchover or peer down). */
      event: 'role-change';
      /** Previous role. */
      from: Role;
      /** New role. */
      to: Role;
    }
  | {
      /** The membership source says the other side went offline. */
      event: 'peer-down';
    }
  | {
      /** The membership source says the other side is up again. */
      event: 'peer-up';
    }
  | {
      /** A whole message was written. */
      event: 'tx';
      /** Channel it went out on. */
      channel: ChannelName;
      /** Header type. */
      type: number;
      /** Header subtype. */
      subtype: number;
      /** Header sequence number. */
      seq: number;
      /** Total length in bytes, header included. */
      length: number;
      /** Qualified name, or null for a type the spec does not know. */
      name: string | null;
    }
  | {
      /** A whole message was read. */
      event: 'rx';
      /** Channel it arrived on. */
      channel: ChannelName;
      /** Header type. */
      type: number;
      /** Header subtype. */
      subtype: number;
      /** Header sequence number. */
      seq: number;
      /** Total length in bytes, header included. */
      length: number;
      /** Qualified name, or null for a type the spec does not know. */
      name: string | null;
    }
  | {
      /** An unknown message with mayIgnore set was skipped (KKCM-TYPE-1). */
      event: 'ignored';
      /** Channel it arrived on. */
      channel: ChannelName;
      /** Header type. */
      type: number;
      /** Header subtype. */
      subtype: number;
      /** Header sequence number. */
      seq: number;
    }
  | {
      /** A message arrived for a client that is not registered. */
      event: 'undelivered';
      /** Channel it arrived on. */
      channel: ChannelName;
      /** Qualified name. */
      name: string;
      /** The client that owns its type. */
      client: string;
    }
  | {
      /** A client handler threw; the exception was isolated and counted. */
      event: 'handler-error';
      /** Client name. */
      client: string;
      /** Which handler threw. */
      handler: 'message' | 'periodic' | 'cleanup' | 'init';
      /** The exception's message. */
      error: string;
    }
  | {
      /** A protocol error was detected or reported, or an operation failed. */
      event: 'error';
      /** Error code from the spec (`ERR_BAD_SEQUENCE`). */
      code: string;
      /** Channel concerned, if any. */
      channel: ChannelName | null;
      /** What happened, for people. */
      text: string;
    };

/** Name of a peer event. */
export type PeerEventName = PeerEvent['event'];
