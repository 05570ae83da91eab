/**
 * `npm run docs` (writes the generated docs) and `npm run docs:check` (`--check`:
 * regenerates in memory and fails on any difference from the committed files).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';
import { generateDocs, staleDocs } from './docs.js';

async function run(argv: readonly string[]): Promise<number> {
  const root = packageRoot();
  const docs = await generateDocs();
  if (argv.includes('--check')) {
    const stale = staleDocs(docs, root);
    if (stale.length > 0) {
      process.stderr.write(
        `docs:check: out of date (run \`npm run docs\` and commit the result):\n${stale.map((p) => `  ${p}\n`).join('')}`,
      );
      return 1;
    }
    process.stdout.write(`docs:check: ${docs.size} generated docs are up to date\n`);
    return 0;
  }
  for (const [path, text] of docs) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  process.stdout.write(`docs: wrote ${[...docs.keys()].join(', ')}\n`);
  return 0;
}

process.exitCode = await run(process.argv.slice(2));
