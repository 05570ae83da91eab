/**
 * The golden vectors: valid and invalid byte streams as hex, a note per field, and the
 * expected messages or the expected error. They are the shared truth for the codec tests,
 * the dissector test and third-party implementers. Every load is validated against
 * `spec/vectors/vectors.schema.json` and the rules a schema cannot express.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject } from 'ajv';
import { loadSpec } from './load.js';
import { packageRoot } from './paths.js';
import { SpecError, type SpecViolation } from './spec-error.js';

/** One field of a vector: its bytes, its path and what the bytes mean. */
export interface VectorField {
  /** Lower-case hex of the field's bytes; empty for an empty string or bytes field. */
  hex: string;
  /** Field path (`header.length`, `body.entries[1].reserved`, `messages[1].header.seq`). */
  field: string;
  /** What the bytes mean, for a human reader. */
  note: string;
}

/** A JSON value, as found in the expected messages of a vector. */
export type VectorJson = null | boolean | number | string | VectorJson[] | { [key: string]: VectorJson };

/** The header of an expected message, every field a number. */
export interface VectorHeader {
  /** Header version. */
  version: number;
  /** Header flags, as a number. */
  flags: number;
  /** Message type number. */
  type: number;
  /** Message subtype number. */
  subtype: number;
  /** Total length in bytes, header included. */
  length: number;
  /** Sequence number. */
  seq: number;
}

/**
 * An expected message in its JSON form (the codec's `MessageJson`): 64-bit integers as
 * decimal strings, bytes as lower-case hex, known enum values by name and unknown ones as
 * numbers, derived and reserved fields omitted. `name` is null for a message skipped under
 * mayIgnore, whose body is then its raw bytes as hex.
 */
export interface VectorMessage {
  /** Qualified message name, or null for a message skipped under mayIgnore. */
  name: string | null;
  /** The decoded header. */
  header: VectorHeader;
  /** The decoded body in JSON form. */
  body: VectorJson;
}

/** Receiver settings a vector is decoded with (the codec's `DecodeOptions`). */
export interface VectorDecodeOptions {
  /** Largest message accepted, header included, in bytes; default the spec's defaultMaxMessage. */
  maxMessage?: number;
  /** Negotiated version every header must carry. */
  version?: number;
  /** Channel the bytes arrived on; when set, the static channel mapping is enforced. */
  channel?: 'send' | 'receive';
}

/** The error an invalid vector must raise. */
export interface VectorError {
  /** Error code from the spec's error table, e.g. `ERR_BAD_MAGIC`. */
  code: string;
  /**
   * Stream byte offset: the first byte of the field named by `path`; for
   * ERR_TRAILING_BYTES the first byte after the layout; for ERR_STREAM_TRUNCATED the first
   * byte of the incomplete message.
   */
  offset: number;
  /** Field path inside the offending message; absent when no field can be named. */
  path?: string;
}

/** What a valid vector decodes to: every message of the stream, in order. */
export interface VectorExpectMessages {
  /** Every message of the stream, in order. */
  messages: VectorMessage[];
}

/** What an invalid vector raises, and how many whole messages come out before it (default 0). */
export interface VectorExpectError {
  /** The error, with its code, offset and field path. */
  error: VectorError;
  /** Whole messages the decoder returns before the error (default 0). */
  messagesBefore?: number;
}

/** One golden vector. */
export interface Vector {
  /** Stable id, `<message or topic>/<case>`, e.g. `control.hello/basic`. */
  id: string;
  /** What the vector shows, in a sentence. */
  description: string;
  /** The bytes of `hex` split into fields, in order. */
  fields: VectorField[];
  /** The whole input as lower-case hex: the concatenation of `fields[].hex`. */
  hex: string;
  /** Receiver settings to decode with (default the spec's). */
  decodeOptions?: VectorDecodeOptions;
  /** What decoding must produce: messages, or an error. */
  expect: VectorExpectMessages | VectorExpectError;
}

/** A valid vector: its expectation is a list of messages. */
export type ValidVector = Vector & {
  /** The messages the bytes decode to. */
  expect: VectorExpectMessages;
};

/** An invalid vector: its expectation is an error. */
export type InvalidVector = Vector & {
  /** The error the bytes raise. */
  expect: VectorExpectError;
};

/** Which vector file: the vectors every decoder accepts, or those it rejects. */
export type VectorKind = 'valid' | 'invalid';

/** Both vector files, loaded and checked. */
export interface VectorSet {
  /** Vectors every decoder accepts (`spec/vectors/valid.json`). */
  valid: ValidVector[];
  /** Vectors every decoder rejects (`spec/vectors/invalid.json`). */
  invalid: InvalidVector[];
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

let validator: Validator | undefined;

/** Path of a bundled vector file, or of the vector schema for `'schema'`. */
export function vectorFilePath(kind: VectorKind | 'schema'): string {
  return join(packageRoot(), 'spec', 'vectors', kind === 'schema' ? 'vectors.schema.json' : `${kind}.json`);
}

function schemaValidator(): Validator {
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false });
    const schema = JSON.parse(readFileSync(vectorFilePath('schema'), 'utf8')) as object;
    validator = ajv.compile(schema);
  }
  return validator;
}

