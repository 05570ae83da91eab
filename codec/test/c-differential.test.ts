// The differential test of the C and TypeScript codecs (issue 13): 100,000 seeded random and
// mutated streams, with random receiver settings and chunk cuts, through both; they must agree
// on every verdict, message, decoded field, error code, offset and path, and every message the C
// codec decodes must re-encode to its exact bytes. The first 10,000 run under ASan and UBSan too
// (the same inputs: same seeds). `npm run c:differential -- --count N` runs longer.
import { join } from 'node:path';
import t from 'tap';
import { buildC, cDir, findCompiler } from './c-support.js';
import { runDifferential } from './c-differential.js';
import { SEED } from './support.js';

const compiler = findCompiler();
const skip = compiler === undefined ? 'no C compiler (gcc, cc or clang) on PATH' : false;
const INPUTS = Number(process.env.KKCM_C_DIFFERENTIAL ?? 100_000);
const SANITIZED = Math.min(INPUTS, 10_000);

t.setTimeout(900_000);

t.test('the C and TypeScript codecs agree', { skip }, async (t) => {
  const driver = join(cDir, 'test', 'kkcm-c-test.c');
  const sanitized = buildC(compiler!, driver, 'kkcm-c-test-asan');
  const fast = buildC(compiler!, driver, 'kkcm-c-test', ['-O2']);
  t.teardown(() => {
    sanitized.cleanup();
    fast.cleanup();
  });
  for (const [label, bin, count] of [
    ['under ASan and UBSan', sanitized.bin, SANITIZED],
    ['optimised', fast.bin, INPUTS],
  ] as const) {
    const r = runDifferential(bin, count, SEED);
    t.equal(r.inputs, count, `${label}: ${count} inputs (seed ${SEED})`);
    t.ok(
      r.messages > count / 4 && r.errors > count / 4,
      `${label}: both decoded messages (${r.messages}) and errors (${r.errors})`,
    );
    t.strictSame(r.disagreements.slice(0, 3), [], `${label}: no disagreement (${r.disagreements.length})`);
  }
});
