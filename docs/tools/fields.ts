/**
 * A body layout (a list of spec fields) as a bit diagram and as a field table with offset,
 * size, type and meaning.
 *
 * @module
 */
import { fixedSize, type FieldSpec, type SpecModel } from '../../spec/src/index.js';
import { renderDiagram, type DiagramField } from './bit-diagram.js';
import { cFieldIdent, cMember } from '../../codec/tools/c/c-names.js';
import { code, enumAnchor, raw, table } from './markdown.js';

/** Anchor id of a struct in protocol.md. */
export function structAnchor(name: string): string {
  return `struct-${name.toLowerCase()}`;
}

/** Size in bytes of a field whose size does not depend on the body, else undefined. */
export function fieldFixedSize(model: SpecModel, f: FieldSpec): number | undefined {
  if (f.type === 'enum') return fixedSize(model.enumBase(f));
  const fixed = fixedSize(f.type);
  if (fixed !== undefined) return fixed;
  if (f.type === 'reserved') return f.size;
  if (f.type === 'bytes') return f.rest === true ? undefined : f.size;
  if (f.type === 'struct') return fixedLayoutSize(model, model.struct(f.struct ?? '').fields);
  return undefined;
}

/** Size in bytes of a layout whose fields are all fixed, else undefined. */
export function fixedLayoutSize(model: SpecModel, fields: readonly FieldSpec[]): number | undefined {
  let n = 0;
  for (const f of fields) {
    const size = fieldFixedSize(model, f);
    if (size === undefined) return undefined;
    n += size;
  }
  return n;
}

/** How long a variable field is, in words. */
function variableSize(model: SpecModel, f: FieldSpec): string {
  if (f.type === 'bytes' && f.rest === true) return 'rest of the message';
  if (f.type === 'bytes') return `${f.length ?? '?'} bytes`;
  if (f.type === 'string') return `${f.length ?? '?'} bytes, UTF-8`;
  if (f.type === 'array') {
    const item = fixedLayoutSize(model, model.struct(f.items ?? '').fields);
    return `${f.count ?? '?'} items of ${f.items ?? '?'}${item !== undefined ? `, ${item} bytes each` : ''}`;
  }
  return 'variable';
}

/** The fields of a layout as diagram boxes. */
export function diagramFields(model: SpecModel, fields: readonly FieldSpec[]): DiagramField[] {
  return fields.map((f) => {
    const size = fieldFixedSize(model, f);
    return size !== undefined ? { label: f.name, bits: size * 8 } : { label: f.name, variable: variableSize(model, f) };
  });
}

/** The RFC-style diagram of a layout, as a fenced block (with footnotes for long labels). */
export function diagramBlock(model: SpecModel, fields: readonly FieldSpec[]): string {
  if (fields.length === 0) return '_Empty body: the message is the header alone._';
  const d = renderDiagram(diagramFields(model, fields));
  const notes = d.notes.length > 0 ? ['', ...d.notes] : [];
  return ['```text', ...d.lines, ...notes, '```'].join('\n');
}

/** A field's type, with links to enum and struct tables of protocol.md. */
function typeText(model: SpecModel, f: FieldSpec): string {
  switch (f.type) {
    case 'enum':
      return `[${f.enum ?? '?'}](#${enumAnchor(f.enum ?? '')}) (${model.enumBase(f)})`;
    case 'bytes':
      return f.size !== undefined ? `bytes[${f.size}]` : 'bytes';
    case 'string':
      return 'string (UTF-8)';
    case 'reserved':
      return `reserved[${f.size ?? 0}]`;
    case 'array':
      return `array of [${f.items ?? '?'}](#${structAnchor(f.items ?? '')})`;
    case 'struct':
      return `[${f.struct ?? '?'}](#${structAnchor(f.struct ?? '')})`;
    default:
      return f.type;
  }
}

/** A field's meaning: its doc, plus what the layout language adds (derived, reserved). */
function meaning(f: FieldSpec): string {
  const extra: string[] = [];
  if (f.derived?.lengthOf !== undefined)
    extra.push(`Derived: byte length of ${code(f.derived.lengthOf)}, filled in on encode and checked on decode.`);
  if (f.derived?.countOf !== undefined)
    extra.push(`Derived: item count of ${code(f.derived.countOf)}, filled in on encode and checked on decode.`);
  if (f.type === 'reserved') extra.push('Sent as zero; a non-zero byte is ERR_RESERVED_NONZERO.');
  if (f.type === 'enum') extra.push('Unknown values are kept as numbers.');
  return [f.doc, ...extra].join(' ');
}

/**
 * The field table of a layout: byte offset from the start of the layout (unknown after the
 * first variable field), size, field, type, meaning, source (design section or kkcm addition).
 */
export function fieldTable(model: SpecModel, fields: readonly FieldSpec[], owner?: string): string {
  let offset: number | undefined = 0;
  const rows = fields.map((f) => {
    const size = fieldFixedSize(model, f);
    const at = offset === undefined ? 'variable' : String(offset);
    offset = offset === undefined || size === undefined ? undefined : offset + size;
    return [
      at,
      size !== undefined ? String(size) : variableSize(model, f),
      raw(code(f.name)),
      raw(typeText(model, f)),
      meaning(f),
      f.source,
      ...(owner !== undefined ? [cIdentifier(fields, f, owner)] : []),
    ];
  });
  return table(['Offset', 'Size', 'Field', 'Type', 'Meaning', 'Source', ...(owner !== undefined ? ['C'] : [])], rows);
}

/**
 * The C identifier of a field in the generated C codec (`codec/c/gen/kkcm.h`): the struct member,
 * or for a derived field the member it is computed from; none for a reserved field.
 */
function cIdentifier(fields: readonly FieldSpec[], f: FieldSpec, owner: string): ReturnType<typeof raw> | string {
  if (f.type === 'reserved') return '—';
  const target = f.derived?.lengthOf ?? f.derived?.countOf;
  if (target !== undefined) {
    const t = fields.find((x) => x.name === target);
    return raw(`derived: ${code(`${cMember(target)}.${t?.type === 'array' ? 'count' : 'len'}`)}`);
  }
  return raw(code(cFieldIdent(owner, f.name)));
}