function schemaViolations(errors: readonly ErrorObject[]): SpecViolation[] {
  // `if` keywords only say which branch failed; the real reason is reported beside them.
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => ({ path: e.instancePath, rule: `${e.keyword} (${e.schemaPath})`, message: e.message ?? 'invalid' }));
}

/**
 * Checks the rules the vector schema cannot express, on vectors that already passed it:
 * each vector's `hex` is exactly the concatenation of its `fields[].hex`, ids are unique,
 * expected error codes are in the spec's error table and expected message names are
 * messages of the spec.
 *
 * @param vectors - vectors of one file (or of several, to check ids across files).
 * @param pointer - JSON Pointer of the vectors array, used in violation paths.
 * @returns every violation found, each naming the vector id; empty when all hold.
 */
export function vectorViolations(vectors: readonly Vector[], pointer = '/vectors'): SpecViolation[] {
  const spec = loadSpec();
  const codes = new Set(spec.errors.map((e) => e.code));
  const names = new Set(spec.messages.flatMap((m) => m.subtypes.map((s) => `${m.name}.${s.name}`)));
  const seen = new Set<string>();
  const out: SpecViolation[] = [];
  vectors.forEach((v, i) => {
    const fail = (rule: string, message: string): void => {
      out.push({ path: `${pointer}/${i}`, rule, message: `vector ${v.id}: ${message}` });
    };
    if (seen.has(v.id)) fail('unique-id', 'duplicate id');
    seen.add(v.id);
    const joined = v.fields.map((f) => f.hex).join('');
    if (joined !== v.hex) {
      let at = 0;
      while (at < joined.length && joined[at] === v.hex[at]) at++;
      fail(
        'fields-hex',
        `hex is not the concatenation of its fields (${v.hex.length / 2} bytes against ${joined.length / 2}, first difference at byte ${Math.floor(at / 2)})`,
      );
    }
    if ('error' in v.expect) {
      if (!codes.has(v.expect.error.code)) fail('error-code', `unknown error code ${v.expect.error.code}`);
    } else {
      for (const m of v.expect.messages) {
        if (m.name !== null && !names.has(m.name)) fail('message-name', `unknown message ${m.name}`);
      }
    }
  });
  return out;
}

/**
 * Validates a parsed vector file: the vector schema, its `kind`, then
 * {@link vectorViolations}.
 *
 * @param data - parsed JSON of a vector file.
 * @param kind - the kind the file must declare.
 * @param source - name used in error messages (a file path or `<inline>`).
 * @returns the file's vectors, typed.
 * @throws {@link SpecError} (code ERR_INVALID_SPEC) listing every violation, each naming
 *   the vector id when the vector is the problem.
 */
export function validateVectorFile(data: unknown, kind: 'valid', source?: string): ValidVector[];
export function validateVectorFile(data: unknown, kind: 'invalid', source?: string): InvalidVector[];
export function validateVectorFile(data: unknown, kind: VectorKind, source = '<inline>'): Vector[] {
  const validate = schemaValidator();
  if (!validate(data)) throw new SpecError(source, schemaViolations(validate.errors ?? []));
  const file = data as { kind: VectorKind; vectors: Vector[] };
  if (file.kind !== kind)
    throw new SpecError(source, [
      { path: '/kind', rule: 'kind', message: `expected a ${kind} vector file, found ${file.kind}` },
    ]);
  const violations = vectorViolations(file.vectors);
  if (violations.length > 0) throw new SpecError(source, violations);
  return file.vectors;
}

function readVectorFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SpecError(path, [{ path: '', rule: 'json', message: (err as Error).message }]);
  }
}

let cached: VectorSet | undefined;

/**
 * Reads and validates the bundled golden vectors, `spec/vectors/valid.json` and
 * `spec/vectors/invalid.json`. Ids are unique across both files. The result is cached:
 * treat it as read-only.
 *
 * @throws {@link SpecError} (code ERR_INVALID_SPEC) when a file is not JSON, breaks the
 *   vector schema, or a vector's hex differs from its fields (the message names the id).
 */
export function loadVectors(): VectorSet {
  if (cached !== undefined) return cached;
  const valid = validateVectorFile(readVectorFile(vectorFilePath('valid')), 'valid', vectorFilePath('valid'));
  const invalid = validateVectorFile(readVectorFile(vectorFilePath('invalid')), 'invalid', vectorFilePath('invalid'));
  const validIds = new Set(valid.map((v) => v.id));
  const clashes: SpecViolation[] = [];
  invalid.forEach((v, i) => {
    if (validIds.has(v.id))
      clashes.push({
        path: `/vectors/${i}`,
        rule: 'unique-id',
        message: `vector ${v.id}: id also used in ${vectorFilePath('valid')}`,
      });
  });
  if (clashes.length > 0) throw new SpecError(vectorFilePath('invalid'), clashes);
  cached = { valid, invalid };
  return cached;
}
