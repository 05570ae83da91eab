/**
 * Writes `codec/src/gen/protocol.ts`: the spec's constants (header, flags, channels,
 * clients, enums, limits, timers, error codes, handshake messages) and the TypeScript type
 * of every body.
 *
 * @module
 */
import { fixedSize, type FieldSpec } from '../../spec/src/index.js';
import { BANNER, hex, intType, isValueField, pascal, type Ctx } from './generator-support.js';

function tsType(ctx: Ctx, f: FieldSpec): string {
  switch (f.type) {
    case 'u64':
    case 'i64':
      return 'bigint';
    case 'bytes':
      return 'Uint8Array';
    case 'string':
    case 'ipv4':
    case 'ipv6':
      return 'string';
    case 'array':
      return `${pascal(f.items ?? '')}[]`;
    case 'struct':
      return pascal(f.struct ?? '');
    case 'enum':
      return `${pascal(f.enum ?? '')}Value`;
    default:
      return 'number';
  }
}

function docComment(text: string, indent = ''): string {
  return `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n`;
}

/** The text of `protocol.ts`. */
export function genProtocol(ctx: Ctx): string {
  const { spec } = ctx.model;
  let out = BANNER(spec);
  out += '/**\n * Constants and types of the JSR IPC protocol, generated from the spec.\n *\n * @module\n */\n\n';
  out += `/** Version of the spec this code was generated from. */\nexport const SPEC_VERSION = '${spec.specVersion}';\n`;
  out += `/** Header magic: ${hex(spec.header.magic, 8)}. */\nexport const MAGIC = ${hex(spec.header.magic, 8)};\n`;
  out += `/** Header size in bytes. */\nexport const HEADER_SIZE = ${spec.header.size};\n`;
  out += '/** Protocol versions this code speaks. */\nexport const PROTOCOL_VERSIONS = {\n';
  out += `  /** Lowest version this code speaks. */\n  min: ${spec.protocolVersions.min},\n`;
  out += `  /** Highest version this code speaks. */\n  max: ${spec.protocolVersions.max},\n`;
  out += `  /** Version this code writes by default. */\n  current: ${spec.protocolVersions.current},\n`;
  out += '} as const;\n';
  out += `/** Default TCP port of the master. */\nexport const DEFAULT_PORT = ${spec.defaultPort};\n\n`;

  out += '/** Header flag masks. */\nexport const Flags = {\n';
  for (const f of spec.flags) out += docComment(f.doc, '  ') + `  ${f.name}: ${hex(f.mask)},\n`;
  out += '} as const;\n';
  const known = spec.flags.reduce((m, f) => m | f.mask, 0);
  out += `/** Flag bits that are reserved and must be zero. */\nexport const FLAGS_RESERVED_MASK = ${hex(~known & 0xff)};\n\n`;

  out +=
    '/** Channel name. */\nexport type ChannelName = ' + spec.channels.map((c) => `'${c.name}'`).join(' | ') + ';\n';
  out += '/** Channel ids by name. */\nexport const ChannelId = {\n';
  for (const c of spec.channels) out += docComment(c.doc, '  ') + `  ${c.name}: ${c.id},\n`;
  out += '} as const;\n\n';

  out += '/** Client ids by name (design 7.1: one registration per client type). */\nexport const ClientId = {\n';
  for (const c of spec.clients) {
    const design = c.designName !== undefined ? ` Design: ${c.designName}.` : '';
    out += docComment(`${c.label}: ${c.doc}${design}`, '  ') + `  ${c.name}: ${c.id},\n`;
  }
  out += '} as const;\n';
  out += '/** Client name. */\nexport type ClientName = keyof typeof ClientId;\n\n';

  out += '/** Message type numbers by type name. */\nexport const MessageType = {\n';
  for (const m of spec.messages) out += docComment(m.doc, '  ') + `  ${m.name}: ${hex(m.type)},\n`;
  out += '} as const;\n\n';

  out += '/** Feature bit masks negotiated in HELLO. */\nexport const Feature = {\n';
  for (const f of spec.features) out += docComment(f.doc, '  ') + `  ${f.name}: ${hex(2 ** f.bit, 8)},\n`;
  out += '} as const;\n\n';

  for (const [name, e] of Object.entries(spec.enums)) {
    const P = pascal(name);
    out += docComment(`${e.doc} Values by name.`) + `export const ${P} = {\n`;
    for (const v of e.values)
      out +=
        docComment(v.designName !== undefined ? `${v.doc} Design: ${v.designName}.` : v.doc, '  ') +
        `  ${v.name}: ${v.value},\n`;
    out += '} as const;\n';
    out += docComment(`A ${name} value: a known value, or any other number (unknown values are kept, never rejected).`);
    out += `export type ${P}Value = (typeof ${P})[keyof typeof ${P}] | (number & {});\n\n`;
  }

  out +=
    '/** Enum names by enum, then by value. */\nexport const ENUM_NAMES: Readonly<Record<string, Readonly<Record<number, string>>>> = {\n';
  for (const [name, e] of Object.entries(spec.enums)) {
    out += `  ${name}: { ${e.values.map((v) => `${v.value}: '${v.name}'`).join(', ')} },\n`;
  }
  out += '};\n\n';

  out += '/** Limits, in the unit the spec gives. */\nexport const Limits = {\n';
  for (const [k, q] of Object.entries(spec.limits))
    out += docComment(`${q.doc} (${q.unit})`, '  ') + `  ${k}: ${q.value},\n`;
  out += '} as const;\n\n';
  out += '/** Timer defaults, in the unit the spec gives. */\nexport const Timers = {\n';
  for (const [k, q] of Object.entries(spec.timers))
    out += docComment(`${q.doc} (${q.unit})`, '  ') + `  ${k}: ${q.value},\n`;
  out += '} as const;\n\n';

  out += '/** Stable error code. Append-only: codes are never renumbered or reused. */\nexport type ErrorCode =\n';
  out += spec.errors.map((e) => `  | '${e.code}'`).join('\n') + ';\n\n';
  out +=
    '/** Numeric value of each error code (the value an ERROR message carries). */\nexport const ERROR_VALUES: Readonly<Record<ErrorCode, number>> = {\n';
  for (const e of spec.errors) out += docComment(e.doc, '  ') + `  ${e.code}: ${e.value},\n`;
  out += '};\n\n';
  out += '/** Error codes by numeric value. */\nexport const ERROR_CODES: Readonly<Record<number, ErrorCode>> = {\n';
  for (const e of spec.errors) out += `  ${e.value}: '${e.code}',\n`;
  out += '};\n\n';
  out +=
    '/** Error codes that may travel in an ERROR message. */\nexport const WIRE_ERROR_CODES: readonly ErrorCode[] = [\n';
  for (const e of spec.errors.filter((x) => x.wire)) out += `  '${e.code}',\n`;
  out += '];\n\n';

  out += '/** Byte offset of each header field. */\nexport const HEADER_OFFSETS = {\n';
  {
    let k = 0;
    for (const f of spec.header.fields) {
      out += docComment(`Offset of \`${f.name}\` (${f.type}).`, '  ') + `  ${f.name}: ${k},\n`;
      k += fixedSize(f.type) ?? 0;
    }
  }
  out += '} as const;\n\n';
  out += '/** Decoded header (the magic is checked, not returned). */\nexport interface Header {\n';
  for (const f of spec.header.fields) if (f.name !== 'magic') out += docComment(f.doc, '  ') + `  ${f.name}: number;\n`;
  out += '}\n\n';

  for (const [name, s] of Object.entries(spec.structs)) out += genInterface(ctx, pascal(name), s.doc, s.fields);
  for (const m of ctx.model.messages)
    out += genInterface(ctx, `${pascal(m.name)}Body`, `Body of ${m.subtypeSpec.label}: ${m.subtypeSpec.doc}`, m.fields);

  out += '/** Body type of every message, by qualified name. */\nexport interface MessageBodies {\n';
  for (const m of ctx.model.messages)
    out += docComment(`${m.subtypeSpec.label}: ${m.subtypeSpec.doc}`, '  ') + `  '${m.name}': ${pascal(m.name)}Body;\n`;
  out += '}\n\n';
  out += '/** Qualified message name (`<type>.<subtype>`). */\nexport type MessageName = keyof MessageBodies;\n\n';
  out +=
    '/** A decoded message the spec knows. */\nexport type KnownMessage = {\n  [N in MessageName]: {\n' +
    '    /** Qualified name (`<type>.<subtype>`). */\n    name: N;\n' +
    '    /** The decoded header. */\n    header: Header;\n' +
    '    /** The decoded body: derived fields left out, enums as names where known. */\n    body: MessageBodies[N];\n' +
    '  };\n}[MessageName];\n\n';

  out +=
    '/** Static facts of each message: numbers, owning client, channels (design 8.4). */\nexport interface MessageMeta {\n' +
    '  /** Qualified name (`<type>.<subtype>`). */\n  readonly name: MessageName;\n' +
    '  /** Type number (header `type`). */\n  readonly type: number;\n' +
    '  /** Subtype number (header `subtype`). */\n  readonly subtype: number;\n' +
    '  /** Client that owns the type: the only one allowed to send it. */\n  readonly client: ClientName;\n' +
    '  /** Channels the type travels on (static mapping). */\n  readonly channels: readonly ChannelName[];\n}\n\n';
  out +=
    '/** Static facts of every message, by qualified name. */\nexport const MESSAGES: {\n  readonly [N in MessageName]: MessageMeta & {\n    /** Qualified name: the key. */\n    readonly name: N;\n  };\n} = {\n';
  for (const m of ctx.model.messages) {
    out += `  '${m.name}': { name: '${m.name}', type: ${hex(m.type)}, subtype: ${hex(m.subtype)}, client: '${m.client}', channels: [${m.channels.map((c) => `'${c}'`).join(', ')}] },\n`;
  }
  out += '};\n\n';
  out +=
    '/** Channel mask (bit `1 << channel id`) on which each message type travels, by type number. */\nexport const TYPE_CHANNEL_MASK: Readonly<Record<number, number>> = {\n';
  for (const m of spec.messages) {
    const mask = m.channels.reduce((acc, c) => acc | (1 << ctx.model.channelId(c)), 0);
    out += `  ${hex(m.type)}: ${hex(mask)},\n`;
  }
  out += '};\n\n';
  out +=
    '/** Owning client of each message type, by type number. */\nexport const TYPE_CLIENT: Readonly<Record<number, ClientName>> = {\n';
  for (const m of spec.messages) out += `  ${hex(m.type)}: '${m.client}',\n`;
  out += '};\n\n';
  return out + genHandshake(ctx);
}

