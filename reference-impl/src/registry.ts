/**
 * Client registration (design 7.1): one registration per client type, each with a message
 * handler, a periodic handler and a cleanup handler.
 *
 * @module
 */
import { ClientId, type ChannelName, type ClientName, type KnownMessage } from '../../codec/src/index.js';
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
  /** Called with each whole message of the client's type, in order per channel. */
  readonly message?: (msg: KnownMessage, context: DeliveryContext) => void;
  /** Called at the periodic interval while the session is up. */
  readonly periodic?: () => void;
  /** Called exactly once per session when it ends, before anything of the next session. */
  readonly cleanup?: (info: CleanupInfo) => void;
  /** Called when a session comes up, before any of its messages are delivered. */
  readonly init?: (sessionId: bigint) => void;
}

/** The registered clients. */
export class ClientRegistry {
  private readonly clients = new Map<ClientName, ClientHandlers>();

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
}
