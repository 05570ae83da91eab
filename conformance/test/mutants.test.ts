import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadSpec, packageRoot } from '../../spec/src/index.js';
import { LENIENT } from '../mutants/lenient.js';
import { MUTANTS } from '../mutants/mutants.js';
import { formatTable, KNOWN_FAILING, killsFor, main, runMutants, toJson } from '../mutants/run-mutants.js';
import { CASES } from '../src/catalog.js';

t.test('the mutant catalogue: at least 40, each breaking one known requirement with existing killers', async (t) => {
  t.ok(MUTANTS.length >= 40, `${MUTANTS.length} mutants`);
  t.equal(new Set(MUTANTS.map((m) => m.name)).size, MUTANTS.length, 'names are unique');
  const requirements = new Set(loadSpec().requirements.map((r) => r.id));
  for (const m of MUTANTS) {
    t.match(m.name, /^[a-z0-9]+(-[a-z0-9]+)+$/, `${m.name} is kebab-case`);
    t.ok(requirements.has(m.breaks), `${m.name} breaks a requirement of the spec (${m.breaks})`);
    t.ok(m.expectKilledBy.length > 0, `${m.name} names its killers`);
    for (const id of m.expectKilledBy) {
      const c = CASES.find((x) => x.id === id);
      t.ok(
        c !== undefined && c.roles.some((r) => m.roles.includes(r)),
        `${m.name}: ${id} exists and runs in the mutant's roles`,
      );
    }
  }
});

t.test('a kill is a fail naming the broken requirement; an error never is', async (t) => {
  const kill = { id: 'x.y', role: 'master' as const, detail: '' };
  t.ok(killsFor({ ...kill, verdict: 'fail', requirements: ['KKCM-SEQ-1'] }, 'KKCM-SEQ-1'));
  t.notOk(killsFor({ ...kill, verdict: 'fail', requirements: ['KKCM-CTL-1'] }, 'KKCM-SEQ-1'), 'another requirement');
  t.notOk(killsFor({ ...kill, verdict: 'error', requirements: ['KKCM-SEQ-1'] }, 'KKCM-SEQ-1'), 'an error');
});

t.test('npm run mutants runs every mutant and the lenient peer', async (t) => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  t.equal(pkg.scripts.mutants, 'tsx conformance/mutants/run-mutants.ts');
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (x: string) => out.push(x), err: (x: string) => err.push(x) };
  t.equal(await main(['--list'], io), 0);
  t.same(
    out.map((line) => line.split('  ')[0]),
    MUTANTS.map((m) => m.name),
    'every mutant is listed',
  );
  t.equal(await main(['--no-such-flag'], io), 2, 'an unknown flag is a usage error');
  t.equal(await main(['--mutant', 'no-such-mutant'], io), 2, 'an unknown mutant is a usage error');
  t.equal(await main(['--concurrency', '0'], io), 2, 'a concurrency of 0 is a usage error');
  t.equal(err.length, 3, 'each usage error is explained');
});

t.test('every mutant is failed by its intended cases and the lenient peer passes every case', async (t) => {
  const report = await runMutants();
  t.equal(report.mutants.length, MUTANTS.length, 'all mutants ran');
  for (const m of report.mutants) {
    t.notOk(m.survived, `${m.name} (${m.breaks}) does not survive`);
    // A mutant that breaks every exchange fails the health probe after its first case: the
    // cases after it did not run (and are not counted either way).
    t.ok(m.sanity.length > 0 || m.killedBy.length > 0, `${m.name}: the sanity cases ran, or it was killed first`);
    t.notOk(
      m.sanity.some((x) => x.verdict === 'error'),
      `${m.name}: no sanity case is an error (the mutant holds a session): ${m.sanity.map((x) => `${x.id} ${x.role} ${x.verdict}`).join(', ')}`,
    );
    t.same(
      m.missed,
      [],
      `${m.name} is failed by ${m.expectKilledBy.join(', ')}; it was failed by ${m.killedBy.join(', ') || 'nothing'}`,
    );
  }
  t.ok(report.lenient !== undefined);
  t.equal(report.lenient?.name, LENIENT.name);
  t.same(
    report.lenient?.failed,
    [],
    `the lenient peer fails nothing outside the known failures (${KNOWN_FAILING.join(', ')}): ${report.lenient?.failures.map((f) => `${f.id} (${f.role}): ${f.detail}`).join('; ')}`,
  );
  t.ok(report.ok);

  const json = toJson(report);
  t.same(Object.keys(json), ['mutants', 'lenient']);
  t.same(Object.keys(json.mutants[0]!), ['name', 'breaks', 'killedBy', 'survived']);
  t.same(json.lenient, { name: LENIENT.name, failed: [] });
  t.match(formatTable(report), `${MUTANTS.length}/${MUTANTS.length} mutants killed by their intended cases`);
});

t.test('a peer that breaks nothing survives, and the report fails', async (t) => {
  // The lenient peer posing as a mutant: its would-be killer passes it.
  const impostor = {
    ...MUTANTS.find((m) => m.name === 'periodic-never-fires')!,
    name: 'not-a-mutant',
    customize: LENIENT.customize,
    roles: ['master'] as const,
  };
  const report = await runMutants({ catalogue: [impostor], lenient: false });
  t.notOk(report.ok);
  const [survivor] = report.mutants;
  t.ok(survivor?.survived, 'a legal peer survives');
  t.same(survivor?.missed, ['periodic.ticks']);
  t.match(formatTable(report), /SURVIVED/);
  await t.rejects(runMutants({ mutants: ['no-such-mutant'], lenient: false }), /unknown mutant/);
});
