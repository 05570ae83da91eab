/**
 * docs/cli.md: the CLI reference, made of each command's own `--help` text, as the CLI
 * prints it (`main([command, '--help'], io)` with a capturing Io).
 *
 * @module
 */
import { main } from '../../cli/src/main.js';
import type { Io } from '../../cli/src/io.js';
import { anchor, generatedHeader } from './markdown.js';

/** Runs the CLI in memory and returns what it printed on standard output. */
export async function captureHelp(argv: readonly string[]): Promise<string> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    stdin: () => Promise.resolve(new Uint8Array(0)),
    isTty: false,
  };
  const rc = await main(argv, io);
  if (rc !== 0 || err !== '') throw new Error(`kkcm ${argv.join(' ')} exited ${rc}: ${err}`);
  return out;
}

/** Command names in the order `kkcm --help` lists them (its "Commands:" block). */
export function commandNames(mainHelp: string): string[] {
  const block = mainHelp.split(/^Commands:\n/m)[1] ?? '';
  const names: string[] = [];
  for (const line of block.split('\n')) {
    const m = /^ {2}([a-z][a-z-]*) /.exec(line);
    if (m === null) break;
    names.push(m[1]!);
  }
  if (names.length === 0) throw new Error('kkcm --help lists no commands');
  return names;
}

/** docs/cli.md. */
export async function cliPage(): Promise<string> {
  const mainHelp = await captureHelp(['--help']);
  const names = commandNames(mainHelp);
  const fence = (text: string): string => ['```text', text.trimEnd(), '```'].join('\n');
  const out = [
    generatedHeader('CLI reference', ['kkcm --help', 'kkcm COMMAND --help']),
    'The `kkcm` command, installed with the package (`npx kkcm …`). From a clone without building, ' +
      '`node --import tsx cli/src/run.ts …` runs the same CLI from source.',
    '',
    ...names.map((n) => `- [\`kkcm ${n}\`](#command-${n})`),
    '',
    '## kkcm',
    '',
    fence(mainHelp),
  ];
  for (const n of names)
    out.push('', anchor(`command-${n}`), `## kkcm ${n}`, '', fence(await captureHelp([n, '--help'])));
  out.push('');
  return out.join('\n');
}
