/**
 * Writes `codec/src/gen/encode.ts`: the header writer and, per body layout, a sizer that
 * checks every derived length and count, and a writer.
 *
 * @module
 */
import { fixedSize, type FieldSpec } from '../../spec/src/index.js';
import {
  at,
  BANNER,
  fieldFixedSize,
  hex,
  intType,
  off,
  pascal,
  structFixedSize,
  withRuntimeImports,
  type Ctx,
} from './generator-support.js';

const INT_CHECK: Readonly<Record<string, (x: string) => string>> = {
  u8: (x) => `(${x} & 0xff) !== ${x}`,
  u16: (x) => `(${x} & 0xffff) !== ${x}`,
  u32: (x) => `(${x} >>> 0) !== ${x}`,
  i8: (x) => `((${x} << 24) >> 24) !== ${x}`,
  i16: (x) => `((${x} << 16) >> 16) !== ${x}`,
  i32: (x) => `(${x} | 0) !== ${x}`,
};

function writeInt(type: string, base: string, k: number, x: string): string[] {
  const to = (j: number): string => `b[${off(base, k + j)}]`;
  switch (type) {
    case 'u8':
    case 'i8':
      return [`${to(0)} = ${x};`];
    case 'u16':
    case 'i16':
      return [`${to(0)} = ${x} >>> 8;`, `${to(1)} = ${x};`];
    case 'u32':
    case 'i32':
      return [`${to(0)} = ${x} >>> 24;`, `${to(1)} = ${x} >>> 16;`, `${to(2)} = ${x} >>> 8;`, `${to(3)} = ${x};`];
    /* c8 ignore next 2 */
    default:
      throw new Error(`no writer for ${type}`);
  }
}

/** Expression for the value of a derived field, from the field it describes. */
function derivedExpr(fields: readonly FieldSpec[], f: FieldSpec, obj: string, prefix: string): string {
  const targetName = f.derived?.lengthOf ?? f.derived?.countOf ?? '';
  const target = fields.find((t) => t.name === targetName);
  const path = prefix === '' ? targetName : `${prefix}.${targetName}`;
  if (target?.type === 'string') return `utf8Length(${obj}.${targetName}, '${path}')`;
  if (target?.type === 'array') return `arrayItems(${obj}.${targetName}, '${path}').length`;
  return `bytesLength(${obj}.${targetName}, '${path}')`;
}

function genSizeFields(ctx: Ctx, fields: readonly FieldSpec[], prefix: string): string[] {
  const pathOf = (f: FieldSpec): string => (prefix === '' ? f.name : `${prefix}.${f.name}`);
  let fixed = 0;
  const lines: string[] = [];
  const parts: string[] = [];
  for (const f of fields) {
    const s = fieldFixedSize(ctx, f);
    if (s !== undefined && f.type !== 'struct') {
      fixed += s;
      if (f.derived !== undefined) {
        // Range-check the derived value here so that no buffer is sized for an impossible message.
        lines.push(`const d_${f.name} = ${derivedExpr(fields, f, 'v', prefix)};`);
        lines.push(
          `if (${INT_CHECK[f.type]?.(`d_${f.name}`) ?? 'false'}) badInt(d_${f.name}, '${f.type}', '${pathOf(f)}');`,
        );
      }
      continue;
    }
    switch (f.type) {
      case 'bytes':
      case 'string': {
        const lenField = fields.find((t) => t.derived?.lengthOf === f.name);
        parts.push(lenField !== undefined ? `d_${lenField.name}` : `bytesLength(v.${f.name}, '${pathOf(f)}')`);
        break;
      }
      case 'array': {
        const item = f.items ?? '';
        const itemSize = structFixedSize(ctx, item);
        if (itemSize !== undefined) {
          parts.push(`d_${f.count ?? ''} * ${itemSize}`);
        } else {
          lines.push(
            `let s_${f.name} = 0;`,
            `for (const item of v.${f.name}) s_${f.name} += size${pascal(item)}(item);`,
          );
          parts.push(`s_${f.name}`);
        }
        break;
      }
      case 'struct':
        parts.push(`size${pascal(f.struct ?? '')}(v.${f.name})`);
        break;
      /* c8 ignore next 2 */
      default:
        throw new Error(`unhandled field type ${f.type}`);
    }
  }
  lines.push(`return ${[String(fixed), ...parts].join(' + ')};`);
  return lines;
}

