/**
 * The four illustrative KKCM clients (IHA, SDRL, PSRM, PRL — design 7.1) as the CLI's
 * `peer` and `demo` commands register them: handlers that count what they see, so the
 * admin `stats` and the demo's live view show dispatch, periodic ticks and cleanups.
 *
 * @module
 */
import { decodeClientMessage, type ClientName, type KnownMessage } from '../../codec/src/index.js';
import type { CleanupInfo, KkcmPeer } from '../../reference-impl/src/index.js';

/** The illustrative clients, in registration order. */
export const ILLUSTRATIVE_CLIENTS = ['iha', 'sdrl', 'psrm', 'prl'] as const satisfies readonly ClientName[];

/** Name of an illustrative client. */
export type IllustrativeClient = (typeof ILLUSTRATIVE_CLIENTS)[number];

/** What one client's handlers counted. */
export interface ClientCounters {
  /** Messages delivered to the message handler. */
  messages: number;
  /** Delivered messages by message name. */
  byName: Record<string, number>;
  /** Periodic handler calls. */
  periodic: number;
  /** Session inits. */
  inits: number;
  /** Cleanup handler calls by reason. */
  cleanups: Record<string, number>;
  /** The most recent cleanup, or null. */
  lastCleanup: null | { reason: string; detail: string; sessionId: string };
}

/** Counters of every illustrative client, by client name. */
export type ClientCounterSet = Record<IllustrativeClient, ClientCounters>;

/** Extra behaviour of a client, run after counting. */
export interface ClientHooks {
  /**
   * Called with every delivered message, decoded against the spec's illustrative layout (the
   * body is the client's: KKCM hands it over undecoded). Errors it throws, and a body that
   * does not fit the layout, count as handler errors (a refusal).
   */
  readonly onMessage?: (client: IllustrativeClient, msg: KnownMessage) => void;
  /** Called with every cleanup. */
  readonly onCleanup?: (client: IllustrativeClient, info: CleanupInfo) => void;
}

const emptyCounters = (): ClientCounters => ({
  messages: 0,
  byName: {},
  periodic: 0,
  inits: 0,
  cleanups: {},
  lastCleanup: null,
});

/**
 * Registers IHA, SDRL, PSRM and PRL on `peer` with counting handlers.
 *
 * @returns the live counters (updated in place as handlers run).
 * @throws PeerError ERR_DUPLICATE_REGISTRATION when one of them is already registered.
 */
export function registerCountingClients(peer: KkcmPeer, hooks: ClientHooks = {}): ClientCounterSet {
  const set = {} as ClientCounterSet;
  for (const client of ILLUSTRATIVE_CLIENTS) {
    const c = emptyCounters();
    set[client] = c;
    peer.register(client, {
      init: () => {
        c.inits++;
      },
      message: (msg) => {
        c.messages++;
        const name = msg.name ?? `${msg.header.type}.${msg.header.subtype}`;
        c.byName[name] = (c.byName[name] ?? 0) + 1;
        if (hooks.onMessage !== undefined) hooks.onMessage(client, decodeClientMessage(msg));
      },
      periodic: () => {
        c.periodic++;
      },
      cleanup: (info) => {
        c.cleanups[info.reason] = (c.cleanups[info.reason] ?? 0) + 1;
        c.lastCleanup = { reason: info.reason, detail: info.detail, sessionId: info.sessionId.toString() };
        hooks.onCleanup?.(client, info);
      },
    });
  }
  return set;
}
