/**
 * A copy of the package's sources whose generated codec comes from an edited copy of the
 * spec: the one way to see that a change to the protocol is a change to the spec only. The
 * spec, codec and reference-impl sources are copied into a temporary folder, the spec edited
 * and validated, the codec regenerated there from it (unformatted: tsx does not care), and
 * modules are imported from the copy.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateCodec } from '../../codec/src/generator.js';
import { loadSpec, packageRoot, validateSpec, type ProtocolSpec } from '../../spec/src/index.js';

/** The bundled spec as plain, writable JSON. */
export type SpecJson = ReturnType<typeof specJson>;

const specJson = (): ProtocolSpec & Record<string, unknown> =>
  JSON.parse(JSON.stringify(loadSpec())) as ProtocolSpec & Record<string, unknown>;

/** A subtype of the spec copy, by qualified name, for editing. */
export function subtypeOf(
  spec: SpecJson,
  name: string,
): Record<string, unknown> & { fields: Record<string, unknown>[] } {
  const [type, subtype] = name.split('.');
  const s = spec.messages.find((m) => m.name === type)?.subtypes.find((x) => x.name === subtype);
  if (s === undefined) throw new Error(`no message ${name}`);
  return s as unknown as Record<string, unknown> & { fields: Record<string, unknown>[] };
}

/**
 * The bundled spec edited by `edit`, validated.
 *
 * @throws SpecError when the edited spec is not valid.
 */
export function editedSpec(edit: (spec: SpecJson) => void): ProtocolSpec {
  const data = specJson();
  edit(data);
  return validateSpec(data, '<edited copy>');
}

/**
 * The protocol change the link and dissector tests make in a copy of the spec: ECHO-REQUEST
 * becomes a handshake message, and HELLO's channel field is renamed `carrier` (its handshake
 * mark follows). The bytes stay as they were.
 */
export function moveHandshakeRules(spec: SpecJson): void {
  subtypeOf(spec, 'control.echoRequest').handshake = {};
  const hello = subtypeOf(spec, 'control.hello');
  const channel = hello.fields.find((f) => f.name === 'channel');
  if (channel === undefined) throw new Error('HELLO has no channel field');
  channel.name = 'carrier';
  hello.handshake = { channelField: 'carrier' };
}

/** A source tree generated from an edited spec. */
export interface SpecCopy {
  /** The edited, validated spec. */
  readonly spec: ProtocolSpec;
  /** Imports a module of the copy by its path from the package root (`reference-impl/src/link.ts`). */
  load<T>(path: string): Promise<T>;
  /** Removes the copy. */
  remove(): void;
}

/**
 * Builds a source tree whose codec is generated from the bundled spec as `edit` changes it.
 *
 * @throws SpecError when the edited spec is not valid.
 */
export function specCopy(edit: (spec: SpecJson) => void): SpecCopy {
  const spec = editedSpec(edit);
  const root = packageRoot();
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-spec-copy-'));
  for (const folder of ['spec/src', 'codec/src', 'reference-impl/src'])
    cpSync(join(root, folder), join(dir, folder), { recursive: true });
  cpSync(join(root, 'spec', 'kkcm.spec.schema.json'), join(dir, 'spec', 'kkcm.spec.schema.json'));
  writeFileSync(join(dir, 'spec', 'kkcm.spec.json'), JSON.stringify(spec, null, 2));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'codec', 'src', 'gen'), { recursive: true });
  for (const [name, text] of generateCodec(spec)) writeFileSync(join(dir, 'codec', 'src', 'gen', name), text);
  return {
    spec,
    load: async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dir, path)).href)) as T,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
