/**
 * Trace filters: which peer events and which messages the trace sinks (event file, pcapng
 * file) keep. A filter is plain data, so the CLI can build it from `--trace-filter` strings
 * and a program can write it as an object literal.
 *
 * @module
 */
import { MESSAGES, MessageType, type ChannelName } from '../../../codec/src/index.js';
import { PeerError } from '../errors.js';
import type { PeerEvent, PeerEventName } from '../events.js';

/**
 * What a trace sink keeps. Every field is optional; an absent field does not restrict.
 *
 * - `events` restricts the event names (`session-up`, `tx`…). In a pcapng file only `tx`
 *   and `rx` mean anything: leaving one out leaves that direction out.
 * - `types` and `names` select messages, and apply to `tx`/`rx` only: a message is kept when
 *   its type number is in `types` **or** its name matches one of the `names` globs (the two
 *   lists together are one set of "messages wanted"). Other events are not affected by them.
 * - `channels` restricts `tx`/`rx` to the given channels.
 *
 * A name glob matches a whole message name from the spec (`prl.packet`); `*` stands for any
 * run of characters and `?` for one. An unknown message (no name in the spec) matches only
 * by its type number.
 */
export interface TraceFilter {
  /** Event names to keep (default all). */
  readonly events?: readonly PeerEventName[];
  /** Message type numbers to keep (0–255), e.g. `0x20` for PRL. */
  readonly types?: readonly number[];
  /** Message name globs to keep, e.g. `prl.*`, `control.hello*`. */
  readonly names?: readonly string[];
  /** Channels whose messages are kept (default both). */
  readonly channels?: readonly ChannelName[];
}

/** A message as the filter sees it. */
export interface TracedMessage {
  /** `tx` written by the peer, `rx` read by it. */
  readonly direction: 'tx' | 'rx';
  /** Channel of the message. */
  readonly channel: ChannelName;
  /** Header type number. */
  readonly type: number;
  /** Name from the spec, `null` for an unknown type or subtype. */
  readonly name: string | null;
}

/** A {@link TraceFilter} ready to apply: globs compiled once. */
export interface TraceMatcher {
  /** True when the sink keeps this event (for `tx`/`rx`, also checks the message). */
  acceptsEvent(e: PeerEvent): boolean;
  /** True when the sink keeps this message. */
  acceptsMessage(m: TracedMessage): boolean;
}

/**
 * Every peer event name, for validating filter strings. Typed so that an event added to
 * `PeerEvent` without a row here fails to compile.
 */
const EVENT_NAMES = {
  configured: true,
  deconfigured: true,
  listening: true,
  connecting: true,
  'connect-failed': true,
  accepted: true,
  rejected: true,
  refused: true,
  'channel-bound': true,
  'session-up': true,
  'session-down': true,
  cleanup: true,
  'role-change': true,
  'peer-down': true,
  'peer-up': true,
  tx: true,
  rx: true,
  ignored: true,
  undelivered: true,
  'handler-error': true,
  error: true,
} as const satisfies Record<PeerEventName, true>;

const MESSAGE_NAMES: readonly string[] = Object.keys(MESSAGES);

/** Compiles a name glob (`*`, `?`) into an anchored regular expression. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * Compiles a filter. `undefined` or `{}` keeps everything.
 *
 * @throws PeerError ERR_BAD_INPUT for a type number outside 0–255.
 */
export function compileTraceFilter(filter: TraceFilter | undefined): TraceMatcher {
  const events = filter?.events !== undefined ? new Set<string>(filter.events) : undefined;
  const channels = filter?.channels !== undefined ? new Set<string>(filter.channels) : undefined;
  for (const type of filter?.types ?? []) {
    if (!Number.isInteger(type) || type < 0 || type > 255)
      throw new PeerError('ERR_BAD_INPUT', `trace filter: type ${type} is not a number from 0 to 255`);
  }
  const types = filter?.types !== undefined ? new Set(filter.types) : undefined;
  const names = filter?.names?.map(globToRegExp);
  const selectsMessages = types !== undefined || names !== undefined;

  const acceptsMessage = (m: TracedMessage): boolean => {
    if (events !== undefined && !events.has(m.direction)) return false;
    if (channels !== undefined && !channels.has(m.channel)) return false;
    if (!selectsMessages) return true;
    if (types?.has(m.type) === true) return true;
    const name = m.name;
    return name !== null && names !== undefined && names.some((re) => re.test(name));
  };
  return {
    acceptsMessage,
    acceptsEvent(e) {
      if (e.event === 'tx' || e.event === 'rx')
        return acceptsMessage({ direction: e.event, channel: e.channel, type: e.type, name: e.name });
      return events === undefined || events.has(e.event);
    },
  };
}

