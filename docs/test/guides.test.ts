import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';

// The guides' commands run as a reader would type them, against the CLI from source:
// `npx kkcm` becomes `node --import tsx cli/src/run.ts`, and `kkcm/…` imports
// in TypeScript blocks become the rooms' source entry points.

const root = packageRoot();
const guidesDir = join(root, 'docs', 'guides');
const tsx = import.meta.resolve('tsx');
const KKCM = `node --import ${tsx} ${join(root, 'cli', 'src', 'run.ts')}`;
const ENTRY: Readonly<Record<string, string>> = {
  'kkcm/codec': 'codec/src/index.ts',
  'kkcm/spec': 'spec/src/index.ts',
  'kkcm/reference': 'reference-impl/src/index.ts',
  'kkcm/conformance': 'conformance/src/index.ts',
};

/** A fenced block preceded by `<!-- test -->` or `<!-- test: needs TOOL -->`. */
interface TestedBlock {
  readonly guide: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly needs?: string;
}

/** The blocks of a Markdown text marked to be tested. */
function testedBlocks(guide: string, text: string): TestedBlock[] {
  const blocks: TestedBlock[] = [];
  const re = /^<!-- test(?:: needs ([a-z0-9-]+))? -->\n```([a-z]+)\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index).split('\n').length;
    blocks.push({ guide, line, lang: m[2]!, code: m[3]!, ...(m[1] !== undefined ? { needs: m[1] } : {}) });
  }
  return blocks;
}

const guides = readdirSync(guidesDir)
  .filter((f) => f.endsWith('.md'))
  .sort();
const blocks = guides.flatMap((g) => testedBlocks(g, readFileSync(join(guidesDir, g), 'utf8')));

/** Shell commands, continuation lines joined, comments and blank lines left out. */
function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Why a command must not run in the test (long-running, networked or unknown), or undefined. */
function unsafe(command: string): string | undefined {
  // Quoted text (an --exec command, a filter) is an argument, not a command of its own.
  const bare = command.replace(/"[^"]*"|'[^']*'/g, '""');
  for (const part of bare.split(/\||&&/).map((p) => p.trim())) {
    const kkcm = /^npx kkcm ([a-z]+)/.exec(part);
    if (kkcm !== null) {
      if (!['spec', 'decode', 'encode', 'vectors', 'conformance'].includes(kkcm[1]!))
        return `kkcm ${kkcm[1]} is not a quick command`;
      if (kkcm[1] === 'conformance' && !/--case|--list/.test(part))
        return 'a whole conformance run is too slow for a test';
      continue;
    }
    if (!/^(echo|grep|cut|tshark) /.test(part)) return `unknown command: ${part}`;
  }
  return undefined;
}

function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** A scratch folder where the repository's docs and spec are visible under their usual paths. */
function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-guide-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['docs', 'spec']) symlinkSync(join(root, name), join(dir, name));
  return dir;
}

t.test('the guides mark their commands for testing', async (t) => {
  t.same(guides, [
    'c-codec.md',
    'embedding-the-reference-peer.md',
    'getting-started.md',
    'operating-a-peer.md',
    'reading-a-link-in-wireshark.md',
    'testing-your-peer.md',
  ]);
  t.ok(blocks.length >= 10, `${blocks.length} tested blocks`);
  for (const b of blocks) t.ok(['sh', 'ts'].includes(b.lang), `${b.guide}:${b.line} is sh or ts`);
  for (const b of blocks.filter((x) => x.lang === 'sh')) {
    for (const c of commands(b.code)) t.equal(unsafe(c), undefined, `${b.guide}:${b.line}: ${c}`);
  }
});

t.test('the safety check refuses commands that are slow or unknown', async (t) => {
  t.match(unsafe('npx kkcm peer --role master --listen 127.0.0.1:7000'), /not a quick command/);
  t.match(unsafe('npx kkcm conformance --connect 10.0.0.1:7000'), /too slow/);
  t.match(unsafe('rm -rf /'), /unknown command/);
  t.equal(unsafe('npx kkcm conformance --case x --exec "npx kkcm peer --role master"'), undefined);
  t.equal(unsafe(`echo '{"a":1}' | npx kkcm encode -`), undefined);
});

for (const b of blocks) {
  const missing = b.needs !== undefined && !hasTool(b.needs) ? `needs ${b.needs}, which is not installed here` : false;
  if (missing !== false) t.comment(`${b.guide}:${b.line} skipped: ${missing}`);
  t.test(`${b.guide}:${b.line} (${b.lang}) runs and exits 0`, { timeout: 120_000, skip: missing }, async (t) => {
    const dir = scratch(t);
    let argv: string[];
    if (b.lang === 'sh') {
      argv = ['bash', '-euo', 'pipefail', '-c', b.code.replace(/\bnpx kkcm\b/g, KKCM)];
    } else {
      const code = b.code.replace(/from '(kkcm\/[a-z]+)'/g, (m, name: string) =>
        ENTRY[name] !== undefined ? `from '${join(root, ENTRY[name])}'` : m,
      );
      const file = join(dir, 'guide-example.mts');
      writeFileSync(file, code);
      argv = ['node', '--import', tsx, file];
    }
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: dir,
      encoding: 'utf8',
      timeout: 110_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    t.equal(r.status, 0, 'exits 0', {
      stdout: r.stdout.slice(-3000),
      stderr: r.stderr.slice(-3000),
      error: r.error?.message,
    });
  });
}
