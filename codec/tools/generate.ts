/**
 * Regenerates what is generated from the spec and the schemas: the TypeScript codec in
 * `codec/src/gen/`, the C99 one in `codec/c/gen/`, and the TypeScript types of the two JSON
 * Schemas in `spec/src/gen/` and `conformance/src/gen/`. `--check` exits 1 when the committed
 * files differ from what would be generated (CI runs it, and so does `npm test`).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec, packageRoot } from '../../spec/src/index.js';
import { generateC } from './c/generate-c.js';
import { formattedCodec } from './formatted-codec.js';
import { schemaTypes } from './schema-types.js';

const check = process.argv.includes('--check');
const spec = loadSpec();
const outputs: [string, Map<string, string>][] = [
  ['codec/src/gen', await formattedCodec(spec)],
  ['codec/c/gen', generateC(spec)],
  ...(await schemaTypes()),
];
let stale = 0;
for (const [folder, files] of outputs) {
  const dir = join(packageRoot(), folder);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    const path = join(dir, name);
    let old = '';
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      // a missing file is simply stale
    }
    if (old === text) continue;
    stale++;
    if (check) console.error(`stale: ${folder}/${name}`);
    else writeFileSync(path, text);
  }
}
if (check && stale > 0) {
  console.error('generated files are out of date: run `npm run generate` and commit the result');
  process.exit(1);
}
const folders = outputs.map(([folder]) => folder).join(' and ');
console.log(check ? `${folders} are up to date` : `${folders}: ${stale} file(s) written`);
