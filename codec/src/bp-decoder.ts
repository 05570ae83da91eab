/**
 * A decoder built at run time from any spec with binary-parser: the differential oracle of
 * the generated codec, the decoder behind `kkcm decode --spec FILE`, and a benchmark
 * baseline.
 *
 * It reads the spec's field lists and nothing else: no generated code is imported, so a
 * user's own edition of the spec is honoured. binary-parser compiles each `Parser` with
 * `new Function` the first time it runs; every parser is built once per decoder.
 *
 * binary-parser does not bounds-check buffers and strings (it slices and moves on), so the
 * checks the spec asks for are hooked into the parsers it compiles, in wire order:
 * - before each run of fixed-size fields, a `saveOffset` whose assert checks the run fits
 *   (ERR_TRUNCATED_BODY); reserved fields carry an assert that they are zero
 *   (ERR_RESERVED_NONZERO);
 * - a length or count is checked by the `length` function of the field it sizes, against
 *   the offset saved just before it (ERR_BAD_LENGTH_FIELD, ERR_BAD_COUNT);
 * - strings are read as bytes and decoded strictly in a formatter (ERR_BAD_UTF8):
 *   binary-parser's own `string` decodes leniently and drops a leading U+FEFF;
 * - a last `saveOffset` checks the body was consumed exactly (ERR_TRAILING_BYTES).
 * Any `RangeError` binary-parser still raises is reported as ERR_TRUNCATED_BODY.
 *
 * @module
 */
import { isUtf8 } from 'node:buffer';
import type { Parser as ParserClass } from 'binary-parser' with { 'resolution-mode': 'require' };
// @ts-expect-error binary-parser's "exports" map gives types to its CommonJS build only.
import { Parser as ParserImpl } from 'binary-parser';
import { SpecModel, fixedSize, type FieldSpec, type ProtocolSpec } from '../../spec/src/index.js';
import { CodecError } from './errors.js';
import { readIpv4, readIpv6 } from './runtime.js';

/** Header fields as the decoder returns them (the magic is checked, not returned). */
export interface BpHeader {
  readonly version: number;
  readonly flags: number;
  readonly type: number;
  readonly subtype: number;
  /** Total message length in bytes, header included. */
  readonly length: number;
  readonly seq: number;
}

/**
 * A decoded message, shaped as the codec's `DecodedMessage`: `name` is the qualified name
 * (`control.hello`) and `body` holds every field except derived and reserved ones, or
 * `name` is null and `body` the raw body bytes for an unknown type or subtype that carried
 * the mayIgnore flag [KKCM-TYPE-1]. Bytes values are views into the frame.
 */
export type BpDecodedMessage =
  | { readonly name: string; readonly header: BpHeader; readonly body: { readonly [field: string]: unknown } }
  | { readonly name: null; readonly header: BpHeader; readonly body: Uint8Array };

/** Options of {@link createBinaryParserDecoder}. */
export interface BinaryParserDecoderOptions {
  /**
   * Largest message accepted, header included, in bytes. Default: the spec's
   * `limits.defaultMaxMessage`. [KKCM-FRM-3]
   */
  readonly maxMessage?: number | undefined;
}

/** A decoder compiled from one spec. */
export interface BinaryParserDecoder {
  /**
   * Decodes exactly one whole message.
   *
   * @throws CodecError ERR_STREAM_TRUNCATED (shorter than a header or than its length
   *   field), ERR_BAD_MAGIC, ERR_UNSUPPORTED_VERSION, ERR_RESERVED_FLAG,
   *   ERR_LENGTH_TOO_SMALL, ERR_FRAME_TOO_LARGE, ERR_TRAILING_BYTES, ERR_UNKNOWN_TYPE,
   *   ERR_UNKNOWN_SUBTYPE, ERR_TRUNCATED_BODY, ERR_BAD_LENGTH_FIELD, ERR_BAD_COUNT,
   *   ERR_RESERVED_NONZERO, ERR_BAD_UTF8; offsets are message offsets (0 for a frame cut
   *   short, which has no field to name).
   */
  decode(frame: Uint8Array): BpDecodedMessage;
}

type Code = ConstructorParameters<typeof CodecError>[0];

const Parser = ParserImpl as typeof ParserClass;
type Parser = ParserClass;
type ParserOptions = NonNullable<Parameters<Parser['buffer']>[1]>;
type AssertFn = Extract<ParserOptions['assert'], (...args: never[]) => unknown>;

/** binary-parser types `assert` functions as taking `number | string`; they get the field's value. */
const asAssert = <T>(fn: (value: T) => boolean): AssertFn => fn as unknown as AssertFn;

/** An object binary-parser fills: spec fields plus the offsets saved under `$` names. */
type Scope = Record<string, unknown>;