/** Parses one type value: a number (decimal or `0x` hex) or a type name (`prl`). */
function parseType(text: string): number {
  const named = (MessageType as Record<string, number>)[text];
  if (named !== undefined) return named;
  const value = /^0x[0-9a-f]+$/i.test(text)
    ? Number.parseInt(text.slice(2), 16)
    : /^[0-9]+$/.test(text)
      ? Number.parseInt(text, 10)
      : NaN;
  if (!(value >= 0 && value <= 255)) {
    throw new PeerError(
      'ERR_BAD_INPUT',
      `trace filter: type ${JSON.stringify(text)} is neither a number from 0 to 255 nor one of ${Object.keys(MessageType).join(', ')}`,
    );
  }
  return value;
}

/**
 * Parses `--trace-filter` strings into a {@link TraceFilter}.
 *
 * Grammar: clauses separated by spaces or `;`, each `key=value[,value…]`:
 *
 * - `event=tx,rx,session-up` — event names (`events=` also accepted);
 * - `type=0x20,0x7f` — type numbers, decimal or hex, or type names (`type=prl,probe`);
 * - `name=prl.*` — message name globs;
 * - `channel=send` — `send` and/or `receive`.
 *
 * A key given twice, or in several strings (one per repeated CLI flag), adds values. The
 * empty string keeps everything. Examples: `"type=0x20,0x7f"`, `"name=prl.* event=tx"`.
 *
 * @throws PeerError ERR_BAD_INPUT for an unknown key, event name, channel or type, an empty
 *   value, or a name glob that matches no message of the spec (a typo would otherwise
 *   silently trace nothing).
 */
export function parseTraceFilter(spec: string | readonly string[]): TraceFilter {
  const events: PeerEventName[] = [];
  const types: number[] = [];
  const names: string[] = [];
  const channels: ChannelName[] = [];
  const seen = new Set<string>();
  const clauses = (typeof spec === 'string' ? [spec] : spec).flatMap((s) => s.split(/[\s;]+/)).filter((c) => c !== '');
  for (const clause of clauses) {
    const eq = clause.indexOf('=');
    const rawKey = eq < 0 ? clause : clause.slice(0, eq);
    const key = rawKey.replace(/s$/, '');
    const values = eq < 0 ? [] : clause.slice(eq + 1).split(',');
    if (values.length === 0 || values.some((v) => v === ''))
      throw new PeerError('ERR_BAD_INPUT', `trace filter: ${JSON.stringify(clause)} needs key=value[,value…]`);
    seen.add(key);
    for (const value of values) {
      switch (key) {
        case 'event':
          if (!(value in EVENT_NAMES))
            throw new PeerError('ERR_BAD_INPUT', `trace filter: unknown event ${JSON.stringify(value)}`);
          events.push(value as PeerEventName);
          break;
        case 'type':
          types.push(parseType(value));
          break;
        case 'name': {
          const re = globToRegExp(value);
          if (!MESSAGE_NAMES.some((n) => re.test(n)))
            throw new PeerError('ERR_BAD_INPUT', `trace filter: name ${JSON.stringify(value)} matches no message`);
          names.push(value);
          break;
        }
        case 'channel':
          if (value !== 'send' && value !== 'receive')
            throw new PeerError('ERR_BAD_INPUT', `trace filter: unknown channel ${JSON.stringify(value)}`);
          channels.push(value);
          break;
        default:
          throw new PeerError(
            'ERR_BAD_INPUT',
            `trace filter: unknown key ${JSON.stringify(rawKey)} (event, type, name, channel)`,
          );
      }
    }
  }
  return {
    ...(seen.has('event') ? { events } : {}),
    ...(seen.has('type') ? { types } : {}),
    ...(seen.has('name') ? { names } : {}),
    ...(seen.has('channel') ? { channels } : {}),
  };
}

const NAME_BY_TYPE = new Map<number, string>(Object.values(MESSAGES).map((m) => [(m.type << 8) | m.subtype, m.name]));

/** Name of the message with this type and subtype in the spec, `null` when there is none. */
export function messageNameOf(type: number, subtype: number): string | null {
  return NAME_BY_TYPE.get((type << 8) | subtype) ?? null;
}
