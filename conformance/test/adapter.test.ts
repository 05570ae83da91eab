import t from 'tap';
import { defineCase } from '../src/cases/case.js';
import { CaseFailure, CaseSkip } from '../src/harness/context.js';
import { conformanceTests, ConformanceCaseError, type TestFunction } from '../src/index.js';

t.test('registers one subtest per case and role, mapping verdicts', async (t) => {
  const calls: { name: string; options: { skip?: string; todo?: string }; fn: () => void | Promise<void> }[] = [];
  const record: TestFunction = (name, options, fn) => calls.push({ name, options, fn });
  const fake = (id: string, run: () => Promise<void>): ReturnType<typeof defineCase> =>
    defineCase({
      id,
      title: id,
      requirements: ['KKCM-FRM-1'],
      level: 'MUST',
      roles: ['master'],
      channels: ['send'],
      tags: ['self-test'],
      run,
    });
  const report = await conformanceTests(record, {
    catalogue: [
      fake('self.pass', () => Promise.resolve()),
      fake('self.skip', () => Promise.reject(new CaseSkip('why not'))),
      fake('self.fail', () => Promise.reject(new CaseFailure('A', 'B'))),
    ],
    selection: { roles: ['master'] },
  });
  t.same(
    calls.map((c) => c.name),
    ['self.pass [master]', 'self.skip [master]', 'self.fail [master]'],
  );
  t.equal(calls[1]?.options.skip, 'why not');
  t.doesNotThrow(() => calls[0]?.fn());
  t.throws(() => calls[2]?.fn(), ConformanceCaseError);
  t.equal(report.summary.fail, 1);
});

t.test('works with tap subtests against the embedded reference peer', async (t) => {
  await conformanceTests(
    (name, options, fn) =>
      t.test(name, options, async () => {
        await fn();
      }),
    { selection: { cases: ['control.echo.exact', 'framing.magic.bad'] } },
  );
});

t.test('runs each case as a node:test subtest', async (t) => {
  const { execFile } = await import('node:child_process');
  const { join } = await import('node:path');
  const { packageRoot } = await import('../../spec/src/index.js');
  const fixture = join(packageRoot(), 'conformance', 'test', 'fixtures', 'node-adapter.fixture.ts');
  const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=tap', fixture],
      { cwd: packageRoot() },
      (err, stdout) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout }),
    );
  });
  t.equal(out.code, 0, out.stdout);
  t.match(out.stdout, /ok \d+ - control\.echo\.exact \[master\]/);
  t.match(out.stdout, /ok \d+ - framing\.magic\.bad \[master\]/);
  t.match(out.stdout, /# pass 2/);
});