/** Body currently being parsed; the compiled checks read it (decoding is synchronous). */
interface ParseState {
  /** Body length: every offset binary-parser works with is relative to the body. */
  end: number;
  /** `byteOffset` of the body view, to turn a slice back into an offset. */
  base: number;
  /** Message offset of the body's first byte: the header size. */
  at: number;
}

/** Turns binary-parser's raw result into the decoded value. */
type Projection = (raw: Scope) => { [field: string]: unknown };

interface CompiledFields {
  readonly parser: Parser;
  readonly project: Projection;
}

const INT_PARSERS = {
  u8: 'uint8',
  u16: 'uint16be',
  u32: 'uint32be',
  u64: 'uint64be',
  i8: 'int8',
  i16: 'int16be',
  i32: 'int32be',
  i64: 'int64be',
} as const;

type IntType = keyof typeof INT_PARSERS;

function reject(code: Code, message: string, offset: number, path?: string): never {
  throw new CodecError(code, message, { offset, path });
}

const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const isValueField = (f: FieldSpec): boolean => f.type !== 'reserved' && f.derived === undefined;

/** Builds binary-parser parsers from field lists; every check closes over `state`. */
class BodyCompiler {
  private readonly model: SpecModel;
  private readonly state: ParseState;
  private temp = 0;

  constructor(model: SpecModel, state: ParseState) {
    this.model = model;
    this.state = state;
  }

  /** Fixed byte size of a field, or undefined when it varies. */
  private fixed(f: FieldSpec): number | undefined {
    if (f.type === 'enum') return fixedSize(this.model.enumBase(f));
    if (f.type === 'reserved') return f.size;
    if (f.type === 'bytes') return f.size;
    return fixedSize(f.type);
  }

  private structMinSize(name: string): number {
    return this.model.minSize(this.model.struct(name).fields);
  }

  private tempName(what: string): string {
    return `$${what}${this.temp++}`;
  }

  /**
   * Compiles a field list. `prefix` is the path of the enclosing value (`body`,
   * `body.entries[]`); `top` adds the exact-consumption check of a whole body.
   */
  fields(fields: readonly FieldSpec[], prefix: string, top: boolean): CompiledFields {
    const state = this.state;
    const pathOf = (f: FieldSpec): string => `${prefix}.${f.name}`;
    let p = new Parser();
    let i = 0;
    while (i < fields.length) {
      // A run of fixed-size fields gets one bounds check, as the body layout reads it.
      const run: { f: FieldSpec; size: number }[] = [];
      for (
        let size = this.fixed(fields[i]!);
        i < fields.length && size !== undefined;
        size = i < fields.length ? this.fixed(fields[i]!) : undefined
      ) {
        run.push({ f: fields[i++]!, size });
      }
      if (run.length > 0) {
        p = this.fixedRun(p, run, pathOf);
        continue;
      }
      const f = fields[i++]!;
      const path = pathOf(f);
      if (f.type === 'bytes' && f.rest === true) {
        // readUntil 'eof' slices to the end without moving the offset: move it explicitly.
        const at = this.tempName('at');
        p = p
          .saveOffset(at)
          .buffer(f.name, { readUntil: 'eof' })
          .seek(function (this: Scope) {
            return state.end - (this[at] as number);
          });
      } else if (f.type === 'bytes' || f.type === 'string') {
        const at = this.tempName('at');
        const lengthField = f.length ?? '';
        const length = function (this: Scope): number {
          const n = this[lengthField] as number;
          const o = this[at] as number;
          if (n > state.end - o)
            reject(
              'ERR_BAD_LENGTH_FIELD',
              `${path} needs ${n} bytes at ${o + state.at}, only ${state.end - o} remain`,
              o + state.at,
              path,
            );
          return n;
        };
        if (f.type === 'bytes') {
          p = p.saveOffset(at).buffer(f.name, { length });
        } else {
          const formatter = function (this: Scope, b: Uint8Array): string {
            if (!isUtf8(b)) reject('ERR_BAD_UTF8', `${path} is not valid UTF-8`, (this[at] as number) + state.at, path);
            return lenientUtf8.decode(b);
          };
          p = p.saveOffset(at).buffer(f.name, { length, formatter });
        }
      } else if (f.type === 'array') {
        const item = f.items ?? '';
        const itemSize = this.structMinSize(item);
        const at = this.tempName('at');
        const countField = f.count ?? '';
        const count = function (this: Scope): number {
          const n = this[countField] as number;
          const o = this[at] as number;
          const room = state.end - o;
          if (itemSize > 0 ? n * itemSize > room : n > room) {
            reject(
              'ERR_BAD_COUNT',
              `${path} announces ${n} items, only ${room} bytes remain at ${o + state.at}`,
              o + state.at,
              path,
            );
          }
          return n;
        };
        const items = this.fields(this.model.struct(item).fields, `${path}[]`, false);
        p = p
          .saveOffset(at)
          .array(f.name, { type: items.parser, length: count, formatter: (list: Scope[]) => list.map(items.project) });
      } else if (f.type === 'struct') {
        const inner = this.fields(this.model.struct(f.struct ?? '').fields, path, false);
        p = p.nest(f.name, { type: inner.parser, formatter: inner.project });
      } else {
        /* c8 ignore start */
        throw new Error(`bp-decoder: no parser for field type ${f.type} (${path})`);
      }
      /* c8 ignore stop */
    }
    if (top) {
      p = p.saveOffset('$end', {
        assert: asAssert(
          (o: number) =>
            o === state.end ||
            reject(
              'ERR_TRAILING_BYTES',
              `${state.end - o} bytes after the last field at ${o + state.at}`,
              o + state.at,
              'body',
            ),
        ),
      });
    }
    return { parser: p, project: projection(fields) };
  }

