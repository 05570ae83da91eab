/**
 * A small fuzz in the test run: 20,000 offline inputs and 50 hostile connections to a live
 * peer, with fixed seeds so that a failure replays (`npm run fuzz -- --seed S`). The large
 * runs are recorded in docs/reliability.md.
 */
import t from 'tap';
import { fuzzCodec } from '../src/fuzz.js';
import { fuzzMain } from '../src/fuzz-cli.js';
import { fuzzLive } from '../src/live-fuzz.js';

t.test('20,000 mutated and random inputs: no crash, no divergence, never more buffered than the limit', async (t) => {
  const r = fuzzCodec({ runs: 20000, seed: 20260601 });
  t.comment(
    `seed ${r.seed}: ${r.runs} runs in ${r.durationMs} ms, max buffered ${r.maxBufferedBytes}/${r.limit}, ${JSON.stringify(r.byCode)}`,
  );
  t.same(r.failures, [], 'nothing to replay');
  t.equal(r.crashes, 0);
  t.equal(r.divergences, 0);
  t.ok(r.maxBufferedBytes <= r.limit, 'within the limit');
  t.ok(r.maxBufferedBytes >= r.limit - 64, 'the inputs reach the limit: the bound is really exercised');
  t.ok(Object.keys(r.byCode).length >= 12, `many outcomes (${Object.keys(r.byCode).length}), clean ones included`);
  t.ok((r.byCode.ok ?? 0) > 0);
});

t.test('the same seed makes the same runs', async (t) => {
  const a = fuzzCodec({ runs: 3000, seed: 42 });
  const b = fuzzCodec({ runs: 3000, seed: 42 });
  const c = fuzzCodec({ runs: 3000, seed: 43 });
  t.same({ ...a, durationMs: 0 }, { ...b, durationMs: 0 });
  t.notSame(a.byCode, c.byCode, 'another seed, other runs');
});

t.test(
  "the buffer check can fail: a bound below the framers' limit is reported as crashes, with the input",
  async (t) => {
    const r = fuzzCodec({ runs: 3000, seed: 7, maxMessage: 4096, bufferLimit: 1024, keepFailures: 3 });
    t.ok(r.crashes > 0);
    t.equal(r.failures.length, 3);
    t.match(r.failures[0], { kind: 'crash', detail: /bytes buffered, limit 1024/, input: /^[0-9a-f]+$/ });
  },
);

t.test(
  '50 hostile connections to a live master: each gets ERROR or HELLO-REJECT and a close; the session stays up',
  async (t) => {
    const r = await fuzzLive({ connections: 50, seed: 20260601, checkEvery: 10 });
    t.comment(`live: ${JSON.stringify(r.reactions)}; ${r.echoes} echoes carried meanwhile`);
    t.same(r.violations, []);
    t.equal(r.sessionDrops, 0);
    t.equal(
      Object.values(r.reactions).reduce((a, b) => a + b, 0),
      50,
      'one reaction per connection',
    );
    t.ok(r.healthChecks >= 6, 'the session answered after every ten connections');
    t.ok(r.echoes > 0, 'echo traffic ran meanwhile');
    t.ok(
      Object.keys(r.reactions).some((k) => k.startsWith('HELLO-REJECT')) &&
        Object.keys(r.reactions).some((k) => k.endsWith('(bound)')),
      'refused and bound HELLOs were both exercised',
    );
  },
);

t.test('the live oracle catches a broken peer: a master that accepts a second session', async (t) => {
  const r = await fuzzLive({ connections: 30, seed: 20260601, faults: { acceptSecondSession: true } });
  t.ok(r.violations.length > 0, `${r.violations.length} violations reported`);
  t.ok(r.violations.some((v) => v.kind === 'unexpected-reply' || v.kind === 'no-reaction'));
});

t.test('npm run fuzz: JSON report, exit 0 when clean; usage errors exit 2', async (t) => {
  let out = '';
  const code = await fuzzMain(
    ['--runs', '2000', '--seed', '9', '--json'],
    (s) => void (out += s),
    () => undefined,
  );
  t.equal(code, 0);
  t.match(JSON.parse(out), { runs: 2000, seed: 9, crashes: 0, divergences: 0, limit: 4096, byCode: {} });
  let text = '';
  t.equal(
    await fuzzMain(
      ['--runs', '500', '--seed', '9'],
      (s) => void (text += s),
      () => undefined,
    ),
    0,
  );
  t.match(text, /offline: 500 runs .* seed 9/);
  t.equal(
    await fuzzMain(
      ['--runs', 'many'],
      () => undefined,
      () => undefined,
    ),
    2,
  );
  t.equal(
    await fuzzMain(
      ['--max-message', '100'],
      () => undefined,
      () => undefined,
    ),
    2,
  );
  t.equal(
    await fuzzMain(
      ['--bogus'],
      () => undefined,
      () => undefined,
    ),
    2,
  );
  t.equal(
    await fuzzMain(
      ['--help'],
      () => undefined,
      () => undefined,
    ),
    0,
  );
});
