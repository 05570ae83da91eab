/**
 * The Wireshark dissector, generated from the spec: `docs/wireshark/jsripc.lua`.
 *
 * The file is one Lua script in two parts: tables generated here (fields, value strings,
 * expert infos, every message's body layout) and the fixed runtime in
 * `dissector-runtime.lua` (TCP framing and reassembly, a layout interpreter, conversation
 * state, registration on the spec's port and as a heuristic). Run as a script
 * (`npm run dissector`) it writes the file; `--check` only compares and exits 1 when the
 * committed file is stale.
 *
 * Field names: the header is `jsripc.<header field>` (`jsripc.seq`), a flag bit
 * `jsripc.flags.<flag in snake_case>`, and every body field
 * `jsripc.<type>.<subtype>.<field path>` with the spec's names, array items and struct
 * members adding their own name (`jsripc.psrm.stateBatch.entries.handle`): the path of a
 * vector's JSON body without its indices. See {@link dissectorFieldName}.
 *
 * @module
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadSpec, packageRoot, SpecModel, type FieldSpec, type ProtocolSpec } from '../../spec/src/index.js';

/** Where the generated dissector lives, relative to the repository root. */
export const DISSECTOR_PATH = 'docs/wireshark/jsripc.lua';

/** Wireshark protocol filter name. */
export const PROTOCOL_FILTER_NAME = 'jsripc';

/**
 * Spec error codes the dissector reports as expert info, with the Wireshark group and
 * severity. Each becomes `jsripc.expert.<code without ERR_, lower case>`.
 */
export const DISSECTOR_EXPERTS: readonly (readonly [
  code: string,
  group: 'MALFORMED' | 'PROTOCOL' | 'SEQUENCE',
  severity: 'ERROR' | 'WARN',
])[] = [
  ['ERR_BAD_MAGIC', 'MALFORMED', 'ERROR'],
  ['ERR_UNSUPPORTED_VERSION', 'PROTOCOL', 'ERROR'],
  ['ERR_LENGTH_TOO_SMALL', 'MALFORMED', 'ERROR'],
  ['ERR_FRAME_TOO_LARGE', 'PROTOCOL', 'ERROR'],
  ['ERR_TRUNCATED_BODY', 'MALFORMED', 'ERROR'],
  ['ERR_TRAILING_BYTES', 'MALFORMED', 'ERROR'],
  ['ERR_RESERVED_NONZERO', 'PROTOCOL', 'ERROR'],
  ['ERR_BAD_COUNT', 'MALFORMED', 'ERROR'],
  ['ERR_BAD_LENGTH_FIELD', 'MALFORMED', 'ERROR'],
  ['ERR_UNKNOWN_TYPE', 'PROTOCOL', 'ERROR'],
  ['ERR_UNKNOWN_SUBTYPE', 'PROTOCOL', 'ERROR'],
  ['ERR_RESERVED_FLAG', 'PROTOCOL', 'ERROR'],
  ['ERR_BAD_UTF8', 'MALFORMED', 'ERROR'],
  ['ERR_WRONG_CHANNEL', 'PROTOCOL', 'ERROR'],
  ['ERR_BAD_SEQUENCE', 'SEQUENCE', 'WARN'],
  ['ERR_STREAM_TRUNCATED', 'MALFORMED', 'ERROR'],
];

/**
 * Expert info of a client body that does not fit its illustrative layout, or of a subtype
 * the spec does not list: a note, not an error (client data is opaque to KKCM) [KKCM-DISP-3].
 * Its text is `body does not fit the illustrative layout: <code>: <detail>`.
 */
export const ILLUSTRATIVE_MISFIT_EXPERT = `${PROTOCOL_FILTER_NAME}.expert.illustrative_misfit`;

/** Integer fields whose values are names from another table of the spec. */
const FIELD_VALUE_STRINGS: Readonly<Record<string, 'errors' | 'types'>> = {
  'control.error.code': 'errors',
  'control.error.offendingType': 'types',
  'control.nack.code': 'errors',
};

const HEADER_FIELD_NAMES = ['magic', 'version', 'flags', 'type', 'subtype', 'length', 'seq'] as const;