  private fixedRun(
    p: Parser,
    run: readonly { f: FieldSpec; size: number }[],
    pathOf: (f: FieldSpec) => string,
  ): Parser {
    const state = this.state;
    const total = run.reduce((n, r) => n + r.size, 0);
    p = p.saveOffset(this.tempName('run'), {
      assert: asAssert((o: number) => o + total <= state.end || truncated(o, state, run, pathOf)),
    });
    for (const { f, size } of run) {
      const path = pathOf(f);
      switch (f.type) {
        case 'reserved':
          p = p.buffer(f.name, {
            length: size,
            assert: asAssert(
              (b: Uint8Array) =>
                b.every((x) => x === 0) ||
                reject('ERR_RESERVED_NONZERO', `${path} must be zero`, b.byteOffset - state.base + state.at, path),
            ),
          });
          break;
        case 'bytes':
          p = p.buffer(f.name, { length: size });
          break;
        case 'ipv4':
          p = p.buffer(f.name, { length: 4, formatter: (b: Uint8Array) => readIpv4(b, 0) });
          break;
        case 'ipv6':
          p = p.buffer(f.name, { length: 16, formatter: (b: Uint8Array) => readIpv6(b, 0) });
          break;
        default: {
          const type = (f.type === 'enum' ? this.model.enumBase(f) : f.type) as IntType;
          p = p[INT_PARSERS[type]](f.name);
        }
      }
    }
    return p;
  }
}

/** A run of fixed fields does not fit: names the first field that runs past the end. */
function truncated(
  start: number,
  state: ParseState,
  run: readonly { f: FieldSpec; size: number }[],
  pathOf: (f: FieldSpec) => string,
): never {
  let o = start;
  for (const { f, size } of run) {
    if (o + size > state.end)
      reject(
        'ERR_TRUNCATED_BODY',
        `body ends at byte ${state.end + state.at}, ${pathOf(f)} needs ${size} bytes at ${o + state.at}`,
        o + state.at,
        pathOf(f),
      );
    o += size;
  }
  /* c8 ignore next */
  return reject('ERR_TRUNCATED_BODY', 'body truncated', start + state.at, 'body');
}

/** Keeps the value fields of a raw result; nested values were projected by their formatter. */
function projection(fields: readonly FieldSpec[]): Projection {
  const names = fields.filter(isValueField).map((f) => f.name);
  return (raw) => {
    const out: { [field: string]: unknown } = {};
    for (const name of names) out[name] = raw[name];
    return out;
  };
}

/**
 * Builds a decoder for `spec` with binary-parser: one parser for the header, one per
 * message body (structs are compiled into the bodies that use them).
 *
 * Checks, in order, as the codec's `decodeMessage` makes them: a whole header is present,
 * magic [KKCM-FRM-5], version within the spec's range, no reserved flag bit
 * [KKCM-HDR-3], length at least a header [KKCM-FRM-4] and at most `maxMessage`
 * [KKCM-FRM-3], the frame is exactly `length` bytes, then the body layout
 * [KKCM-FRM-7]. An unknown type or subtype with mayIgnore set decodes with a null name
 * [KKCM-TYPE-1]; without it, it is rejected [KKCM-TYPE-2]. Enum values stay numbers,
 * known or not [KKCM-TYPE-3]. The static channel mapping is not enforced.
 *
 * @param spec - a validated spec, as `loadSpec` returns it.
 * @param options - `maxMessage` (bytes, header included; default the spec's
 *   `defaultMaxMessage`).
 * @throws Error when the spec uses a field type this decoder cannot build (none of the
 *   spec language's types).
 */
