/**
 * TypeScript types generated from the two published JSON Schemas, so the types cannot drift
 * from what the schemas accept: `spec/kkcm.spec.schema.json` → `spec/src/gen/spec-types.ts`
 * and `conformance/report.schema.json` → `conformance/src/gen/report-types.ts`.
 *
 * json-schema-to-typescript does the translation. Around it, three steps make the output read
 * like the hand-written types it replaces:
 * - a `$ref` to an untitled definition that is not an object (`identifier`, `doc`, `u8`…) is
 *   inlined, so a property reads `name: string` rather than `name: Identifier`; a definition
 *   with a `title` keeps its name (the titles are the exported type names);
 * - every property, index signature and array is made `readonly`: a loaded spec and a report
 *   are values to read, never to change;
 * - the text goes through prettier with the repository's configuration.
 *
 * Schemas without `additionalProperties` get none, and a schema without a type is `unknown`,
 * never `any`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { format, resolveConfig } from 'prettier';
import ts from 'typescript';
import { packageRoot } from '../../spec/src/index.js';

/** One generated file: where its schema is, where it goes, and the name of its root type. */
interface SchemaTypes {
  readonly schema: string;
  readonly folder: string;
  readonly file: string;
  /** The root schema's `title` is for people; the root type is named this instead. */
  readonly rootName: string;
}

const TARGETS: readonly SchemaTypes[] = [
  { schema: 'spec/kkcm.spec.schema.json', folder: 'spec/src/gen', file: 'spec-types.ts', rootName: 'ProtocolSpec' },
  {
    schema: 'conformance/report.schema.json',
    folder: 'conformance/src/gen',
    file: 'report-types.ts',
    rootName: 'ConformanceReport',
  },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DEFS = '#/$defs/';

/** Conditional keywords: json-schema-to-typescript has no form for them. */
const CONDITIONAL = ['if', 'then', 'else'];

/**
 * Keywords left out: `$defs` (the titled ones are passed on by name), and array bounds, which
 * would only come out as `@minItems` tags that TSDoc does not know.
 */
const IGNORED = ['$defs', 'minItems', 'maxItems'];

/** Keywords that say what a value is; a schema with none of them accepts anything. */
const TYPING = ['type', '$ref', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', 'properties', 'items', 'tsType'];

/**
 * The schema as json-schema-to-typescript should see it, the titled schemas collected in
 * `named` (title → schema), each to become one exported type:
 * - a `$ref` to an untitled definition is replaced by the definition, so a property reads
 *   `name: string` rather than `name: Identifier`;
 * - a `$ref` to a titled definition, and a titled schema written in place as a property,
 *   become `tsType: <title>`, so the property keeps a description of its own and the type its
 *   name (json-schema-to-typescript would otherwise emit a `$ref` with a sibling description
 *   again as `<title>1`, and leave a titled property undocumented);
 * - a schema that accepts anything is `unknown`;
 * - `if`/`then`/`else` (which properties a field type allows, what a conforming report
 *   implies) have no TypeScript form and are dropped, as are array bounds; the schema still
 *   enforces them.
 */
function prepared(node: Json, defs: { [key: string]: Json }, named: Map<string, Json>): Json {
  if (Array.isArray(node)) return node.map((item) => prepared(item, defs, named));
  if (!isObject(node)) return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) {
    if (CONDITIONAL.includes(key) || IGNORED.includes(key)) continue;
    if (key === 'properties' && isObject(value)) out[key] = preparedProperties(value, defs, named);
    else if (key === 'allOf' && Array.isArray(value)) {
      const kept = value.filter(
        (member) => !isObject(member) || !Object.keys(member).every((k) => CONDITIONAL.includes(k)),
      );
      if (kept.length > 0) out[key] = prepared(kept, defs, named);
    } else out[key] = prepared(value, defs, named);
  }
  if (!TYPING.some((keyword) => keyword in out)) out['tsType'] = 'unknown';
  const ref = node['$ref'];
  if (typeof ref !== 'string') return out;
  if (!ref.startsWith(DEFS)) throw new Error(`only local $defs references are supported: ${ref}`);
  const target = defs[ref.slice(DEFS.length)];
  if (!isObject(target)) throw new Error(`unresolved ${ref}`);
  const { $ref: _ref, tsType: _unknown, ...site } = out;
  // The referencing site's own keywords (its description above all) win over the definition's.
  if (typeof target['title'] !== 'string')
    return { ...(prepared(target, defs, named) as { [key: string]: Json }), ...site };
  if (!named.has(target['title'])) named.set(target['title'], prepared(target, defs, named));
  return { tsType: target['title'], ...site };
}

/** A `properties` map: a titled schema written in place becomes its own type. */
function preparedProperties(
  properties: { [key: string]: Json },
  defs: { [key: string]: Json },
  named: Map<string, Json>,
): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (isObject(schema) && typeof schema['title'] === 'string' && !('$ref' in schema)) {
      named.set(schema['title'], prepared(schema, defs, named));
      out[name] = {
        tsType: schema['title'],
        ...(schema['description'] === undefined ? {} : { description: schema['description'] }),
      };
    } else out[name] = prepared(schema, defs, named);
  }
  return out;
}

