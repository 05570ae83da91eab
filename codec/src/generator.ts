/**
 * Writes the TypeScript codec from a spec: constants and types (`protocol.ts`, see
 * `generator-protocol.ts`), decoders (`decode.ts`, `generator-decode.ts`) and encoders
 * (`encode.ts`, `generator-encode.ts`). Plain string building: no `eval` and no
 * `new Function` on this path. Run by `npm run generate`; the output is committed under
 * `codec/src/gen/` and CI fails when regenerating changes it.
 *
 * @module
 */
import { SpecModel, type ProtocolSpec } from '../../spec/src/index.js';
import { genDecode } from './generator-decode.js';
import { genEncode } from './generator-encode.js';
import { genProtocol } from './generator-protocol.js';
import type { Ctx } from './generator-support.js';

export { pascal } from './generator-support.js';

/**
 * Generates the codec sources for a spec.
 *
 * @returns file name (relative to `codec/src/gen/`) → contents.
 */
export function generateCodec(spec: ProtocolSpec): Map<string, string> {
  const ctx: Ctx = { model: new SpecModel(spec) };
  return new Map([
    ['protocol.ts', genProtocol(ctx)],
    ['decode.ts', genDecode(ctx)],
    ['encode.ts', genEncode(ctx)],
  ]);
}