/**
 * The lines of a writer of `fields`, or of their first `count` (a head writer: derived fields
 * still come from every field, the ones left out included).
 */
function genWriteFields(ctx: Ctx, fields: readonly FieldSpec[], prefix: string, count = fields.length): string[] {
  const pathOf = (f: FieldSpec): string => (prefix === '' ? f.name : `${prefix}.${f.name}`);
  const lines: string[] = [];
  let k = 0;
  const flush = (): void => {
    if (k > 0) lines.push(`o += ${k};`);
    k = 0;
  };
  for (const f of fields.slice(0, count)) {
    const s = fieldFixedSize(ctx, f);
    if (s !== undefined && f.type !== 'struct') {
      const type = intType(ctx, f);
      const x = `x_${f.name}`;
      if (f.type === 'reserved') {
        if (s <= 4) for (let j = 0; j < s; j++) lines.push(`b[${at(k + j)}] = 0;`);
        else lines.push(`b.fill(0, ${at(k)}, ${at(k + s)});`);
      } else if (f.type === 'bytes') {
        lines.push(
          `if (bytesLength(v.${f.name}, '${pathOf(f)}') !== ${s}) badFixedBytes('${pathOf(f)}', ${s});`,
          `b.set(v.${f.name}, ${at(k)});`,
        );
      } else if (f.type === 'ipv4' || f.type === 'ipv6') {
        lines.push(`write${f.type === 'ipv4' ? 'Ipv4' : 'Ipv6'}(b, ${at(k)}, v.${f.name}, '${pathOf(f)}');`);
      } else if (type === 'u64' || type === 'i64') {
        lines.push(`writeU64(b, ${at(k)}, checkBig(v.${f.name}, ${type === 'i64'}, '${pathOf(f)}'));`);
      } else {
        const source = f.derived !== undefined ? derivedExpr(fields, f, 'v', prefix) : `v.${f.name}`;
        lines.push(`const ${x} = ${source};`);
        // typeof first: a bigint would make the bit operations throw a TypeError.
        lines.push(
          `if (typeof ${x} !== 'number' || ${INT_CHECK[type]?.(x) ?? 'false'}) badInt(${x}, '${type}', '${pathOf(f)}');`,
        );
        lines.push(...writeInt(type, 'o', k, x));
      }
      k += s;
      continue;
    }
    flush();
    switch (f.type) {
      case 'bytes':
        lines.push(`b.set(v.${f.name}, o);`, `o += v.${f.name}.byteLength;`);
        break;
      case 'string':
        lines.push(`o += writeUtf8(b, o, v.${f.name});`);
        break;
      case 'array':
        lines.push(`for (const item of v.${f.name}) o = write${pascal(f.items ?? '')}(item, b, o);`);
        break;
      case 'struct':
        lines.push(`o = write${pascal(f.struct ?? '')}(v.${f.name}, b, o);`);
        break;
      /* c8 ignore next 2 */
      default:
        throw new Error(`unhandled field type ${f.type}`);
    }
  }
  flush();
  lines.push('return o;');
  return lines;
}

/** The name of the last field when it is a variable-length bytes field, else undefined. */
function trailingBytes(ctx: Ctx, fields: readonly FieldSpec[]): string | undefined {
  const last = fields[fields.length - 1];
  return last?.type === 'bytes' && fieldFixedSize(ctx, last) === undefined ? last.name : undefined;
}