/** The types json-schema-to-typescript writes for one schema, before readonly and prettier. */
async function compiledTypes(target: SchemaTypes): Promise<string> {
  const schema = JSON.parse(readFileSync(join(packageRoot(), target.schema), 'utf8')) as { [key: string]: Json };
  const defs = isObject(schema['$defs']) ? schema['$defs'] : {};
  const named = new Map<string, Json>();
  const root: { [key: string]: Json } = {
    ...(prepared(schema, defs, named) as { [key: string]: Json }),
    title: target.rootName,
  };
  // Set after preparing the root, which fills `named`.
  root['$defs'] = Object.fromEntries(named);
  return compile(root as JSONSchema, target.rootName, {
    bannerComment: '',
    additionalProperties: false,
    unknownAny: true,
    strictIndexSignatures: false,
    unreachableDefinitions: true,
    format: false,
    cwd: join(packageRoot(), target.folder),
  });
}

/** Makes every property signature, index signature and array type of the source readonly. */
function readonlyEverywhere(source: string): string {
  const file = ts.createSourceFile('types.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const readonly = ts.factory.createModifier(ts.SyntaxKind.ReadonlyKeyword);
  const transformer: ts.TransformerFactory<ts.SourceFile> = (context) => {
    const visit = (node: ts.Node): ts.Node => {
      const next = ts.visitEachChild(node, visit, context);
      if (ts.isPropertySignature(next) && !next.modifiers?.some((m) => m.kind === ts.SyntaxKind.ReadonlyKeyword))
        return ts.factory.updatePropertySignature(
          next,
          [readonly, ...(next.modifiers ?? [])],
          next.name,
          next.questionToken,
          next.type,
        );
      if (ts.isIndexSignatureDeclaration(next))
        return ts.factory.updateIndexSignature(next, [readonly], next.parameters, next.type);
      if (ts.isArrayTypeNode(next) && !ts.isTypeOperatorNode(node.parent))
        return ts.factory.createTypeOperatorNode(ts.SyntaxKind.ReadonlyKeyword, next);
      return next;
    };
    return (root) => ts.visitNode(root, visit) as ts.SourceFile;
  };
  const [result] = ts.transform(file, [transformer]).transformed;
  return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(result!);
}

/** Folder → (file name → formatted text) for every generated schema types file. */
export async function schemaTypes(): Promise<[string, Map<string, string>][]> {
  const out: [string, Map<string, string>][] = [];
  for (const target of TARGETS) {
    const banner =
      `// Generated from ${target.schema} by codec/tools/schema-types.ts (npm run generate).\n` +
      '// Do not edit: change the schema and regenerate.\n\n';
    // json-schema-to-typescript's note on where a definition came from says nothing to a reader of the types.
    const compiled = (await compiledTypes(target)).replace(
      /\n[ \t]*\*[ \t]*\n[ \t]*\* This interface was referenced by `\w+`'s JSON-Schema\n[ \t]*\* via the `definition` "\w+"\./g,
      '',
    );
    const text = banner + readonlyEverywhere(compiled);
    const filepath = join(packageRoot(), target.folder, target.file);
    const options = (await resolveConfig(filepath)) ?? {};
    out.push([target.folder, new Map([[target.file, await format(text, { ...options, filepath })]])]);
  }
  return out;
}
