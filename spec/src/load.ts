/**
 * Loads a spec file: JSON Schema validation with ajv, then the cross-reference rules a
 * schema cannot express. Every load is validated; nothing reads an unchecked spec.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { defaultSpecPath, specSchemaPath } from './paths.js';
import { SpecError, type SpecViolation } from './spec-error.js';
import type { FieldSpec, ProtocolSpec } from './types.js';

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validator: Validator | undefined;

function schemaValidator(): Validator {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false });
    const schema = JSON.parse(readFileSync(specSchemaPath(), 'utf8')) as object;
    validator = ajv.compile(schema);
  }
  return validator;
}

const INTEGER_BITS: Readonly<Record<string, number>> = {
  u8: 8,
  u16: 16,
  u32: 32,
  u64: 64,
  i8: 8,
  i16: 16,
  i32: 32,
  i64: 64,
};

/** Byte size of an integer or fixed field type, or undefined for variable-size types. */
export function fixedSize(type: string): number | undefined {
  const bits = INTEGER_BITS[type];
  if (bits !== undefined) return bits / 8;
  if (type === 'ipv4') return 4;
  if (type === 'ipv6') return 16;
  return undefined;
}

function schemaViolations(errors: readonly ErrorObject[]): SpecViolation[] {
  // `if` keywords only say which branch failed; the real reason is reported beside them.
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => ({
      path: e.instancePath,
      rule: `${e.keyword} (${e.schemaPath})`,
      message: e.message ?? 'invalid',
    }));
}

