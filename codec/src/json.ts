/**
 * The JSON form of messages, used by the CLI, the golden vectors and reports: 64-bit
 * integers as decimal strings, bytes as hex, known enum values as names (unknown ones stay
 * numbers). Driven by the spec, so it also serves spec files loaded at run time.
 *
 * @module
 */
import { loadSpec, SpecModel, type FieldSpec } from '../../spec/src/index.js';
import { CodecError } from './errors.js';
import { Flags } from './gen/protocol.js';
import { fromHex, toHex } from './hex.js';
import type { DecodedMessage, MessageInput, RawMessageInput } from './message.js';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON form of a decoded header. */
export interface HeaderJson {
  /** Protocol version. */
  version: number;
  /** Flag bits, as a number. */
  flags: number;
  /** Type number. */
  type: number;
  /** Subtype number. */
  subtype: number;
  /** Total length in bytes, header included. */
  length: number;
  /** Sequence number. */
  seq: number;
}

/** JSON form of a decoded message. `name` is null for a message skipped under mayIgnore. */
export interface MessageJson {
  /** Qualified name, or null for a message skipped under mayIgnore. */
  name: string | null;
  /** The header. */
  header: HeaderJson;
  /** The body: 64-bit integers as decimal strings, bytes as hex, known enum values by name; the raw body as hex for a skipped message. */
  body: Json;
}

let defaultModel: SpecModel | undefined;

/** The model of the bundled spec. */
export function bundledModel(): SpecModel {
  defaultModel ??= new SpecModel(loadSpec());
  return defaultModel;
}

function invalid(path: string, message: string): never {
  throw new CodecError('ERR_INVALID_VALUE', `${path}: ${message}`, { path });
}

/** JSON form of one field value. */
export function fieldToJson(model: SpecModel, f: FieldSpec, v: unknown): Json {
  switch (f.type) {
    case 'u64':
    case 'i64':
      return String(v);
    case 'bytes':
      return toHex(v as Uint8Array);
    case 'enum': {
      const e = model.spec.enums[f.enum ?? ''];
      return e?.values.find((x) => x.value === v)?.name ?? (v as number);
    }
    case 'array':
      return (v as unknown[]).map((item) => fieldsToJson(model, model.struct(f.items ?? '').fields, item));
    case 'struct':
      return fieldsToJson(model, model.struct(f.struct ?? '').fields, v);
    default:
      return v as Json;
  }
}

/** JSON form of an object laid out by `fields` (derived and reserved fields are absent). */
export function fieldsToJson(model: SpecModel, fields: readonly FieldSpec[], v: unknown): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  const obj = v as Record<string, unknown>;
  for (const f of fields) {
    if (f.type === 'reserved' || f.derived !== undefined) continue;
    out[f.name] = fieldToJson(model, f, obj[f.name]);
  }
  return out;
}

/** Value of one field from its JSON form. @throws CodecError ERR_INVALID_VALUE */
export function fieldFromJson(model: SpecModel, f: FieldSpec, v: unknown, path: string): unknown {
  switch (f.type) {
    case 'u64':
    case 'i64':
      if (typeof v === 'bigint') return v;
      if ((typeof v === 'string' && /^-?\d+$/.test(v)) || (typeof v === 'number' && Number.isSafeInteger(v)))
        return BigInt(v);
      return invalid(path, 'expected a decimal integer string');
    case 'bytes':
      if (v instanceof Uint8Array) return v;
      if (typeof v !== 'string') return invalid(path, 'expected a hex string');
      try {
        return fromHex(v);
      } catch {
        return invalid(path, 'expected a hex string');
      }
    case 'enum': {
      if (typeof v !== 'string') return v;
      const e = model.spec.enums[f.enum ?? ''];
      const hit = e?.values.find((x) => x.name === v);
      return hit !== undefined ? hit.value : invalid(path, `unknown ${f.enum ?? ''} name ${JSON.stringify(v)}`);
    }
    case 'array':
      if (!Array.isArray(v)) return invalid(path, 'expected an array');
      return v.map((item, i) => fieldsFromJson(model, model.struct(f.items ?? '').fields, item, `${path}[${i}]`));
    case 'struct':
      return fieldsFromJson(model, model.struct(f.struct ?? '').fields, v, path);
    default:
      return v;
  }
}