/** `HandshakeRule` and `HANDSHAKE_MESSAGES`: the spec's `handshake` marks, as data the peer reads. */
function genHandshake(ctx: Ctx): string {
  let out =
    '/** What a handshake message settles for its connection: the body fields that carry it. */\n' +
    'export interface HandshakeRule<N extends MessageName = MessageName> {\n' +
    '  /** Body field naming the channel the connection carries (a channel id). */\n' +
    '  readonly channelField?: keyof MessageBodies[N] & string;\n' +
    '  /** Body field carrying the negotiated version, which every later header carries [KKCM-HDR-4]. */\n' +
    '  readonly versionField?: keyof MessageBodies[N] & string;\n}\n\n';
  out +=
    '/**\n * The handshake messages, by qualified name: each keeps one layout in every protocol version\n' +
    ' * and is read whatever its header version, and is allowed only before its connection is\n' +
    ' * bound [KKCM-SESS-3]. A message absent here is read only in a version this code speaks.\n */\n' +
    'export const HANDSHAKE_MESSAGES: { readonly [N in MessageName]?: HandshakeRule<N> } = {\n';
  for (const m of ctx.model.handshakeMessages()) {
    const rule = [
      m.handshake.channelField === undefined ? '' : `channelField: '${m.handshake.channelField}'`,
      m.handshake.versionField === undefined ? '' : `versionField: '${m.handshake.versionField}'`,
    ].filter((x) => x !== '');
    out += `  '${m.name}': { ${rule.join(', ')} },\n`;
  }
  return out + '};\n';
}

function genInterface(ctx: Ctx, name: string, doc: string, fields: readonly FieldSpec[]): string {
  let out = docComment(doc) + `export interface ${name} {\n`;
  for (const f of fields.filter(isValueField))
    out +=
      docComment(`${f.doc} (${f.type === 'enum' ? `${f.enum ?? ''}, ${intType(ctx, f)}` : f.type})`, '  ') +
      `  ${f.name}: ${tsType(ctx, f)};\n`;
  return out + '}\n\n';
}