/** The text of `encode.ts`. */
export function genEncode(ctx: Ctx): string {
  const { spec } = ctx.model;
  let out = BANNER(spec);
  out +=
    '/**\n * Encoders generated from the spec: header and every body layout. Derived fields\n * (lengths, counts) are computed here, never taken from the caller.\n *\n * @module\n */\n';
  out += "import type * as P from './protocol.js';\n";
  out += '__IMPORTS__';

  out += '/** Writes a header at offset `o` of `b`. */\n';
  const params = spec.header.fields.filter((f) => f.name !== 'magic').map((f) => `${f.name}: number`);
  out += `export function writeHeader(b: Uint8Array, o: number, ${params.join(', ')}): void {\n`;
  let k = 0;
  for (const f of spec.header.fields) {
    const x = f.name === 'magic' ? hex(spec.header.magic, 8) : f.name;
    for (const l of writeInt(f.type, 'o', k, x)) out += `  ${l}\n`;
    k += fixedSize(f.type) ?? 0;
  }
  out += '}\n\n';

  for (const [name, s] of Object.entries(spec.structs)) {
    const P = pascal(name);
    if (structFixedSize(ctx, name) === undefined) {
      out +=
        `function size${P}(v: P.${P}): number {\n` +
        genSizeFields(ctx, s.fields, '')
          .map((l) => `  ${l}`)
          .join('\n') +
        '\n}\n\n';
    }
    out +=
      `function write${P}(v: P.${P}, b: Uint8Array, o: number): number {\n` +
      genWriteFields(ctx, s.fields, '')
        .map((l) => `  ${l}`)
        .join('\n') +
      '\n}\n\n';
  }
  for (const m of ctx.model.messages) {
    const P = pascal(m.name);
    out += `/** Body size of ${m.subtypeSpec.label}; checks every derived length and count fits its field. */\n`;
    const sizeBody = genSizeFields(ctx, m.fields, 'body');
    const param = sizeBody.some((l) => /\bv\./.test(l)) ? 'v' : '_v';
    out +=
      `export function size${P}(${param}: P.${P}Body): number {\n` +
      sizeBody.map((l) => `  ${l}`).join('\n') +
      '\n}\n\n';
    out += `/** Writes the body of ${m.subtypeSpec.label} at \`o\`; returns the offset after it. */\n`;
    out +=
      `export function write${P}(v: P.${P}Body, b: Uint8Array, o: number): number {\n` +
      genWriteFields(ctx, m.fields, 'body')
        .map((l) => `  ${l}`)
        .join('\n') +
      '\n}\n\n';
    const tail = trailingBytes(ctx, m.fields);
    if (tail !== undefined) {
      out += `/** Writes the body of ${m.subtypeSpec.label} at \`o\` but its trailing \`${tail}\`; returns the offset where that goes. */\n`;
      const head = genWriteFields(ctx, m.fields, 'body', m.fields.length - 1);
      const v = head.some((l) => /\bv\./.test(l)) ? 'v' : '_v';
      const b = head.some((l) => /\bb[[.]/.test(l)) ? 'b' : '_b';
      out +=
        `export function write${P}Head(${v}: P.${P}Body, ${b}: Uint8Array, o: number): number {\n` +
        head.map((l) => `  ${l}`).join('\n') +
        '\n}\n\n';
    }
  }
  out +=
    '/** Body encoder of a message: its numbers, a sizer and a writer. */\nexport interface BodyEncoder<N extends P.MessageName> {\n  readonly type: number;\n  readonly subtype: number;\n  readonly size: (v: P.MessageBodies[N]) => number;\n  readonly write: (v: P.MessageBodies[N], b: Uint8Array, o: number) => number;\n' +
    '  /**\n   * For a body that ends with a variable-length bytes field: its name, and a writer of\n   * everything before it (derived lengths included) that returns where it goes. What lets a\n   * sender write the header and a large payload without copying the payload.\n   */\n' +
    '  readonly tail?: {\n    readonly field: string;\n    readonly writeHead: (v: P.MessageBodies[N], b: Uint8Array, o: number) => number;\n  };\n}\n\n';
  out +=
    '/** Body encoders by qualified message name. */\nexport const BODY_ENCODERS: { readonly [N in P.MessageName]: BodyEncoder<N> } = {\n';
  for (const m of ctx.model.messages) {
    const P = pascal(m.name);
    const tail = trailingBytes(ctx, m.fields);
    const tailEntry = tail === undefined ? '' : `, tail: { field: '${tail}', writeHead: write${P}Head }`;
    out += `  '${m.name}': { type: ${hex(m.type)}, subtype: ${hex(m.subtype)}, size: size${P}, write: write${P}${tailEntry} },\n`;
  }
  out += '};\n';
  return withRuntimeImports(out, [
    'arrayItems',
    'badFixedBytes',
    'badInt',
    'bytesLength',
    'checkBig',
    'utf8Length',
    'writeIpv4',
    'writeIpv6',
    'writeU64',
    'writeUtf8',
  ]);
}
