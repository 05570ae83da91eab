/**
 * Regenerates `codec/src/gen/` from the spec. `--check` exits 1 when the committed files
 * differ from what the spec generates (CI runs it).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpec, packageRoot } from '../../spec/src/index.js';
import { formattedCodec } from './formatted-codec.js';

const check = process.argv.includes('--check');
const dir = join(packageRoot(), 'codec', 'src', 'gen');
mkdirSync(dir, { recursive: true });
let stale = 0;
for (const [name, text] of await formattedCodec(loadSpec())) {
  const path = join(dir, name);
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    // a missing file is simply stale
  }
  if (old === text) continue;
  stale++;
  if (check) console.error(`stale: codec/src/gen/${name}`);
  else writeFileSync(path, text);
}
if (check && stale > 0) {
  console.error('generated codec is out of date: run `npm run generate` and commit the result');
  process.exit(1);
}
console.log(check ? 'codec/src/gen is up to date' : `codec/src/gen: ${stale} file(s) written`);
