/**
 * docs/protocol.md: the protocol reference, drawn from the spec alone. Header and every
 * body as a bit diagram with a field table, flags, channels and the static mapping,
 * clients, enums, features, limits, timers, the session state machine, version
 * negotiation, may-ignore and delivery confirmation.
 *
 * @module
 */
import {
  fixedSize,
  type FieldSpec,
  type QuantitySpec,
  type RequirementSpec,
  type SpecModel,
} from '../../spec/src/index.js';
import { diagramBlock, fieldTable, fixedLayoutSize, structAnchor } from './fields.js';
import {
  anchor,
  code,
  designName,
  enumValueTable,
  enumAnchor,
  generatedHeader,
  hexAndDecimal,
  messageAnchor,
  raw,
  requirementAnchor,
  table,
} from './markdown.js';

const SOURCES = ['spec/kkcm.spec.json'];

/** Requirements whose text matches, as a bullet list linking to requirements.md. */
function requirementList(reqs: readonly RequirementSpec[]): string {
  return reqs.map((r) => `- [${r.id}](requirements.md#${requirementAnchor(r.id)}) (${r.level}): ${r.text}`).join('\n');
}

function quantityTable(entries: Readonly<Record<string, QuantitySpec>>): string {
  return table(
    ['Name', 'Value', 'Unit', 'Meaning', 'Source'],
    Object.entries(entries).map(([name, q]) => [raw(code(name)), String(q.value), q.unit, q.doc, q.source]),
  );
}

function headerSection(model: SpecModel): string {
  const { header } = model.spec;
  // The header is integers only, so it draws and tabulates like a body layout.
  const fields: FieldSpec[] = header.fields.map((f) => ({ name: f.name, type: f.type, doc: f.doc, source: f.source }));
  const magic = header.magic.toString(16).toUpperCase();
  const ascii = Buffer.from(magic, 'hex').toString('latin1');
  return [
    '## Header',
    '',
    `Every message starts with a ${header.size}-byte header, in network byte order (${model.spec.byteOrder}), ` +
      `followed by the body. The magic value is \`0x${magic}\` ("${ascii}"). The length field counts the whole ` +
      `message, header included, so a body is \`length - ${header.size}\` bytes long. Offsets below are from the ` +
      'start of the message; offsets in the body tables further down are from the start of the body.',
    '',
    diagramBlock(model, fields),
    '',
    fieldTable(model, fields, 'header'),
  ].join('\n');
}

function flagsSection(model: SpecModel): string {
  const used = model.spec.flags.reduce((m, f) => m | f.mask, 0);
  const reserved = (~used & 0xff) >>> 0;
  return [
    '## Flags',
    '',
    "Bits of the header's `flags` byte. Bit 0 is the least significant bit (mask `1 << bit`). " +
      `Every other bit (mask \`0x${reserved.toString(16).toUpperCase().padStart(2, '0')}\`) is reserved: sent as zero, ` +
      'and a receiver treats a set reserved bit as a protocol error (ERR_RESERVED_FLAG).',
    '',
    table(
      ['Bit', 'Mask', 'Name', 'Meaning', 'Source'],
      model.spec.flags.map((f) => [
        String(f.bit),
        `0x${f.mask.toString(16).toUpperCase().padStart(2, '0')}`,
        raw(code(f.name)),
        f.doc,
        f.source,
      ]),
    ),
  ].join('\n');
}

function channelsSection(model: SpecModel): string {
  const { spec } = model;
  const clientLabel = (name: string): string => spec.clients.find((c) => c.name === name)?.label ?? name;
  const mark = (on: boolean): string => (on ? 'yes' : '—');
  return [
    '## Channels and the static mapping',
    '',
    'Two TCP connections join the peers, one per channel. Each message type travels on the ' +
      'channels listed here and nowhere else: a message on another channel is a protocol error ' +
      '(ERR_WRONG_CHANNEL). The mapping is static (design 8.4).',
    '',
    table(
      ['Id', 'Channel', 'Meaning', 'Source'],
      spec.channels.map((c) => [String(c.id), raw(code(c.name)), c.doc, c.source]),
    ),
    '',
    table(
      ['Type', 'Name', 'Client', ...spec.channels.map((c) => `on ${c.name}`)],
      spec.messages.map((t) => [
        hexAndDecimal(t.type),
        raw(code(t.name)),
        clientLabel(t.client),
        ...spec.channels.map((c) => mark(t.channels.includes(c.name))),
      ]),
    ),
    '',
    '### Clients',
    '',
    table(
      ['Id', 'Name', 'Design name', 'Label', 'Meaning', 'Source'],
      spec.clients.map((c) => [String(c.id), raw(code(c.name)), designName(c.designName), c.label, c.doc, c.source]),
    ),
  ].join('\n');
}

