/**
 * Client registration (design 7.1): one registration per client type, each with a message
 * handler, a periodic handler and a cleanup handler; and the table of init routines KKCM
 * calls on every session-up, which register their clients (design 6.2, 7.2.b.3).
 *
 * @module
 */
import { ClientId, type ChannelName, type ClientMessage, type ClientName } from '../../codec/src/index.js';
import type { CleanupReasonName } from './reasons.js';
import { PeerError } from './errors.js';

/** What a cleanup handler learns: the reason (design 6.2.1) and finer detail. */
export interface CleanupInfo {
  /** Cleanup reason name (design 6.2.1). */
  readonly reason: CleanupReasonName;
  /** Numeric cleanup reason, as on the wire. */
  readonly reasonValue: number;
  /** Detail name (`masterOffline`, `endOfStream`…). */
  readonly detail: string;
  /** Session that ended. */
  readonly sessionId: bigint;
}

/** Where a delivered message came from. */
export interface DeliveryContext {
  /** Channel it arrived on. */
  readonly channel: ChannelName;
}

/** A KKCM client: the handlers KKCM calls on its behalf (jsr_kkcm_client_info_t). */
export interface ClientHandlers {
  /**
   * Called with each whole message of the client's type, in order per channel, whatever its
   * subtype. The body is the client's: KKCM does not interpret it (design 7.2.e); a client
   * that uses the spec's illustrative layouts decodes it with `decodeClientMessage`. The
   * handler refuses a message by throwing or by returning false (the design's non-zero
   * return): the refusal is counted and traced, the sender gets NACK ERR_HANDLER_FAILED when
   * it asked for confirmation, and the session stays up. [KKCM-DISP-3] [KKCM-CTL-4]
   *
   * The body is a view into the peer's input, the handler's until it returns: the peer reuses
   * that memory for later messages (a large one's buffer, once its handler returned). A
   * handler that keeps the body, or a view into it (a decoded message's bytes fields), past
   * its return copies it (`body.slice()`). Sending it on at once is fine: `send` encodes, and
   * so copies, before it returns.
   */
  readonly message?: (msg: ClientMessage, context: DeliveryContext) => unknown;
  /** Called at the periodic interval while the session is up. */
  readonly periodic?: () => void;
  /** Called exactly once per session when it ends, before anything of the next session. */
  readonly cleanup?: (info: CleanupInfo) => void;
  /** Called when a session comes up, before any of its messages are delivered. */
  readonly init?: (sessionId: bigint) => void;
}

/**
 * A subsystem's init routine (design 6.2, 7.2.b.3: `jsr_prl_init`): KKCM calls it on every
 * session-up, before any message of the session is delivered, and it registers its client
 * (again, when the client unregistered in its cleanup as the design's PRL example does).
 */
export type InitRoutine = (sessionId: bigint) => void;

/** The registered clients and the init routines. */
export class ClientRegistry {
  private readonly clients = new Map<ClientName, ClientHandlers>();
  private readonly routines = new Map<ClientName, InitRoutine>();

  /**
   * Registers a client.
   *
   * @throws PeerError ERR_INVALID_REGISTRATION for an unknown or reserved client type or no
   *   handler at all; ERR_DUPLICATE_REGISTRATION when the type is already registered.
   */
  register(client: ClientName, handlers: ClientHandlers): void {
    if (!(client in ClientId) || client === 'kkcm')
      throw new PeerError('ERR_INVALID_REGISTRATION', `invalid client type ${JSON.stringify(client)}`);
    if (
      typeof handlers !== 'object' ||
      handlers === null ||
      (handlers.message === undefined && handlers.periodic === undefined && handlers.cleanup === undefined)
    ) {
      throw new PeerError('ERR_INVALID_REGISTRATION', `client ${client} registers no handler`);
    }
    if (this.clients.has(client))
      throw new PeerError('ERR_DUPLICATE_REGISTRATION', `client ${client} is already registered`);
    this.clients.set(client, handlers);
  }

  /** Unregisters a client; a no-op when it is not registered. */
  unregister(client: ClientName): void {
    this.clients.delete(client);
  }

  /** Handlers of a client, if registered. */
  get(client: ClientName): ClientHandlers | undefined {
    return this.clients.get(client);
  }

  /** Registered clients, in registration order. */
  entries(): [ClientName, ClientHandlers][] {
    return [...this.clients.entries()];
  }

  /**
   * Adds a client's init routine to the table (one per client type).
   *
   * @throws PeerError ERR_INVALID_REGISTRATION for an unknown or reserved client type or a
   *   routine that is not a function; ERR_DUPLICATE_REGISTRATION when the client has one.
   */
  addInitRoutine(client: ClientName, routine: InitRoutine): void {
    if (!(client in ClientId) || client === 'kkcm')
      throw new PeerError('ERR_INVALID_REGISTRATION', `invalid client type ${JSON.stringify(client)}`);
    if (typeof routine !== 'function')
      throw new PeerError('ERR_INVALID_REGISTRATION', `the init routine of ${client} is not a function`);
    if (this.routines.has(client))
      throw new PeerError('ERR_DUPLICATE_REGISTRATION', `client ${client} already has an init routine`);
    this.routines.set(client, routine);
  }

  /** Removes a client's init routine; a no-op when it has none. */
  removeInitRoutine(client: ClientName): void {
    this.routines.delete(client);
  }

  /** The init routines, in the order they were added. */
  initRoutines(): [ClientName, InitRoutine][] {
    return [...this.routines.entries()];
  }
}
