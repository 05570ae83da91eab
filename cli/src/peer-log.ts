/**
 * Human log lines for a peer's events, by level: what `kkcm peer --log-level` writes on
 * standard error.
 *
 * @module
 */
import type { KkcmPeer, PeerEvent } from '../../reference-impl/src/index.js';
import { UsageError } from './io.js';

/** Log levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** A log level: `error` shows least, `debug` shows every event (messages included). */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Parses a `--log-level` value (default `info`).
 *
 * @throws UsageError for anything but error, warn, info or debug.
 */
export function logLevelOption(value: string | undefined): LogLevel {
  if (value === undefined) return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as LogLevel;
}

const sid = (id: string): string => `0x${BigInt(id).toString(16).padStart(16, '0')}`;

/** Level and text of one event; every event has a line at some level. */
export function describeEvent(e: PeerEvent): [LogLevel, string] {
  switch (e.event) {
    case 'configured':
      return ['info', `configured (NSR on) as ${e.role}`];
    case 'deconfigured':
      return ['info', 'deconfigured (NSR off)'];
    case 'listening':
      return ['info', `listening on ${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`];
    case 'connecting':
      return ['debug', `connecting to ${e.host}:${e.port} (attempt ${e.attempt})`];
    case 'connect-failed':
      return ['warn', `cannot connect to ${e.host}:${e.port}: ${e.error}; retry in ${e.retryMs} ms`];
    case 'accepted':
      return ['debug', `accepted a connection from ${e.remote}`];
    case 'rejected':
      return [
        'warn',
        `the master rejected our HELLO${e.channel === null ? '' : ` on the ${e.channel} channel`}: ${e.reason} (${e.text}); retry in ${e.retryMs} ms`,
      ];
    case 'refused':
      return ['warn', `refused a HELLO from ${e.remote}: ${e.reason}`];
    case 'channel-bound':
      return ['debug', `${e.channel} channel bound (session ${sid(e.sessionId)})`];
    case 'session-up':
      return [
        'info',
        `session up: ${sid(e.sessionId)}, version ${e.version}, we are ${e.role}, features 0x${e.features.toString(16)}`,
      ];
    case 'session-down':
      return ['info', `session down: ${sid(e.sessionId)}, ${e.reason} (${e.detail}): ${e.text}`];
    case 'cleanup':
      return ['info', `cleanup ${e.client}: ${e.reason} (${e.detail})`];
    case 'role-change':
      return ['info', `role change: ${e.from} -> ${e.to}`];
    case 'peer-down':
      return ['info', 'membership: the other side is down'];
    case 'peer-up':
      return ['info', 'membership: the other side is up'];
    case 'tx':
    case 'rx':
      return [
        'debug',
        `${e.event} ${e.channel} seq ${e.seq} ${e.name ?? `${e.type}.${e.subtype}`} (${e.length} bytes)`,
      ];
    case 'ignored':
      return ['debug', `ignored unknown message ${e.type}.${e.subtype} (seq ${e.seq}) on the ${e.channel} channel`];
    case 'undelivered':
      return ['warn', `no handler for ${e.name}: client ${e.client} is not registered`];
    case 'handler-error':
      return ['error', `${e.client} ${e.handler} handler failed: ${e.error}`];
    case 'error':
      return ['error', `${e.code}${e.channel === null ? '' : ` on the ${e.channel} channel`}: ${e.text}`];
  }
}

/**
 * Writes a line per event at or above `level` through `write`, as
 * `<ISO time> <level> <text>`.
 *
 * @returns a function that detaches the logger.
 */
export function attachLogger(
  peer: KkcmPeer,
  level: LogLevel,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): () => void {
  const max = LOG_LEVELS.indexOf(level);
  const onEvent = (e: PeerEvent): void => {
    const [at, text] = describeEvent(e);
    if (LOG_LEVELS.indexOf(at) <= max) write(`${now().toISOString()} ${at.padEnd(5)} ${text}\n`);
  };
  peer.on('event', onEvent);
  return () => peer.off('event', onEvent);
}