/** Object laid out by `fields` from its JSON form. */
export function fieldsFromJson(
  model: SpecModel,
  fields: readonly FieldSpec[],
  v: unknown,
  path: string,
): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid(path, 'expected an object');
  const obj = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.type === 'reserved' || f.derived !== undefined) continue;
    out[f.name] = fieldFromJson(model, f, obj[f.name], `${path}.${f.name}`);
  }
  return out;
}

/** JSON form of a decoded message. */
export function messageToJson(msg: DecodedMessage, model: SpecModel = bundledModel()): MessageJson {
  const { version, flags, type, subtype, length, seq } = msg.header;
  const header: HeaderJson = { version, flags, type, subtype, length, seq };
  if (msg.name === null) return { name: null, header, body: toHex(msg.body) };
  const info = model.message(msg.name);
  /* c8 ignore next */
  if (info === undefined) throw new CodecError('ERR_UNKNOWN_MESSAGE', `no message named ${msg.name}`);
  return { name: msg.name, header, body: fieldsToJson(model, info.fields, msg.body) };
}

function flagsFromJson(v: unknown): number | undefined {
  if (v === undefined || typeof v === 'number') return v;
  if (Array.isArray(v)) {
    let mask = 0;
    for (const name of v) {
      const bit = (Flags as Record<string, number>)[String(name)];
      if (bit === undefined) invalid('flags', `unknown flag ${JSON.stringify(name)}`);
      mask |= bit;
    }
    return mask;
  }
  return invalid('flags', 'expected a number or a list of flag names');
}

/**
 * A message to encode from its JSON form: `{name, body, seq?, flags?, version?}`, or
 * `{type, subtype, body: "hex", …}` for a raw message. `flags` may be a number or a list
 * of flag names; a `header` object may carry seq, flags and version instead.
 *
 * @throws CodecError ERR_INVALID_VALUE or ERR_UNKNOWN_MESSAGE.
 */
export function messageFromJson(json: unknown, model: SpecModel = bundledModel()): MessageInput | RawMessageInput {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return invalid('message', 'expected an object');
  const obj = json as Record<string, unknown>;
  const header = (typeof obj.header === 'object' && obj.header !== null ? obj.header : {}) as Record<string, unknown>;
  const common = {
    seq: (obj.seq ?? header.seq) as number | undefined,
    flags: flagsFromJson(obj.flags ?? header.flags),
    version: (obj.version ?? header.version) as number | undefined,
  };
  if (obj.name === undefined || obj.name === null) {
    const type = obj.type ?? header.type;
    const subtype = obj.subtype ?? header.subtype;
    if (typeof type !== 'number' || typeof subtype !== 'number')
      return invalid('message', 'expected name, or type and subtype');
    return {
      ...common,
      type,
      subtype,
      body: fieldFromJson(
        model,
        { name: 'body', type: 'bytes', rest: true, doc: '', source: '' },
        obj.body ?? '',
        'body',
      ) as Uint8Array,
    };
  }
  const info = model.message(String(obj.name));
  if (info === undefined)
    throw new CodecError('ERR_UNKNOWN_MESSAGE', `no message named ${String(obj.name)}`, { path: 'name' });
  return {
    ...common,
    name: info.name,
    body: fieldsFromJson(model, info.fields, obj.body, 'body'),
  } as unknown as MessageInput;
}

/** `JSON.stringify` that writes bigints as decimal strings and bytes as hex. */
export function stringify(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v),
    indent,
  );
}