function messagesSection(model: SpecModel): string {
  const out: string[] = [
    '## Messages',
    '',
    'Every body, type by type. Each type, message and field says where it comes from: a section of the design ' +
      '(kkcm_design.txt), or a kkcm addition with its reason. ' +
      'Offsets are from the start of the body (add the header size for the ' +
      'offset in the message); after a variable-length field the following offsets depend on it. ' +
      "Bodies marked *illustrative* are a documented example set: the real subsystems' formats were never published.",
  ];
  for (const t of model.spec.messages) {
    const client = model.spec.clients.find((c) => c.name === t.client);
    out.push(
      '',
      `### Type ${hexAndDecimal(t.type)}: ${t.name}`,
      '',
      `${t.doc}`,
      '',
      `Source: ${t.source}.`,
      '',
      `Client: ${client?.label ?? t.client} (${code(t.client)}). Channels: ${t.channels.join(', ')}.${t.illustrative === true ? ' **Illustrative bodies.**' : ''}`,
    );
    for (const s of t.subtypes) {
      const info = model.lookup(t.type, s.subtype)!;
      const fixed = fixedLayoutSize(model, s.fields);
      const size = fixed !== undefined ? `${fixed} bytes` : `at least ${info.minBodySize} bytes`;
      out.push(
        '',
        anchor(messageAnchor(info.name)),
        `#### ${code(info.name)}: ${s.label}`,
        '',
        s.doc,
        '',
        `Source: ${s.source}.`,
        '',
        `Type ${hexAndDecimal(t.type)}, subtype ${hexAndDecimal(s.subtype)}; body ${size}; message ${fixed !== undefined ? `${fixed + model.spec.header.size} bytes` : `at least ${info.minBodySize + model.spec.header.size} bytes`}.` +
          (s.handshake !== undefined
            ? ' **Handshake message:** read whatever its header version, allowed only before the connection is bound ([version negotiation](#version-negotiation)).'
            : ''),
        '',
        diagramBlock(model, s.fields),
      );
      if (s.fields.length > 0) out.push('', fieldTable(model, s.fields, info.name));
    }
  }
  return out.join('\n');
}

function structsSection(model: SpecModel): string {
  const out = ['## Structs', '', 'Layouts used as nested fields or array items.'];
  for (const [name, s] of Object.entries(model.spec.structs)) {
    const size = fixedLayoutSize(model, s.fields);
    out.push(
      '',
      anchor(structAnchor(name)),
      `### ${code(name)}`,
      '',
      `${s.doc}${size !== undefined ? ` ${size} bytes.` : ''}`,
      '',
      diagramBlock(model, s.fields),
      '',
      fieldTable(model, s.fields, name),
    );
  }
  return out.join('\n');
}

function enumsSection(model: SpecModel): string {
  const out = [
    '## Enumerations',
    '',
    `A value that is not listed is carried as a plain number and never makes a message invalid ([KKCM-TYPE-3](requirements.md#${requirementAnchor('KKCM-TYPE-3')})).`,
  ];
  for (const [name, e] of Object.entries(model.spec.enums)) {
    out.push('', anchor(enumAnchor(name)), `### ${code(name)} (${e.base})`, '', e.doc, '', enumValueTable(e));
  }
  return out.join('\n');
}