export function createBinaryParserDecoder(
  spec: ProtocolSpec,
  options: BinaryParserDecoderOptions = {},
): BinaryParserDecoder {
  const model = new SpecModel(spec);
  const headerSize = spec.header.size;
  const magic = spec.header.magic;
  const { min: minVersion, max: maxVersion } = spec.protocolVersions;
  const definedFlags = spec.flags.reduce((m, f) => m | f.mask, 0);
  const reservedFlags = 0xff & ~definedFlags;
  const mayIgnore = spec.flags.find((f) => f.name === 'mayIgnore')?.mask ?? 0x01;
  const maxMessage = options.maxMessage ?? spec.limits.defaultMaxMessage?.value ?? 262144;

  let header = new Parser();
  for (const f of spec.header.fields) header = header[INT_PARSERS[f.type]](f.name);
  const headerOffsets = new Map<string, number>();
  spec.header.fields.reduce((o, f) => (headerOffsets.set(f.name, o), o + (fixedSize(f.type) ?? 0)), 0);
  const offsetOf = (name: string): number => headerOffsets.get(name) ?? 0;

  const state: ParseState = { end: 0, base: 0, at: headerSize };
  const compiler = new BodyCompiler(model, state);
  const bodies = new Map<number, { readonly name: string } & CompiledFields>();
  for (const m of model.messages)
    bodies.set((m.type << 8) | m.subtype, { name: m.name, ...compiler.fields(m.fields, 'body', true) });

  function decode(frame: Uint8Array): BpDecodedMessage {
    if (frame.byteLength < headerSize)
      reject('ERR_STREAM_TRUNCATED', `${frame.byteLength} bytes, a header needs ${headerSize}`, 0);
    const h = header.parse(frame) as Scope & BpHeader & { magic: number };
    if (h.magic !== magic)
      reject(
        'ERR_BAD_MAGIC',
        `magic is 0x${h.magic.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16)}`,
        offsetOf('magic'),
        'header.magic',
      );
    if (h.version < minVersion || h.version > maxVersion) {
      reject(
        'ERR_UNSUPPORTED_VERSION',
        `version ${h.version}, expected ${minVersion}..${maxVersion}`,
        offsetOf('version'),
        'header.version',
      );
    }
    if ((h.flags & reservedFlags) !== 0)
      reject(
        'ERR_RESERVED_FLAG',
        `reserved flag bits set: 0x${(h.flags & reservedFlags).toString(16)}`,
        offsetOf('flags'),
        'header.flags',
      );
    if (h.length < headerSize)
      reject(
        'ERR_LENGTH_TOO_SMALL',
        `length ${h.length} is smaller than the header (${headerSize})`,
        offsetOf('length'),
        'header.length',
      );
    if (h.length > maxMessage)
      reject(
        'ERR_FRAME_TOO_LARGE',
        `length ${h.length} exceeds the limit of ${maxMessage} bytes`,
        offsetOf('length'),
        'header.length',
      );
    if (frame.byteLength < h.length)
      reject('ERR_STREAM_TRUNCATED', `message of ${h.length} bytes, only ${frame.byteLength} present`, 0);
    if (frame.byteLength > h.length)
      reject('ERR_TRAILING_BYTES', `${frame.byteLength - h.length} bytes after the message`, h.length, 'body');
    const hdr: BpHeader = {
      version: h.version,
      flags: h.flags,
      type: h.type,
      subtype: h.subtype,
      length: h.length,
      seq: h.seq,
    };
    const body = frame.subarray(headerSize, h.length);
    const known = bodies.get((hdr.type << 8) | hdr.subtype);
    if (known === undefined) {
      if ((hdr.flags & mayIgnore) !== 0) return { name: null, header: hdr, body };
      if (model.messageType(hdr.type) === undefined)
        reject(
          'ERR_UNKNOWN_TYPE',
          `unknown type 0x${hdr.type.toString(16)} without mayIgnore`,
          offsetOf('type'),
          'header.type',
        );
      return reject(
        'ERR_UNKNOWN_SUBTYPE',
        `unknown subtype 0x${hdr.subtype.toString(16)} of type 0x${hdr.type.toString(16)} without mayIgnore`,
        offsetOf('subtype'),
        'header.subtype',
      );
    }
    state.end = body.byteLength;
    state.base = body.byteOffset;
    let raw: Scope;
    try {
      raw = known.parser.parse(body) as Scope;
    } catch (err) {
      // The run checks make this unreachable for a valid spec; kept as the last word.
      /* c8 ignore next */
      if (err instanceof RangeError)
        reject('ERR_TRUNCATED_BODY', `body ends before its layout does (${err.message})`, h.length, 'body');
      throw err;
    }
    return { name: known.name, header: hdr, body: known.project(raw) };
  }

  return { decode };
}
