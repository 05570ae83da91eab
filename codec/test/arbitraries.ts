/**
 * fast-check arbitraries derived from a spec model: any message of any spec, built from the
 * field lists alone, so that property and differential tests cover every message name
 * without a hand-written generator per message.
 *
 * Bodies never hold derived fields (the encoder computes them) nor reserved ones (the
 * encoder writes zeros). Values cover each type's whole range, unknown enum values,
 * non-ASCII and BOM-led strings, and IPv6 addresses in several text forms (compressed,
 * full, IPv4-mapped, with a trailing dotted quad).
 *
 * @module
 */
import fc from 'fast-check';
import type { SpecModel, FieldSpec } from '../../spec/src/index.js';
import { encodeMessage, HEADER_SIZE, Limits, type DecodeOptions, type MessageInput } from '../src/index.js';

/** A body value: field name to value, as `encodeMessage` takes it. */
export type BodyValue = { [field: string]: unknown };

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  i8: [-0x80, 0x7f],
  i16: [-0x8000, 0x7fff],
  i32: [-0x80000000, 0x7fffffff],
};

/** Largest array a generated body holds, whatever its count field allows. */
const MAX_ITEMS = 6;
/** Largest bytes value a generated body holds, whatever its length field allows. */
const MAX_BYTES = 300;
/** Largest string, in UTF-16 units, a generated body holds. */
const MAX_STRING_UNITS = 48;

const byte = fc.integer({ min: 0, max: 0xff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** IPv4 text: always the dotted quad the codec prints. */
const ipv4 = fc.tuple(byte, byte, byte, byte).map((q) => q.join('.'));

/** One 16-bit group, zero half of the time so that zero runs (`::`) are common. */
const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));

/** IPv6 text in several valid forms; not always the canonical one. */
const ipv6 = fc.oneof(
  fc.ipV6(),
  fc.array(group, { minLength: 8, maxLength: 8 }).map((ws) => ws.map((w) => w.toString(16)).join(':')),
  fc.array(group, { minLength: 8, maxLength: 8 }).map(compressFirstZeroRun),
  ipv4.map((q) => `::ffff:${q}`),
  fc.constantFrom('::', '::1', '1::', 'FE80::1', '::ffff:0:0', '0:0:0:0:0:ffff:1.2.3.4', '64:ff9b::1.2.3.4'),
);

/** Writes 8 groups with the first run of two or more zero groups (not always the longest) as `::`. */
function compressFirstZeroRun(ws: readonly number[]): string {
  const hex = ws.map((w) => w.toString(16));
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && ws[j] === 0) j++;
    if (j - i >= 2) return `${hex.slice(0, i).join(':')}::${hex.slice(j).join(':')}`;
  }
  return hex.join(':');
}

function unsignedMax(model: SpecModel, f: FieldSpec | undefined): number {
  const type = f === undefined ? 'u32' : f.type === 'enum' ? model.enumBase(f) : f.type;
  return type === 'u64' ? Number.MAX_SAFE_INTEGER : (INT_RANGES[type]?.[1] ?? 0xffffffff);
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function fieldArbitrary(model: SpecModel, f: FieldSpec, siblings: readonly FieldSpec[]): fc.Arbitrary<unknown> {
  const sizer = siblings.find((s) => s.name === (f.type === 'array' ? f.count : f.length));
  switch (f.type) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'i8':
    case 'i16':
    case 'i32': {
      const [min, max] = INT_RANGES[f.type]!;
      return fc.integer({ min, max });
    }
    case 'u64':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'i64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'enum': {
      const e = model.spec.enums[f.enum ?? ''];
      const [min, max] = INT_RANGES[e?.base ?? 'u8']!;
      const known = e?.values.map((v) => v.value) ?? [];
      // Unknown values must survive a round trip as numbers [KKCM-TYPE-3].
      return known.length > 0
        ? fc.oneof(fc.constantFrom(...known), fc.integer({ min, max }))
        : fc.integer({ min, max });
    }
    case 'ipv4':
      return ipv4;
    case 'ipv6':
      return ipv6;
    case 'bytes':
      if (f.size !== undefined) return fc.uint8Array({ minLength: f.size, maxLength: f.size });
      if (f.rest === true) return fc.uint8Array({ maxLength: MAX_BYTES });
      return fc.uint8Array({ maxLength: Math.min(unsignedMax(model, sizer), MAX_BYTES) });
    case 'string': {
      const maxBytes = unsignedMax(model, sizer);
      const maxLength = Math.min(MAX_STRING_UNITS, Math.floor(maxBytes / 3));
      return fc
        .oneof(
          fc.string({ unit: 'binary-ascii', maxLength }),
          fc.string({ unit: 'binary', maxLength }),
          fc.string({ unit: 'grapheme', maxLength }),
          // A leading U+FEFF is text, not a byte-order mark to drop.
          fc.string({ unit: 'binary', maxLength }).map((s) => `\uFEFF${s}`),
        )
        .filter((s) => utf8Bytes(s) <= maxBytes);
    }
    case 'array':
      return fc.array(structArbitrary(model, f.items ?? ''), {
        maxLength: Math.min(unsignedMax(model, sizer), MAX_ITEMS),
      });
    case 'struct':
      return structArbitrary(model, f.struct ?? '');
    /* c8 ignore next 2 */
    default:
      throw new Error(`no arbitrary for field type ${f.type}`);
  }
}