/** Checks the rules a JSON Schema cannot express. Returns every violation found. */
export function crossReferenceViolations(spec: ProtocolSpec): SpecViolation[] {
  const out: SpecViolation[] = [];
  const fail = (path: string, rule: string, message: string): void => {
    out.push({ path, rule, message });
  };
  const unique = <T>(items: readonly T[], key: (t: T) => string | number, path: string, what: string): void => {
    const seen = new Set<string | number>();
    items.forEach((item, i) => {
      const k = key(item);
      if (seen.has(k)) fail(`${path}/${i}`, 'unique', `duplicate ${what} ${String(k)}`);
      seen.add(k);
    });
  };

  const headerBytes = spec.header.fields.reduce((n, f) => n + (fixedSize(f.type) ?? 0), 0);
  if (headerBytes !== spec.header.size)
    fail('/header/size', 'header-size', `header fields take ${headerBytes} bytes, size says ${spec.header.size}`);
  const { min, max, current } = spec.protocolVersions;
  if (!(min <= current && current <= max))
    fail('/protocolVersions', 'version-range', 'min <= current <= max does not hold');
  spec.flags.forEach((f, i) => {
    if (f.mask !== 1 << f.bit) fail(`/flags/${i}/mask`, 'flag-mask', `mask must be 1 << bit (${1 << f.bit})`);
  });
  unique(spec.flags, (f) => f.bit, '/flags', 'flag bit');
  unique(spec.flags, (f) => f.name, '/flags', 'flag name');
  unique(spec.channels, (c) => c.name, '/channels', 'channel');
  unique(spec.channels, (c) => c.id, '/channels', 'channel id');
  unique(spec.clients, (c) => c.name, '/clients', 'client');
  unique(spec.clients, (c) => c.id, '/clients', 'client id');
  unique(spec.features, (f) => f.bit, '/features', 'feature bit');
  unique(spec.errors, (e) => e.code, '/errors', 'error code');
  unique(spec.errors, (e) => e.value, '/errors', 'error value');
  unique(spec.requirements, (r) => r.id, '/requirements', 'requirement id');
  unique(spec.messages, (m) => m.type, '/messages', 'message type');
  unique(spec.messages, (m) => m.name, '/messages', 'message name');

  for (const [name, e] of Object.entries(spec.enums)) {
    const limit = 2 ** Number(e.base.slice(1));
    e.values.forEach((v, i) => {
      if (v.value >= limit) fail(`/enums/${name}/values/${i}/value`, 'enum-range', `${v.value} does not fit ${e.base}`);
    });
    unique(e.values, (v) => v.value, `/enums/${name}/values`, 'enum value');
    unique(e.values, (v) => v.name, `/enums/${name}/values`, 'enum name');
  }

  for (const key of ['headerSize', 'defaultMaxMessage', 'minMaxMessage', 'absoluteMaxMessage']) {
    if (spec.limits[key] === undefined) fail('/limits', 'required-limit', `limit ${key} is missing`);
  }
  for (const key of ['handshakeTimeoutMs', 'reconnectInitialMs', 'reconnectMaxMs', 'periodicMs']) {
    if (spec.timers[key] === undefined) fail('/timers', 'required-timer', `timer ${key} is missing`);
  }
  if (spec.limits.headerSize !== undefined && spec.limits.headerSize.value !== spec.header.size) {
    fail('/limits/headerSize/value', 'header-size', 'limits.headerSize must equal header.size');
  }

  const checkFields = (fields: readonly FieldSpec[], path: string, structStack: readonly string[]): void => {
    unique(fields, (f) => f.name, path, 'field name');
    const byName = new Map(fields.map((f, i) => [f.name, { f, i }]));
    fields.forEach((f, i) => {
      const at = `${path}/${i}`;
      if (f.type === 'enum' && (f.enum === undefined || spec.enums[f.enum] === undefined))
        fail(`${at}/enum`, 'enum-ref', `unknown enum ${String(f.enum)}`);
      if (f.type === 'bytes' && f.rest === true && i !== fields.length - 1)
        fail(at, 'rest-last', 'a rest field must be the last field');
      const structName = f.type === 'array' ? f.items : f.type === 'struct' ? f.struct : undefined;
      if (structName !== undefined) {
        const s = spec.structs[structName];
        if (s === undefined) fail(at, 'struct-ref', `unknown struct ${structName}`);
        else if (structStack.includes(structName)) fail(at, 'struct-cycle', `struct ${structName} contains itself`);
        else checkFields(s.fields, `/structs/${structName}/fields`, [...structStack, structName]);
      }
      const ref = f.type === 'array' ? f.count : f.type === 'bytes' || f.type === 'string' ? f.length : undefined;
      if (ref !== undefined) {
        const target = byName.get(ref);
        const wanted = f.type === 'array' ? 'countOf' : 'lengthOf';
        if (target === undefined || target.i >= i) fail(at, 'derived-before', `${ref} must be an earlier field`);
        else if (target.f.derived?.[wanted] !== f.name)
          fail(at, 'derived-pair', `${ref} must declare derived.${wanted} = ${f.name}`);
      }
      if (f.derived !== undefined) {
        const targetName = f.derived.lengthOf ?? f.derived.countOf ?? '';
        const target = byName.get(targetName);
        const back =
          target === undefined ? undefined : f.derived.countOf !== undefined ? target.f.count : target.f.length;
        if (target === undefined || back !== f.name)
          fail(`${at}/derived`, 'derived-pair', `${targetName} must refer back to ${f.name}`);
      }
    });
  };

  const clientNames = new Set(spec.clients.map((c) => c.name));
  const qualified = new Set<string>();
  spec.messages.forEach((m, mi) => {
    if (!clientNames.has(m.client)) fail(`/messages/${mi}/client`, 'client-ref', `unknown client ${m.client}`);
    unique(m.subtypes, (s) => s.subtype, `/messages/${mi}/subtypes`, 'subtype');
    m.subtypes.forEach((s, si) => {
      const q = `${m.name}.${s.name}`;
      if (qualified.has(q)) fail(`/messages/${mi}/subtypes/${si}/name`, 'unique', `duplicate message ${q}`);
      qualified.add(q);
      checkFields(s.fields, `/messages/${mi}/subtypes/${si}/fields`, []);
      const at = `/messages/${mi}/subtypes/${si}/handshake`;
      const channelField = s.handshake?.channelField;
      if (channelField !== undefined) {
        const f = s.fields.find((x) => x.name === channelField);
        if (f?.type !== 'enum' || f.enum !== 'channel')
          fail(`${at}/channelField`, 'handshake-field', `${channelField} must be a field of ${q} of enum channel`);
      }
      const versionField = s.handshake?.versionField;
      if (versionField !== undefined && s.fields.find((x) => x.name === versionField)?.type !== 'u8')
        fail(`${at}/versionField`, 'handshake-field', `${versionField} must be a u8 field of ${q}`);
    });
  });
  return out;
}

/**
 * Validates an already parsed spec object.
 *
 * @param data - parsed JSON.
 * @param source - name used in error messages (a file path or `<inline>`).
 * @returns the same object, typed.
 * @throws {@link SpecError} with every violation, each naming the path and the rule.
 */
export function validateSpec(data: unknown, source = '<inline>'): ProtocolSpec {
  const validate = schemaValidator();
  if (!validate(data)) throw new SpecError(source, schemaViolations(validate.errors ?? []));
  const spec = data as ProtocolSpec;
  const violations = crossReferenceViolations(spec);
  if (violations.length > 0) throw new SpecError(source, violations);
  return spec;
}

const cache = new Map<string, ProtocolSpec>();

/**
 * Reads and validates a spec file. The bundled spec is used when `path` is omitted.
 * Results are cached per path.
 *
 * @throws {@link SpecError} when the file is not JSON or breaks the schema or a rule.
 */
export function loadSpec(path: string = defaultSpecPath()): ProtocolSpec {
  const hit = cache.get(path);
  if (hit !== undefined) return hit;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SpecError(path, [{ path: '', rule: 'json', message: (err as Error).message }]);
  }
  const spec = validateSpec(data, path);
  cache.set(path, spec);
  return spec;
}
