/**
 * Writes `codec/src/gen/decode.ts`: the header readers and one decoder per body layout,
 * fixed-size runs of fields checked once and read at constant offsets.
 *
 * @module
 */
import { fixedSize, type FieldSpec, type ProtocolSpec } from '../../spec/src/index.js';
import {
  at,
  BANNER,
  fieldFixedSize,
  hex,
  intType,
  isValueField,
  off,
  pascal,
  structFixedSize,
  withRuntimeImports,
  type Ctx,
} from './generator-support.js';

function readExpr(type: string, base: string, k: number): string {
  const byte = (j: number): string => `b[${off(base, k + j)}]!`;
  switch (type) {
    case 'u8':
      return byte(0);
    case 'i8':
      return `(${byte(0)} << 24) >> 24`;
    case 'u16':
      return `(${byte(0)} << 8) | ${byte(1)}`;
    case 'i16':
      return `((${byte(0)} << 24) | (${byte(1)} << 16)) >> 16`;
    case 'u32':
      return `((${byte(0)} << 24) | (${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}) >>> 0`;
    case 'i32':
      return `(${byte(0)} << 24) | (${byte(1)} << 16) | (${byte(2)} << 8) | ${byte(3)}`;
    case 'u64':
      return `readU64(b, ${off(base, k)})`;
    case 'i64':
      return `readI64(b, ${off(base, k)})`;
    case 'ipv4':
      return `readIpv4(b, ${off(base, k)})`;
    case 'ipv6':
      return `readIpv6(b, ${off(base, k)})`;
    /* c8 ignore next 2 */
    default:
      throw new Error(`no reader for ${type}`);
  }
}

/** Emits the body of a decode function for a field list; returns lines. */
function genDecodeFields(ctx: Ctx, fields: readonly FieldSpec[], prefix: string, topLevel: boolean): string[] {
  const lines: string[] = [];
  const pathOf = (f: FieldSpec): string => (prefix === '' ? f.name : `${prefix}.${f.name}`);
  let i = 0;
  while (i < fields.length) {
    // A run of fixed-size fields: one bounds check, then reads at constant offsets.
    const run: FieldSpec[] = [];
    while (i < fields.length && fieldFixedSize(ctx, fields[i]!) !== undefined && fields[i]!.type !== 'struct')
      run.push(fields[i++]!);
    if (run.length > 0) {
      const sizes = run.map((f) => fieldFixedSize(ctx, f) ?? 0);
      const total = sizes.reduce((a, s) => a + s, 0);
      lines.push(
        `if (end - o < ${total}) truncated(o, end, [${sizes.join(', ')}], [${run.map((f) => `'${pathOf(f)}'`).join(', ')}]);`,
      );
      let k = 0;
      for (const f of run) {
        const size = sizes[run.indexOf(f)] ?? 0;
        if (f.type === 'reserved') {
          const cond =
            size <= 4
              ? Array.from({ length: size }, (_, j) => `b[${at(k + j)}] !== 0`).join(' || ')
              : `!allZero(b, ${at(k)}, ${at(k + size)})`;
          lines.push(`if (${cond}) reservedNonzero('${pathOf(f)}', ${at(k)});`);
        } else if (f.type === 'bytes') {
          lines.push(`const f_${f.name} = b.subarray(${at(k)}, ${at(k + size)});`);
        } else {
          lines.push(`const f_${f.name} = ${readExpr(intType(ctx, f), 'o', k)};`);
        }
        k += size;
      }
      lines.push(`o += ${total};`);
      continue;
    }
    const f = fields[i++]!;
    const path = pathOf(f);
    switch (f.type) {
      case 'bytes':
        if (f.rest === true) {
          lines.push(`const f_${f.name} = b.subarray(o, end);`, 'o = end;');
        } else {
          lines.push(`if (end - o < f_${f.length ?? ''}) badLength('${path}', o, f_${f.length ?? ''}, end);`);
          lines.push(`const f_${f.name} = b.subarray(o, o + f_${f.length ?? ''});`, `o += f_${f.length ?? ''};`);
        }
        break;
      case 'string':
        lines.push(`if (end - o < f_${f.length ?? ''}) badLength('${path}', o, f_${f.length ?? ''}, end);`);
        lines.push(
          `const f_${f.name} = readUtf8(b, o, o + f_${f.length ?? ''}, '${path}');`,
          `o += f_${f.length ?? ''};`,
        );
        break;
      case 'array': {
        const item = f.items ?? '';
        const itemSize = structFixedSize(ctx, item) ?? ctx.model.minSize(ctx.model.struct(item).fields);
        const count = `f_${f.count ?? ''}`;
        if (itemSize > 0) lines.push(`if (${count} * ${itemSize} > end - o) badCount('${path}', o, ${count}, end);`);
        else lines.push(`if (${count} > end - o) badCount('${path}', o, ${count}, end);`);
        lines.push(`const f_${f.name} = new Array<P.${pascal(item)}>(${count});`);
        lines.push(`for (let i = 0; i < ${count}; i++) {`);
        lines.push(
          `  try {`,
          `    f_${f.name}[i] = decode${pascal(item)}(b, o, end);`,
          `  } catch (err) {`,
          `    throw withPathPrefix(err, \`${path}[\${i}]\`);`,
          '  }',
          '  o = cursor;',
          '}',
        );
        break;
      }
      case 'struct': {
        const s = f.struct ?? '';
        lines.push(
          `let f_${f.name}: ${pascal(s)};`,
          'try {',
          `  f_${f.name} = decode${pascal(s)}(b, o, end);`,
          '} catch (err) {',
          `  throw withPathPrefix(err, '${path}');`,
          '}',
          'o = cursor;',
        );
        break;
      }
      /* c8 ignore next 2 */
      default:
        throw new Error(`unhandled field type ${f.type}`);
    }
  }
  if (topLevel) lines.push('if (o !== end) trailing(o, end);');
  else lines.push('cursor = o;');
  const value = fields.filter(isValueField).map((f) => `${f.name}: f_${f.name}`);
  lines.push(`return { ${value.join(', ')} };`);
  return lines;
}