/** Abbreviation of the expert info for a spec error code, e.g. `jsripc.expert.bad_magic`. */
export function expertName(code: string): string {
  return `${PROTOCOL_FILTER_NAME}.expert.${code.replace(/^ERR_/, '').toLowerCase()}`;
}

/**
 * Wireshark field name of a body field.
 *
 * @param message - qualified message name, `control.hello`.
 * @param path - field names from the body down, indices left out: `['entries', 'handle']`.
 */
export function dissectorFieldName(message: string, path: readonly string[]): string {
  return [PROTOCOL_FILTER_NAME, message, ...path].join('.');
}

// ------------------------------------------------------------------ Lua text

/** A Lua string literal: quotes, backslashes and control characters escaped; UTF-8 kept. */
function lua(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\${String(c).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const VALID_ABBREV = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function checkAbbrev(abbrev: string): string {
  if (!VALID_ABBREV.test(abbrev)) throw new Error(`dissector: ${abbrev} is not a valid Wireshark field name`);
  return abbrev;
}

function luaTable(entries: readonly (readonly [number, string])[]): string {
  return `{ ${entries.map(([k, v]) => `[${k}] = ${lua(v)}`).join(', ')} }`;
}

const INTEGER_PROTOFIELD: Readonly<Record<string, string>> = {
  u8: 'uint8',
  u16: 'uint16',
  u32: 'uint32',
  u64: 'uint64',
  i8: 'int8',
  i16: 'int16',
  i32: 'int32',
  i64: 'int64',
};

/** Generated Lua, built line by line. */
class LuaWriter {
  readonly lines: string[] = [];
  readonly fieldRefs: string[] = [];

  line(text = ''): void {
    this.lines.push(text);
  }

  /** Declares a body field `F[abbrev]` and lists it in `jsripc.fields`. */
  field(abbrev: string, constructor: string, args: string): string {
    const ref = `F[${lua(checkAbbrev(abbrev))}]`;
    this.line(`${ref} = ProtoField.${constructor}(${lua(abbrev)}, ${args})`);
    this.fieldRefs.push(ref);
    return ref;
  }
}

// ------------------------------------------------------------------ the generator

class DissectorGenerator {
  private readonly model: SpecModel;
  private readonly out = new LuaWriter();

  constructor(private readonly spec: ProtocolSpec) {
    this.model = new SpecModel(spec);
  }

  generate(runtime: string): string {
    this.preamble();
    this.constants();
    this.valueStrings();
    this.headerFields();
    this.experts();
    this.typesAndMessages();
    this.out.line('jsripc.fields = {');
    for (let i = 0; i < this.out.fieldRefs.length; i += 4)
      this.out.line(`  ${this.out.fieldRefs.slice(i, i + 4).join(', ')},`);
    this.out.line('}');
    this.out.line();
    return `${this.out.lines.join('\n')}\n${runtime}`;
  }

  private preamble(): void {
    const s = this.spec;
    const o = this.out;
    o.line(
      `-- Generated from spec/kkcm.spec.json (${s.name}, spec ${s.specVersion}) by docs/tools/dissector.ts. Do not edit: run \`npm run dissector\`.`,
    );
    o.line('--');
    o.line('-- Wireshark dissector for JSR IPC over KKCM (protocol filter name "jsripc").');
    o.line('--   tshark -X lua_script:docs/wireshark/jsripc.lua -r capture.pcapng -Y jsripc');
    o.line("--   or copy this file into Wireshark's personal Lua plugins folder.");
    o.line(`-- TCP port ${s.defaultPort} (preference jsripc.tcp_port), and any port by the magic (heuristic).`);
    o.line(
      `-- Longest message: preference jsripc.max_message (default ${s.limits.defaultMaxMessage?.value ?? '?'} bytes, as a receiver with default settings).`,
    );
    o.line('-- Messages split across segments are reassembled; several in one segment are split.');
    o.line("-- Protocol errors are expert infos named after the spec's codes (jsripc.expert.bad_magic, ...).");
    o.line('-- Client bodies are opaque to KKCM: one that does not fit its illustrative layout (or of a');
    o.line('-- subtype the spec does not list) is shown as raw bytes with a note, jsripc.expert.illustrative_misfit.');
    o.line('--');
    o.line('-- Fields: jsripc.<header field> (jsripc.type, jsripc.seq, ...), jsripc.flags.<flag>,');
    o.line("-- jsripc.msg (qualified name, e.g. control.hello), jsripc.channel (the stream's channel),");
    o.line('-- jsripc.body, and every body field as jsripc.<type>.<subtype>.<field>[.<member>],');
    o.line('-- e.g. jsripc.control.hello.nodeName, jsripc.psrm.stateBatch.entries.handle.');
    o.line();
    o.line(`local jsripc = Proto(${lua(PROTOCOL_FILTER_NAME)}, "JSR IPC (KKCM)")`);
    o.line();
  }

  private constants(): void {
    const s = this.spec;
    const o = this.out;
    const limit = (name: string): number => {
      const q = s.limits[name];
      if (q === undefined) throw new Error(`dissector: the spec has no limit ${name}`);
      return q.value;
    };
    const mayIgnore = s.flags.find((f) => f.name === 'mayIgnore');
    if (mayIgnore === undefined) throw new Error('dissector: the spec has no mayIgnore flag');
    o.line(`local MAGIC = 0x${s.header.magic.toString(16).toUpperCase().padStart(8, '0')}`);
    o.line(`local HEADER_SIZE = ${s.header.size}`);
    o.line(`local VERSION_MIN, VERSION_MAX = ${s.protocolVersions.min}, ${s.protocolVersions.max}`);
    o.line(`local DEFAULT_PORT = ${s.defaultPort}`);
    o.line(`local DEFAULT_MAX_MESSAGE = ${limit('defaultMaxMessage')}`);
    o.line(`local MAY_IGNORE_BIT = ${mayIgnore.bit}`);
    o.line(`local KNOWN_FLAG_BITS = { ${s.flags.map((f) => `[${f.bit}] = true`).join(', ')} }`);
    o.line(`local CHANNELS = ${luaTable(s.channels.map((c) => [c.id, c.name]))}`);
    o.line();
    const offsets: string[] = [];
    const list: string[] = [];
    let at = 0;
    for (const f of s.header.fields) {
      const size = INTEGER_PROTOFIELD[f.type] === undefined ? 0 : Number(/\d+/.exec(f.type)?.[0] ?? 0) / 8;
      offsets.push(`${f.name} = ${at}`);
      list.push(`  { name = ${lua(f.name)}, offset = ${at}, size = ${size} },`);
      at += size;
    }
    if (at !== s.header.size)
      throw new Error(`dissector: header fields take ${at} bytes, header.size says ${s.header.size}`);
    for (const name of HEADER_FIELD_NAMES) {
      if (!s.header.fields.some((f) => f.name === name)) throw new Error(`dissector: the header has no ${name} field`);
    }
    o.line(`local HDR = { ${offsets.join(', ')} }`);
    o.line('local HEADER_FIELDS = {');
    for (const l of list) o.line(l);
    o.line('}');
    o.line();
  }

  private valueStrings(): void {
    const s = this.spec;
    const o = this.out;
    o.line('local VS = {}');
    o.line(`VS.types = ${luaTable(s.messages.map((m) => [m.type, m.name]))}`);
    o.line(`VS.errors = ${luaTable(s.errors.filter((e) => e.wire).map((e) => [e.value, e.code]))}`);
    for (const name of Object.keys(s.enums).sort()) {
      o.line(`VS.enum_${name} = ${luaTable(s.enums[name]!.values.map((v) => [v.value, v.name]))}`);
    }
    o.line();
  }

  private headerFields(): void {
    const s = this.spec;
    const o = this.out;
    o.line('local HF = {}');
    const hf = (key: string, abbrev: string, constructor: string, args: string): void => {
      o.line(`HF.${key} = ProtoField.${constructor}(${lua(checkAbbrev(abbrev))}, ${args})`);
      o.fieldRefs.push(`HF.${key}`);
    };
    for (const f of s.header.fields) {
      const label = f.name === 'seq' ? 'Sequence number' : f.name.charAt(0).toUpperCase() + f.name.slice(1);
      const base = f.name === 'magic' || f.name === 'flags' ? 'base.HEX' : 'base.DEC';
      const vs = f.name === 'type' ? 'VS.types' : 'nil';
      hf(
        f.name,
        `${PROTOCOL_FILTER_NAME}.${f.name}`,
        INTEGER_PROTOFIELD[f.type] ?? 'uint32',
        `${lua(label)}, ${base}, ${vs}, nil, ${lua(f.doc)}`,
      );
    }
    const known = s.flags.reduce((m, f) => m | f.mask, 0);
    hf(
      'flags_reserved',
      `${PROTOCOL_FILTER_NAME}.flags.reserved`,
      'uint8',
      `"Reserved bits", base.HEX, nil, 0x${(~known & 0xff).toString(16).padStart(2, '0')}, "Undefined flag bits: must be zero."`,
    );
    hf(
      'msg',
      `${PROTOCOL_FILTER_NAME}.msg`,
      'string',
      '"Message", base.ASCII, "Qualified message name, <type>.<subtype> (generated from type and subtype)."',
    );
    hf(
      'channel',
      `${PROTOCOL_FILTER_NAME}.channel`,
      'uint8',
      `"Channel", base.DEC, ${luaTable(s.channels.map((c) => [c.id, c.name]))}, nil, "Channel this TCP stream carries: from its HELLO or HELLO-ACK, else the one channel the message type travels on."`,
    );
    hf('body', `${PROTOCOL_FILTER_NAME}.body`, 'bytes', '"Body", base.NONE, "Every byte after the header."');
    hf(
      'trailing',
      `${PROTOCOL_FILTER_NAME}.trailing`,
      'bytes',
      '"Trailing bytes", base.NONE, "Body bytes after the end of the layout."',
    );
    hf(
      'undecoded',
      `${PROTOCOL_FILTER_NAME}.undecoded`,
      'bytes',
      '"Undecoded", base.NONE, "Bytes that cannot be framed after a bad header."',
    );
    o.line('local FLAGS = {');
    for (const f of s.flags) {
      const abbrev = checkAbbrev(`${PROTOCOL_FILTER_NAME}.flags.${snake(f.name)}`);
      o.line(
        `  { name = ${lua(f.name)}, field = ProtoField.bool(${lua(abbrev)}, ${lua(f.name)}, 8, nil, 0x${f.mask.toString(16).padStart(2, '0')}, ${lua(f.doc)}) },`,
      );
    }
    o.line('}');
    s.flags.forEach((_, i) => o.fieldRefs.push(`FLAGS[${i + 1}].field`));
    o.line();
  }

  private experts(): void {
    const o = this.out;
    const refs: string[] = [];
    o.line('local EI = {}');
    for (const [code, group, severity] of DISSECTOR_EXPERTS) {
      const e = this.spec.errors.find((x) => x.code === code);
      if (e === undefined) throw new Error(`dissector: the spec has no error code ${code}`);
      o.line(
        `EI.${code} = ProtoExpert.new(${lua(expertName(code))}, ${lua(`${code}: ${e.doc}`)}, expert.group.${group}, expert.severity.${severity})`,
      );
      refs.push(`EI.${code}`);
    }
    o.line(
      `EI.skipped = ProtoExpert.new(${lua(`${PROTOCOL_FILTER_NAME}.expert.skipped`)}, "Unknown type or subtype skipped: mayIgnore is set [KKCM-TYPE-1]", expert.group.UNDECODED, expert.severity.NOTE)`,
    );
    o.line(
      `EI.illustrative_misfit = ProtoExpert.new(${lua(ILLUSTRATIVE_MISFIT_EXPERT)}, "Client body does not fit the spec's illustrative layout: shown as raw bytes, not an error (client data is opaque to KKCM) [KKCM-DISP-3]", expert.group.UNDECODED, expert.severity.NOTE)`,
    );
    o.line(
      `EI.dissector_bug = ProtoExpert.new(${lua(`${PROTOCOL_FILTER_NAME}.expert.dissector_bug`)}, "The dissector failed on this message: a bug, please report it", expert.group.MALFORMED, expert.severity.ERROR)`,
    );
    refs.push('EI.skipped', 'EI.illustrative_misfit', 'EI.dissector_bug');
    o.line(`jsripc.experts = { ${refs.join(', ')} }`);
    o.line();
  }

  private typesAndMessages(): void {
    const s = this.spec;
    const o = this.out;
    for (const path of Object.keys(FIELD_VALUE_STRINGS)) {
      const [t, st, f] = path.split('.');
      if (!this.model.message(`${t}.${st}`)?.fields.some((x) => x.name === f))
        throw new Error(`dissector: no field ${path}`);
    }
    o.line('local TYPES = {}');
    for (const t of s.messages) {
      const ids = t.channels.map((c) => this.model.channelId(c));
      const only = ids.length === 1 ? String(ids[0]) : 'nil';
      // A client-owned type's body is opaque to KKCM [KKCM-DISP-3]: its layout is illustrative.
      const opaque = t.client === 'kkcm' ? '' : ', opaque = true';
      o.line(
        `TYPES[${t.type}] = { name = ${lua(t.name)}, channels = { ${ids.map((id) => `[${id}] = true`).join(', ')} }, only_channel = ${only}${opaque} }`,
      );
    }
    o.line();
    o.line('local F = {}');
    o.line('local MESSAGES = {}');
    for (const m of this.model.messages) {
      o.line();
      o.line(`-- ${m.name} (${m.subtypeSpec.label}): ${m.subtypeSpec.doc}`);
      const layout = this.layout(m.name, m.fields, []);
      // Handshake messages are read whatever their header version [KKCM-SESS-3]; their
      // fields tell which channel the stream carries and which version it negotiated.
      const rule = m.handshake;
      const key = `0x${((m.type << 8) | m.subtype).toString(16).padStart(4, '0')}`;
      const extra =
        rule === undefined
          ? ''
          : `, handshake = true${rule.channelField !== undefined ? `, sets_channel = ${lua(rule.channelField)}` : ''}${rule.versionField !== undefined ? `, sets_version = ${lua(rule.versionField)}` : ''}`;
      o.line(`MESSAGES[${key}] = {`);
      o.line(
        `  name = ${lua(m.name)}, label = ${lua(m.subtypeSpec.label)}, subtype_name = ${lua(m.subtypeSpec.name)}${extra},`,
      );
      o.line(`  fields = ${layout.replace(/\n/g, '\n  ')},`);
      o.line('}');
    }
    o.line();
  }

  /** Declares the fields of a layout and returns its Lua table text. */
  private layout(message: string, fields: readonly FieldSpec[], path: readonly string[]): string {
    const entries = fields.map((f) => this.entry(message, f, [...path, f.name]));
    return `{\n${entries.map((e) => `  ${e.replace(/\n/g, '\n  ')},`).join('\n')}\n}`;
  }

  private entry(message: string, f: FieldSpec, path: readonly string[]): string {
    const abbrev = dissectorFieldName(message, path);
    const args = (base: string, vs = 'nil'): string => `${lua(f.name)}, ${base}, ${vs}, nil, ${lua(f.doc)}`;
    const attrs = [`name = ${lua(f.name)}`];
    let ref: string;
    switch (f.type) {
      case 'u8':
      case 'u16':
      case 'u32':
      case 'i8':
      case 'i16':
      case 'i32':
      case 'u64':
      case 'i64': {
        const table = FIELD_VALUE_STRINGS[`${message}.${path.join('.')}`];
        ref = this.out.field(
          abbrev,
          INTEGER_PROTOFIELD[f.type]!,
          args('base.DEC', table === undefined ? 'nil' : `VS.${table}`),
        );
        const kind = f.type.startsWith('u')
          ? f.type === 'u64'
            ? 'uint64'
            : 'uint'
          : f.type === 'i64'
            ? 'int64'
            : 'int';
        attrs.push(`kind = ${lua(kind)}`, `size = ${Number(f.type.slice(1)) / 8}`);
        if (f.derived !== undefined) attrs.push('derived = true');
        break;
      }
      case 'enum': {
        const base = this.model.enumBase(f);
        ref = this.out.field(abbrev, INTEGER_PROTOFIELD[base]!, args('base.DEC', `VS.enum_${f.enum ?? ''}`));
        attrs.push('kind = "uint"', `size = ${Number(base.slice(1)) / 8}`);
        break;
      }
      case 'ipv4':
      case 'ipv6':
        ref = this.out.field(abbrev, f.type, `${lua(f.name)}, ${lua(f.doc)}`);
        attrs.push(`kind = ${lua(f.type)}`, `size = ${f.type === 'ipv4' ? 4 : 16}`);
        break;
      case 'reserved':
        ref = this.out.field(abbrev, 'bytes', `${lua(f.name)}, base.NONE, ${lua(f.doc)}`);
        attrs.push('kind = "reserved"', `size = ${f.size ?? 0}`);
        break;
      case 'bytes':
        ref = this.out.field(abbrev, 'bytes', `${lua(f.name)}, base.NONE, ${lua(f.doc)}`);
        attrs.push('kind = "bytes"');
        if (f.size !== undefined) attrs.push(`size = ${f.size}`);
        else if (f.length !== undefined) attrs.push(`length = ${lua(f.length)}`);
        else attrs.push('rest = true');
        break;
      case 'string':
        ref = this.out.field(abbrev, 'string', `${lua(f.name)}, base.UNICODE, ${lua(f.doc)}`);
        attrs.push('kind = "string"', `length = ${lua(f.length ?? '')}`);
        break;
      case 'array': {
        ref = this.out.field(abbrev, 'none', `${lua(f.name)}, ${lua(f.doc)}`);
        const items = this.model.struct(f.items ?? '').fields;
        attrs.push('kind = "array"', `count = ${lua(f.count ?? '')}`, `min_item = ${this.model.minSize(items)}`);
        attrs.push(`fields = ${this.layout(message, items, path)}`);
        break;
      }
      case 'struct': {
        ref = this.out.field(abbrev, 'none', `${lua(f.name)}, ${lua(f.doc)}`);
        attrs.push(
          'kind = "struct"',
          `fields = ${this.layout(message, this.model.struct(f.struct ?? '').fields, path)}`,
        );
        break;
      }
    }
    attrs.push(`field = ${ref}`);
    const nested = attrs.findIndex((a) => a.startsWith('fields = '));
    if (nested < 0) return `{ ${attrs.join(', ')} }`;
    const [fieldsAttr] = attrs.splice(nested, 1);
    return `{ ${attrs.join(', ')},\n  ${fieldsAttr!.replace(/\n/g, '\n  ')} }`;
  }
}

const runtimePath = join(dirname(fileURLToPath(import.meta.url)), 'dissector-runtime.lua');

/**
 * Generates the Wireshark Lua dissector for a spec: deterministic, one self-contained
 * script whose first line says it is generated.
 *
 * @param spec - a validated spec (see `loadSpec`).
 * @returns the text of `docs/wireshark/jsripc.lua`.
 * @throws Error when the spec lacks something the dissector relies on (a header field,
 *   the mayIgnore flag, an error code of {@link DISSECTOR_EXPERTS}),
 *   or a name is not a valid Wireshark field name.
 */
export function generateDissector(spec: ProtocolSpec): string {
  return new DissectorGenerator(spec).generate(readFileSync(runtimePath, 'utf8'));
}

/** CLI: writes the dissector, or with `--check` exits 1 when the committed one is stale. */
function main(argv: readonly string[]): number {
  const path = join(packageRoot(), DISSECTOR_PATH);
  const text = generateDissector(loadSpec());
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (argv.includes('--check')) {
    if (current !== text) {
      process.stderr.write(
        `dissector: ${DISSECTOR_PATH} is out of date: run \`npm run dissector\` and commit the result\n`,
      );
      return 1;
    }
    process.stdout.write(`dissector: ${DISSECTOR_PATH} is up to date\n`);
    return 0;
  }
  mkdirSync(dirname(path), { recursive: true });
  if (current !== text) writeFileSync(path, text);
  process.stdout.write(`dissector: ${DISSECTOR_PATH} ${current === text ? 'unchanged' : 'written'}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
