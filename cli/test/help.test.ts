import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../src/main.js';
import { commandHelp, optionLabel } from '../src/help.js';
import { loadSpec, packageRoot } from '../../spec/src/index.js';
import { type MainRun, runMain } from './run-main.js';

const run = (argv: string[]): Promise<MainRun> => runMain(argv);

const lines = (text: string): string[] => text.trimEnd().split('\n');

t.test('every option of every command is described in its help, under its own label', async (t) => {
  const names = Object.keys(COMMANDS);
  t.ok(names.length >= 8, 'the table has the commands');
  for (const [name, command] of Object.entries(COMMANDS)) {
    const help = (await run([name, '--help'])).out;
    t.equal(help, commandHelp(name, command), `${name}: --help prints the generated text`);
    for (const [option, def] of Object.entries(command.options)) {
      t.ok((def.description ?? '') !== '', `${name} --${option} has a description`);
      t.match(help, `  ${optionLabel(option, def)}`, `${name} --help lists --${option}`);
    }
    // The generated part (the option rows; description and epilog are the command's own text) is wrapped.
    const generated = commandHelp(name, { ...command, description: '', epilog: undefined });
    t.ok(
      lines(generated).every((l) => l.length <= 100),
      `${name}: the generated help lines fit 100 columns`,
    );
  }
});

t.test('kkcm help COMMAND prints that command’s help, not the main help', async (t) => {
  const r = await run(['help', 'conformance']);
  t.equal(r.code, 0);
  t.match(r.out, /^Usage: kkcm conformance/);
  t.equal(r.out, (await run(['conformance', '--help'])).out);
  t.equal((await run(['help', 'nope'])).code, 2);
});

t.test('kkcm --version prints the package version and the spec version', async (t) => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    t.equal(r.code, 0);
    t.equal(r.err, '');
    t.match(r.out, `kkcm ${pkg.version} `);
    t.match(r.out, `spec ${loadSpec().specVersion}`);
  }
});

t.test('usage errors are two lines on standard error and exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['conformance', '--frobnicate'], /^kkcm conformance: unknown option --frobnicate$/],
    [['conformance', '--cse', 'x'], /^kkcm conformance: unknown option --cse \(did you mean --case\?\)$/],
    [['conformance', 'stray'], /^kkcm conformance: unexpected argument "stray"$/],
    [['conformance', '--out'], /^kkcm conformance: --out needs a value$/],
    [['conformance', '--list=yes'], /^kkcm conformance: --list takes no value/],
    [['conformance', '--seed', '-3'], /^kkcm conformance: --seed needs a value/],
    [['decode', '--hex', '00', 'extra'], /^kkcm decode: unexpected argument "extra"$/],
    [['spec', 'extra'], /^kkcm spec: unexpected argument "extra"$/],
    [['frobnicate'], /^kkcm: unknown command "frobnicate"$/],
    [['--frobnicate'], /^kkcm: unknown option --frobnicate$/],
  ];
  for (const [argv, first] of cases) {
    const r = await run(argv);
    t.equal(r.code, 2, argv.join(' '));
    t.equal(r.out, '', `${argv.join(' ')}: nothing on standard output`);
    const err = lines(r.err);
    t.equal(err.length, 2, `${argv.join(' ')}: two lines`);
    t.match(err[0], first);
    t.match(err[1], /^Run `kkcm .*--help` for usage\.$/);
  }
});

t.test("the guide's CI exit codes are the ones kkcm conformance --help lists", async (t) => {
  const help = (await run(['conformance', '--help'])).out;
  const epilog = help.slice(help.indexOf('Exit codes:'), help.indexOf('Examples:')).replace(/\s+/g, ' ');
  const inHelp = [...epilog.matchAll(/(?:^Exit codes:|,) (\d+) /g)].map((m) => m[1]);
  const guide = readFileSync(join(packageRoot(), 'docs', 'guides', 'testing-your-peer.md'), 'utf8');
  const section = guide.slice(guide.indexOf('## In CI'), guide.indexOf('\n## ', guide.indexOf('## In CI') + 1));
  const inGuide = [...section.matchAll(/^\| (\d+)(?:, (\d+))? \|/gm)].flatMap((m) => m.slice(1).filter(Boolean));
  t.same(inHelp, ['0', '1', '2', '3', '4', '5'], 'the help lists 0 to 5');
  t.same(
    inGuide.filter((c) => Number(c) < 128),
    inHelp,
    'the guide lists the same codes',
  );
  t.match(epilog, /exits 130 or 143/);
  t.same(
    inGuide.filter((c) => Number(c) >= 128),
    ['130', '143'],
    'and the signal codes',
  );
});
