/**
 * The generated codec as it is committed: `generateCodec`'s text passed through prettier with
 * the repository's configuration, so generation and `npm run format:check` agree.
 */
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { packageRoot, type ProtocolSpec } from '../../spec/src/index.js';
import { generateCodec } from '../src/generator.js';

/** File name → formatted text, for every file under `codec/src/gen/`. */
export async function formattedCodec(spec: ProtocolSpec): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, text] of generateCodec(spec)) {
    const filepath = join(packageRoot(), 'codec', 'src', 'gen', name);
    const options = (await resolveConfig(filepath)) ?? {};
    out.set(name, await format(text, { ...options, filepath }));
  }
  return out;
}
