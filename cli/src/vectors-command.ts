/**
 * `kkcm vectors`: checks the codec against every golden vector.
 *
 * @module
 */
import { loadVectors, type Vector } from '../../spec/src/vectors.js';
import {
  CodecError,
  decodeStream,
  encodeMessage,
  encodeRaw,
  fromHex,
  messageFromJson,
  messageToJson,
  toHex,
  type DecodeOptions,
} from '../../codec/src/index.js';
import type { Command, CommandArgs, OptionSpec } from './command.js';
import { ExitCode, type Io } from './io.js';

const DESCRIPTION = `Decodes every golden vector of spec/vectors/: each valid vector must decode to its
expected value and re-encode to the same bytes; each invalid vector must be rejected
with exactly its error code and offset. Exit 0 when all hold, 1 otherwise.`;

const EPILOG = `Examples:
  kkcm vectors
  kkcm vectors --json | jq .summary
`;

const OPTIONS = {
  json: { type: 'boolean', description: 'print the report as JSON' },
  verbose: { type: 'boolean', description: 'print one line per vector' },
} as const satisfies OptionSpec;

/** Outcome of one vector. */
export interface VectorResult {
  readonly id: string;
  readonly kind: 'valid' | 'invalid';
  readonly ok: boolean;
  readonly detail: string;
}

const canonical = (v: unknown): string => JSON.stringify(v);

/** Checks one vector: decode, and for valid ones re-encode to the same bytes. */
export function checkVector(v: Vector, kind: 'valid' | 'invalid'): VectorResult {
  const bytes = fromHex(v.hex);
  const options = (v.decodeOptions ?? {}) as DecodeOptions;
  if ('error' in v.expect) {
    const want = v.expect.error;
    try {
      decodeStream(bytes, options);
      return { id: v.id, kind, ok: false, detail: `accepted; expected ${want.code} at ${want.offset}` };
    } catch (err) {
      if (!(err instanceof CodecError)) return { id: v.id, kind, ok: false, detail: `threw ${String(err)}` };
      const ok = err.code === want.code && err.offset === want.offset;
      return {
        id: v.id,
        kind,
        ok,
        detail: `${err.code} at ${String(err.offset)}${ok ? '' : `; expected ${want.code} at ${want.offset}`}`,
      };
    }
  }
  try {
    const got = decodeStream(bytes, options).map((m) => messageToJson(m.message));
    if (canonical(got) !== canonical(v.expect.messages))
      return { id: v.id, kind, ok: false, detail: `decoded ${canonical(got)}` };
    const again = got
      .map((json) => {
        const msg = messageFromJson(json);
        return toHex('name' in msg ? encodeMessage(msg) : encodeRaw(msg));
      })
      .join('');
    if (again !== v.hex.toLowerCase()) return { id: v.id, kind, ok: false, detail: `re-encoded to ${again}` };
    return { id: v.id, kind, ok: true, detail: got.map((m) => m.name ?? '(ignored)').join(', ') };
  } catch (err) {
    return {
      id: v.id,
      kind,
      ok: false,
      detail: err instanceof CodecError ? `${err.code} at ${String(err.offset)}` : String(err),
    };
  }
}

/** Checks every vector; prints the failures (all with --verbose) and a summary. */
function runVectors(args: CommandArgs, io: Io): number {
  const { valid, invalid } = loadVectors();
  const results = [...valid.map((v) => checkVector(v, 'valid')), ...invalid.map((v) => checkVector(v, 'invalid'))];
  const failed = results.filter((r) => !r.ok);
  const summary = {
    valid: { total: valid.length, passed: results.filter((r) => r.kind === 'valid' && r.ok).length },
    invalid: { total: invalid.length, passed: results.filter((r) => r.kind === 'invalid' && r.ok).length },
    failed: failed.length,
  };
  if (args.values.json === true) {
    io.out(`${JSON.stringify({ summary, results }, null, 2)}\n`);
  } else {
    for (const r of args.values.verbose === true ? results : failed)
      io.out(`${r.ok ? 'ok  ' : 'FAIL'} ${r.kind.padEnd(7)} ${r.id}: ${r.detail}\n`);
    io.out(
      `valid vectors:   ${summary.valid.passed}/${summary.valid.total} decoded to their expected value and re-encoded to the same bytes\n`,
    );
    io.out(
      `invalid vectors: ${summary.invalid.passed}/${summary.invalid.total} rejected with their expected code and offset\n`,
    );
  }
  return failed.length === 0 ? ExitCode.ok : ExitCode.failure;
}

/** `kkcm vectors [--json] [--verbose]`. */
export const vectorsCommand: Command = {
  summary: 'check the codec against every golden vector',
  usage: 'kkcm vectors [--json] [--verbose]',
  description: DESCRIPTION,
  options: OPTIONS,
  epilog: EPILOG,
  run: runVectors,
};