function fieldsArbitrary(model: SpecModel, fields: readonly FieldSpec[]): fc.Arbitrary<BodyValue> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (f.type === 'reserved' || f.derived !== undefined) continue;
    shape[f.name] = fieldArbitrary(model, f, fields);
  }
  return fc.record(shape) as fc.Arbitrary<BodyValue>;
}

function structArbitrary(model: SpecModel, name: string): fc.Arbitrary<BodyValue> {
  return fieldsArbitrary(model, model.struct(name).fields);
}

/**
 * Bodies of the message `messageName` (qualified, e.g. `control.hello`) of `model`.
 *
 * @throws Error when the model has no message of that name.
 */
export function arbitraryBody(model: SpecModel, messageName: string): fc.Arbitrary<BodyValue> {
  const info = model.message(messageName);
  if (info === undefined) throw new Error(`no message named ${messageName}`);
  return fieldsArbitrary(model, info.fields);
}

/**
 * Whole messages of `model`, ready for `encodeMessage`: any message name (or one of
 * `names`), a body from {@link arbitraryBody}, any seq, a version in the spec's range and
 * any combination of the defined flags.
 */
export function arbitraryMessage(
  model: SpecModel,
  names: readonly string[] = model.messages.map((m) => m.name),
): fc.Arbitrary<MessageInput> {
  const { min, max } = model.spec.protocolVersions;
  const flags = fc.subarray(model.spec.flags.map((f) => f.mask)).map((ms) => ms.reduce((a, m) => a | m, 0));
  return fc.constantFrom(...names).chain((name) =>
    fc.record({
      name: fc.constant(name),
      seq: fc.integer({ min: 0, max: 0xffffffff }),
      flags,
      version: fc.integer({ min, max }),
      body: arbitraryBody(model, name),
    }),
  ) as unknown as fc.Arbitrary<MessageInput>;
}

/**
 * Frames behind a mostly plausible header (the spec's magic, a version in range, defined
 * flags, a known type and subtype, a length that matches, each replaced by an arbitrary
 * value now and then) over an arbitrary body of up to 96 bytes.
 */
export function arbitraryHeaderShapedFrame(model: SpecModel): fc.Arbitrary<Uint8Array> {
  const { spec } = model;
  const size = spec.header.size;
  const knownPairs = model.messages.map((m) => [m.type, m.subtype] as const);
  const definedFlags = spec.flags.reduce((a, f) => a | f.mask, 0);
  return fc
    .record({
      version: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: spec.protocolVersions.min, max: spec.protocolVersions.max }) },
        { weight: 1, arbitrary: byte },
      ),
      flags: fc.oneof({ weight: 4, arbitrary: byte.map((f) => f & definedFlags) }, { weight: 1, arbitrary: byte }),
      pair: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...knownPairs) },
        { weight: 1, arbitrary: fc.tuple(byte, byte) },
      ),
      seq: u32,
      body: fc.uint8Array({ maxLength: 96 }),
      lengthDelta: fc.oneof(
        { weight: 6, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) },
      ),
    })
    .map(({ version, flags, pair, seq, body, lengthDelta }) => {
      const b = Buffer.alloc(size + body.length);
      b.writeUInt32BE(spec.header.magic, 0);
      b.writeUInt8(version, 4);
      b.writeUInt8(flags, 5);
      b.writeUInt8(pair[0], 6);
      b.writeUInt8(pair[1], 7);
      b.writeUInt32BE(Math.max(0, b.length + lengthDelta), 8);
      b.writeUInt32BE(seq, 12);
      b.set(body, size);
      return new Uint8Array(b);
    });
}

/** One edit of an encoded frame. Positions are taken modulo the frame's size. */
export type Mutation =
  | { readonly kind: 'set'; readonly at: number; readonly value: number; readonly fromEnd: boolean }
  | { readonly kind: 'word'; readonly at: number; readonly size: 2 | 4; readonly value: number }
  | { readonly kind: 'cut'; readonly at: number; readonly fixLength: boolean }
  | { readonly kind: 'append'; readonly bytes: Uint8Array; readonly fixLength: boolean }
  | { readonly kind: 'length'; readonly value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Counted from the end too: strings and bytes sit at the end of most bodies.
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: byte, fromEnd: fc.boolean() }),
  // Small values written over body words hit length and count fields.
  fc.record({
    kind: fc.constant('word' as const),
    at: fc.nat(),
    size: fc.constantFrom(2 as const, 4 as const),
    value: fc.oneof(fc.integer({ min: 0, max: 400 }), u32),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), fixLength: fc.boolean() }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    fixLength: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(u32, fc.integer({ min: 0, max: 80 })) }),
);

