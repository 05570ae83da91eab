/**
 * The reference KKCM peer: the whole design, as a library.
 *
 * @module kkcm/reference
 */
export {
  ADMIN_COMMANDS,
  AdminError,
  ADMIN_ERRORS,
  adminRequest,
  formatAdminAddress,
  parseAdminAddress,
  startAdminServer,
  type AdminCommand,
  type AdminEndpoint,
  type AdminErrorCode,
  type AdminRequest,
  type AdminRequestOptions,
  type AdminResponse,
  type AdminServer,
  type AdminServerOptions,
} from './admin.js';
export { ManualClock, systemClock, Timer, type Clock, type TimerHandle } from './clock.js';
export { PeerError } from './errors.js';
export type { PeerFaults } from './faults.js';
export type { PeerEvent, PeerEventName, Role } from './events.js';
export { MemoryTransport } from './memory-transport.js';
export {
  DEFAULT_ACCEPT_RATE_WHILE_UP,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  KkcmPeer,
  type BackoffOptions,
  type Endpoint,
  type PeerOptions,
  type Topology,
  type PeerStatus,
  type SendOptions,
} from './peer.js';
export type { CleanupDetailName, CleanupReasonName, Trigger } from './reasons.js';
export type { CleanupInfo, ClientHandlers, DeliveryContext, InitRoutine } from './registry.js';
export type { ChannelStats, PeerStats, TypeStats } from './stats.js';
export { tcpTransport } from './tcp-transport.js';
export { TlsTransport, type TlsTransportOptions } from './tls-transport.js';
export { attachEventLog, EventLog, type EventLogOptions, type TraceDroppedLine } from './trace/event-log.js';
export {
  compileTraceFilter,
  parseTraceFilter,
  type TracedMessage,
  type TraceFilter,
  type TraceMatcher,
} from './trace/filter.js';
export {
  attachPcapng,
  buildPcapng,
  PcapngWriter,
  type BuildPcapngOptions,
  type PcapngWriterOptions,
} from './trace/pcapng.js';
export { PCAPNG_ENDPOINTS, PCAPNG_MAX_SEGMENT, type PcapngRecord } from './trace/pcapng-tcp.js';
export type { Connection, ConnectionHandlers, Listener, Transport } from './transport.js';