function featuresSection(model: SpecModel): string {
  return [
    '## Features',
    '',
    'Bits of the `features` field of HELLO and HELLO-ACK (bit 0 is the least significant): see the two messages for what each side puts there.',
    '',
    table(
      ['Bit', 'Mask', 'Name', 'Meaning', 'Source'],
      model.spec.features.map((f) => [
        String(f.bit),
        `0x${(2 ** f.bit).toString(16).toUpperCase().padStart(8, '0')}`,
        raw(code(f.name)),
        f.doc,
        f.source,
      ]),
    ),
  ].join('\n');
}

function limitsSection(model: SpecModel): string {
  return [
    '## Limits',
    '',
    quantityTable(model.spec.limits),
    '',
    '## Timers',
    '',
    'Defaults; an implementation may make them configurable.',
    '',
    quantityTable(model.spec.timers),
  ].join('\n');
}

function sessionSection(model: SpecModel): string {
  const { session } = model.spec;
  const mermaid = [
    '```mermaid',
    'stateDiagram-v2',
    `    [*] --> ${session.states[0]?.name ?? 'idle'}`,
    ...session.transitions.map((t) => `    ${t.from} --> ${t.to}: ${t.on.replace(/:/g, ' -')}`),
    '```',
  ];
  return [
    '## Session state machine',
    '',
    'One session spans both channels. Its states:',
    '',
    table(
      ['State', 'Meaning', 'Source'],
      session.states.map((s) => [raw(code(s.name)), s.doc, s.source]),
    ),
    '',
    'Transitions:',
    '',
    table(
      ['From', 'To', 'On', 'Source'],
      session.transitions.map((t) => [raw(code(t.from)), raw(code(t.to)), t.on, t.source]),
    ),
    '',
    ...mermaid,
    '',
    'Rules:',
    '',
    ...session.rules.map((r) => `- ${r.text} (Source: ${r.source}.)`),
    '',
    'Topologies (who listens, design 7.2.b.2):',
    '',
    table(
      ['Topology', 'Listens', 'Rule', 'What HELLO carries to check it', 'Source'],
      session.topologies.map((t) => [
        raw(code(t.label)),
        t.listener === 'slot0' ? 'the RE in slot 0' : 'the protocol master',
        t.doc,
        t.hello,
        t.source,
      ]),
    ),
    '',
    'Requirements of the session:',
    '',
    requirementList(model.spec.requirements.filter((r) => r.section === 'session')),
  ].join('\n');
}

function versionSection(model: SpecModel): string {
  const { spec } = model;
  const v = spec.protocolVersions;
  const reject = spec.enums.rejectReason?.values.find((x) => x.name === 'versionIncompatible');
  const retry = spec.timers.incompatibleRetryMs;
  return [
    '## Version negotiation',
    '',
    `This spec defines protocol versions ${v.min} to ${v.max}; the current version is ${v.current}. ` +
      "HELLO carries the backup's range (`minVersion`, `maxVersion`); the master answers HELLO-ACK with the highest version in both " +
      `ranges (its \`version\` field), or HELLO-REJECT \`versionIncompatible\`${reject !== undefined ? ` (${reject.value})` : ''} with its own range when they do not overlap. ` +
      'From then on every header carries the negotiated version.' +
      (retry !== undefined
        ? ` A refused backup waits \`retryAfterMs\` (or ${retry.value} ms when it is 0, the \`incompatibleRetryMs\` timer) before it tries again.`
        : ''),
    '',
    ...spec.session.rules.filter((r) => /version/i.test(r.text)).map((r) => `- ${r.text} (Source: ${r.source}.)`),
    '',
    'The handshake messages (marked `handshake` in the spec) keep one layout in every version: a receiver reads them ' +
      'whatever version their header carries, and refuses them once the connection is bound. Every other message is ' +
      'read only in a version the receiver speaks, and after the handshake only in the negotiated one. Their fields that ' +
      'settle the connection:',
    '',
    table(
      ['Message', 'Read in any version', 'Names the channel in', 'Carries the negotiated version in'],
      model
        .handshakeMessages()
        .map((m) => [
          raw(`[${m.subtypeSpec.label}](#${messageAnchor(m.name)})`),
          'yes',
          m.handshake.channelField === undefined ? '—' : raw(code(m.handshake.channelField)),
          m.handshake.versionField === undefined ? '—' : raw(code(m.handshake.versionField)),
        ]),
    ),
    '',
    requirementList(spec.requirements.filter((r) => /version/i.test(r.text))),
  ].join('\n');
}