/** The text of `decode.ts`. */
export function genDecode(ctx: Ctx): string {
  const { spec } = ctx.model;
  let out = BANNER(spec);
  out += '/**\n * Decoders generated from the spec: header fields and every body layout.\n *\n * @module\n */\n';
  out += "import type * as P from './protocol.js';\n";
  out += '__IMPORTS__';
  out += '// Set by struct decoders: the offset just past the struct they read.\nlet cursor = 0;\n\n';

  out +=
    '/**\n * Reads the header fields at offset `o` of `b` (which holds at least HEADER_SIZE bytes there).\n * Checks nothing: see `checkHeaderAt` for the checks.\n */\n';
  out += 'export function readHeader(b: Uint8Array, o: number): P.Header {\n';
  let k = 0;
  const hf: string[] = [];
  for (const f of spec.header.fields) {
    if (f.name !== 'magic') hf.push(`${f.name}: ${readExpr(f.type, 'o', k)}`);
    k += fixedSize(f.type) ?? 0;
  }
  out += `  return {\n    ${hf.join(',\n    ')},\n  };\n}\n\n`;
  out += '/** Reads the magic field of the header at offset `o` of `b`. */\n';
  out += `export function readMagic(b: Uint8Array, o: number): number {\n  return ${readExpr('u32', 'o', 0)};\n}\n\n`;
  out += '/** Reads the length field of the header at offset `o` of `b`. */\n';
  const lengthOffset = offsetOf(spec, 'length');
  out += `export function readLength(b: Uint8Array, o: number): number {\n  return ${readExpr('u32', 'o', lengthOffset)};\n}\n\n`;

  for (const [name, s] of Object.entries(spec.structs)) {
    out += `function decode${pascal(name)}(b: Uint8Array, o: number, end: number): P.${pascal(name)} {\n`;
    out +=
      genDecodeFields(ctx, s.fields, '', false)
        .map((l) => `  ${l}`)
        .join('\n') + '\n}\n\n';
  }
  for (const m of ctx.model.messages) {
    out += `/** Decodes the body of ${m.subtypeSpec.label} (type ${hex(m.type)}, subtype ${hex(m.subtype)}) in \`b[o, end)\`. */\n`;
    out += `export function decode${pascal(m.name)}(b: Uint8Array, o: number, end: number): P.${pascal(m.name)}Body {\n`;
    out +=
      genDecodeFields(ctx, m.fields, 'body', true)
        .map((l) => `  ${l}`)
        .join('\n') + '\n}\n\n';
  }
  out +=
    '/**\n * Decodes the body of the known message whose header is at offset `o` of `b`: the body runs\n * from `o + HEADER_SIZE` to `end`. Bytes fields are views into `b`; error offsets are\n * relative to `b`. Returns undefined when the type or subtype is not in the spec.\n */\n';
  out +=
    'export function decodeKnown(header: P.Header, b: Uint8Array, o: number, end: number): P.KnownMessage | undefined {\n';
  out += '  switch ((header.type << 8) | header.subtype) {\n';
  for (const m of ctx.model.messages) {
    out += `    case ${hex((m.type << 8) | m.subtype, 4)}:\n      return { name: '${m.name}', header, body: decode${pascal(m.name)}(b, o + ${spec.header.size}, end) };\n`;
  }
  out += '    default:\n      return undefined;\n  }\n}\n';
  return withRuntimeImports(out, [
    'allZero',
    'badCount',
    'badLength',
    'readI64',
    'readIpv4',
    'readIpv6',
    'readU64',
    'readUtf8',
    'reservedNonzero',
    'trailing',
    'truncated',
    'withPathPrefix',
  ]);
}

function offsetOf(spec: ProtocolSpec, field: string): number {
  let k = 0;
  for (const f of spec.header.fields) {
    if (f.name === field) return k;
    k += fixedSize(f.type) ?? 0;
  }
  /* c8 ignore next */
  throw new Error(`no header field ${field}`);
}