/**
 * Applies edits to a copy of an encoded frame (`headerSize` bytes of header first): byte
 * sets, 16/32-bit writes over the body, truncation and appending (with or without fixing
 * the header's length field), and length-field edits.
 */
export function mutate(frame: Uint8Array, mutations: readonly Mutation[], headerSize = 16): Uint8Array {
  let b = Buffer.from(frame);
  for (const m of mutations) {
    switch (m.kind) {
      case 'set': {
        const at = m.at % b.length;
        b[m.fromEnd ? b.length - 1 - at : at] = m.value;
        break;
      }
      case 'word': {
        if (b.length < headerSize + m.size) break;
        const at = headerSize + (m.at % (b.length - headerSize - m.size + 1));
        if (m.size === 2) b.writeUInt16BE(m.value & 0xffff, at);
        else b.writeUInt32BE(m.value >>> 0, at);
        break;
      }
      case 'cut':
        b = b.subarray(0, headerSize + (m.at % Math.max(1, b.length - headerSize)));
        if (m.fixLength) b.writeUInt32BE(b.length, 8);
        break;
      case 'append':
        b = Buffer.concat([b, m.bytes]);
        if (m.fixLength) b.writeUInt32BE(b.length, 8);
        break;
      case 'length':
        b.writeUInt32BE(m.value, 8);
        break;
    }
  }
  return new Uint8Array(b);
}

/**
 * Valid messages of the bundled codec (`model` must describe messages `encodeMessage`
 * knows), encoded, then edited by one to three {@link Mutation}s.
 */
export function arbitraryMutatedFrame(model: SpecModel): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(arbitraryMessage(model), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([msg, ms]) => mutate(encodeMessage(msg), ms, model.spec.header.size));
}

/**
 * IPv6 text in the form RFC 5952 prescribes, computed independently of the codec: WHATWG
 * URL serialisation (lower case, first longest run of two or more zero groups as `::`),
 * except that IPv4-mapped addresses keep a dotted quad (RFC 5952 section 5).
 */
export function canonicalIpv6(text: string): string {
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (m === null) return host;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * The value a decoder should return for an input body: the same fields, IPv6 addresses in
 * canonical text ({@link canonicalIpv6}). Everything else is returned as given.
 */
export function expectedBody(model: SpecModel, messageName: string, body: BodyValue): BodyValue {
  const info = model.message(messageName);
  if (info === undefined) throw new Error(`no message named ${messageName}`);
  return expectedFields(model, info.fields, body);
}

function expectedFields(model: SpecModel, fields: readonly FieldSpec[], v: BodyValue): BodyValue {
  const out: BodyValue = {};
  for (const f of fields) {
    if (f.type === 'reserved' || f.derived !== undefined) continue;
    const x = v[f.name];
    if (f.type === 'ipv6') out[f.name] = canonicalIpv6(x as string);
    else if (f.type === 'array')
      out[f.name] = (x as BodyValue[]).map((item) => expectedFields(model, model.struct(f.items ?? '').fields, item));
    else if (f.type === 'struct')
      out[f.name] = expectedFields(model, model.struct(f.struct ?? '').fields, x as BodyValue);
    else out[f.name] = x;
  }
  return out;
}

/**
 * A form of a decoded value that compares by content: bytes (Buffer or Uint8Array) become
 * `hex:` strings and bigints `n:` strings, so that `t.same` / `isDeepStrictEqual` neither
 * confuse 1n with 1 nor tell a Buffer from a Uint8Array of the same bytes.
 */
export function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (typeof v === 'bigint') return `n:${v}`;
  if (Array.isArray(v)) return v.map(comparable);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

/** Cut points of a stream, as fractions of its length so that they shrink well. */
export const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

/** Cuts `bytes` into chunks at the fractions `at`. */
export function chunked(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = [...new Set(at.map((x) => Math.floor(x * bytes.byteLength)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.byteLength]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

/**
 * Streams mixing whole messages, damaged ones, plausible headers and garbage, concatenated.
 * `mutatedWeight`: how often a damaged message comes, against 4 for a whole one.
 */
export function arbitraryStream(model: SpecModel, mutatedWeight = 2): fc.Arbitrary<Uint8Array> {
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: arbitraryMessage(model).map((m) => encodeMessage(m)) },
        { weight: mutatedWeight, arbitrary: arbitraryMutatedFrame(model) },
        { weight: 1, arbitrary: arbitraryHeaderShapedFrame(model) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
      ),
      { maxLength: 6 },
    )
    .map((parts) => new Uint8Array(Buffer.concat(parts)));
}

/** Decode options of a stream decoder: limit, version, channel and any-version, each maybe absent. */
export const arbitraryDecodeOptions = fc.record(
  {
    maxMessage: fc.oneof(fc.integer({ min: HEADER_SIZE, max: 600 }), fc.constant(Limits.defaultMaxMessage)),
    version: fc.constantFrom(1, 2),
    channel: fc.constantFrom('send' as const, 'receive' as const),
    anyVersion: fc.boolean(),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<DecodeOptions>;
