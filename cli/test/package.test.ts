/**
 * What `npm pack` ships (issue 12, defect 10): the built library, the spec, the schemas, the
 * vectors and the user docs, and nothing a user cannot use: no test or tool sources, no
 * TypeScript beside its declarations, no build cache, and no source map that points at a
 * file the tarball does not hold.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';

const root = packageRoot();

interface PackEntry {
  path: string;
}

if (!existsSync(join(root, 'dist', 'cli', 'src', 'main.js'))) {
  t.skip('dist/ is not built (npm install builds it through "prepare"); nothing to pack', async () => {});
} else {
  // --ignore-scripts: list what the current build would ship, without rebuilding it here.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const packed = JSON.parse(out) as { files: PackEntry[] }[];
  const files = packed[0]?.files.map((f) => f.path) ?? [];
  const shipped = new Set(files);

  t.test('the tarball holds what a user needs', async (t) => {
    for (const need of [
      'package.json',
      'README.md',
      'bin/kkcm.js',
      'dist/cli/src/main.js',
      'dist/codec/src/index.d.ts',
      'dist/conformance/src/index.js',
      'dist/reference-impl/src/index.js',
      'spec/kkcm.spec.json',
      'spec/kkcm.spec.schema.json',
      'conformance/report.schema.json',
      'docs/protocol.md',
      'docs/wireshark/jsripc.lua',
    ]) {
      t.ok(shipped.has(need), `ships ${need}`);
    }
    t.ok(
      files.some((f) => f.startsWith('spec/vectors/')),
      'ships the golden vectors',
    );
    t.ok(
      files.some((f) => f.startsWith('docs/guides/')),
      'ships the guides',
    );
  });

  t.test('the tarball holds nothing a user cannot use', async (t) => {
    t.ok(files.length > 0, 'the listing is not empty');
    const stray = files.filter(
      (f) =>
        /(^|\/)(test|tools|bench)\//.test(f) ||
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        f.endsWith('.tsbuildinfo') ||
        f.endsWith('.c') ||
        f.endsWith('.h'),
    );
    t.same(stray, [], 'no test, tool or bench files, no TypeScript sources, no build cache');
  });

  t.test('every shipped source map carries its sources', async (t) => {
    const maps = files.filter((f) => f.endsWith('.map'));
    t.ok(maps.length > 0, 'there are source maps to check');
    const dangling: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(root, m), 'utf8')) as { sources: string[]; sourcesContent?: unknown[] };
      const inline =
        map.sourcesContent?.length === map.sources.length && map.sourcesContent.every((s) => typeof s === 'string');
      if (!inline) dangling.push(m);
    }
    t.same(dangling, [], 'each map inlines its sources, so none points at a file left out of the tarball');
  });
}