function mayIgnoreSection(model: SpecModel): string {
  const flag = model.spec.flags.find((f) => f.name === 'mayIgnore');
  return [
    '## May-ignore',
    '',
    `${flag !== undefined ? `Flag \`mayIgnore\` (mask 0x${flag.mask.toString(16).toUpperCase().padStart(2, '0')}): ${flag.doc}` : ''} ` +
      'A sender sets it on messages an older peer may safely skip; without it an unknown type or subtype ends the session.',
    '',
    requirementList(model.spec.requirements.filter((r) => /mayIgnore|unknown/i.test(r.text))),
  ].join('\n');
}

function confirmationSection(model: SpecModel): string {
  const { spec } = model;
  const flag = spec.flags.find((f) => f.name === 'ackRequested');
  const feature = spec.features.find((f) => f.name === 'deliveryAck');
  const link = (name: string): string =>
    model.message(name) !== undefined ? `[${model.message(name)!.subtypeSpec.label}](#${messageAnchor(name)})` : name;
  return [
    '## Delivery confirmation (ACK and NACK)',
    '',
    `${flag !== undefined ? `A sender that needs to know a message was accepted sets \`ackRequested\` (mask 0x${flag.mask.toString(16).toUpperCase().padStart(2, '0')}). ` : ''}` +
      `${feature !== undefined ? `A peer that advertised \`${feature.name}\` in its HELLO or HELLO-ACK answers it. ` : ''}` +
      `${link('control.ack')}: ${model.message('control.ack')?.subtypeSpec.doc ?? ''} ` +
      `${link('control.nack')}: ${model.message('control.nack')?.subtypeSpec.doc ?? ''} ` +
      'A message the session loses before it is confirmed fails its sender with ERR_SESSION_DOWN.',
    '',
    requirementList(spec.requirements.filter((r) => /ackRequested|deliveryAck/.test(r.text))),
  ].join('\n');
}

/** docs/protocol.md. */
export function protocolPage(model: SpecModel): string {
  const { spec } = model;
  const sections: [string, string][] = [
    ['Header', headerSection(model)],
    ['Flags', flagsSection(model)],
    ['Channels and the static mapping', channelsSection(model)],
    ['Messages', messagesSection(model)],
    ['Structs', structsSection(model)],
    ['Enumerations', enumsSection(model)],
    ['Features', featuresSection(model)],
    ['Limits', limitsSection(model)],
    ['Session state machine', sessionSection(model)],
    ['Version negotiation', versionSection(model)],
    ['May-ignore', mayIgnoreSection(model)],
    ['Delivery confirmation (ACK and NACK)', confirmationSection(model)],
  ];
  const slug = (title: string): string =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9 -]/g, '')
      .replace(/ /g, '-');
  const headerBits = spec.header.fields.reduce((n, f) => n + (fixedSize(f.type) ?? 0) * 8, 0);
  return [
    generatedHeader(`${spec.name}: protocol reference`, SOURCES),
    `Spec version ${spec.specVersion}. ${spec.summary ?? ''}`.trimEnd(),
    '',
    `Byte order: ${spec.byteOrder} (network byte order) for every integer. Protocol versions: ${spec.protocolVersions.min} to ${spec.protocolVersions.max}. ` +
      `Default TCP port: ${spec.defaultPort}. Header: ${spec.header.size} bytes (${headerBits} bits). ` +
      'Diagrams are 32 bits wide, most significant bit first; a row with `:` sides is a variable-length field.',
    '',
    'See also: [message catalogue](messages.md), [requirements](requirements.md), [error codes and cleanup reasons](errors.md), ' +
      '[conformance cases](conformance-cases.md), [CLI](cli.md).',
    '',
    '## Contents',
    '',
    ...sections.map(([title]) => `- [${title}](#${slug(title)})`),
    '',
    sections.map(([, text]) => text).join('\n\n'),
    '',
  ].join('\n');
}
