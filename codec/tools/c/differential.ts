/**
 * A long differential run of the C and TypeScript codecs, for docs/reliability.md:
 * `npm run c:differential -- --count 10000000 [--seed N]`. Builds the C test driver with -O2,
 * runs the inputs in batches of 10,000 (one C process each), prints progress and a JSON summary;
 * exits 1 on any disagreement, printing the first ones.
 */
import { join } from 'node:path';
import { buildC, cDir, findCompiler } from '../../test/c-support.js';
import { runDifferential } from '../../test/c-differential.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = arg('count', 1_000_000);
const seed = arg('seed', 0x4b4b434d);
const compiler = findCompiler();
if (compiler === undefined) {
  console.error('no C compiler (gcc, cc or clang) on PATH');
  process.exit(2);
}
const build = buildC(compiler, join(cDir, 'test', 'kkcm-c-test.c'), 'kkcm-c-test', ['-O2']);
const started = Date.now();
const result = runDifferential(build.bin, count, seed, 10_000, (r) => {
  if (r.inputs % 500_000 === 0 || r.inputs === count)
    console.error(
      `${r.inputs} inputs, ${r.messages} messages, ${r.errors} errors, ${r.disagreements.length} disagreements`,
    );
});
build.cleanup();
const summary = {
  compiler,
  seed,
  inputs: result.inputs,
  messages: result.messages,
  errors: result.errors,
  disagreements: result.disagreements.length,
  seconds: Math.round((Date.now() - started) / 1000),
};
console.log(JSON.stringify(summary));
if (result.disagreements.length > 0) {
  console.log(JSON.stringify(result.disagreements.slice(0, 5), null, 2));
  process.exit(1);
}
