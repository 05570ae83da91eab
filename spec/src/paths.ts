/**
 * Locates the package's own files whether the code runs from source or from `dist/`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** Absolute path of the kkcm package root (the folder holding `spec/kkcm.spec.json`). */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'spec', 'kkcm.spec.json')) && existsSync(join(dir, 'package.json'))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    /* c8 ignore next */
    if (parent === dir) throw new Error('kkcm package root not found');
    dir = parent;
  }
}

/** Path of the bundled spec file. */
export function defaultSpecPath(): string {
  return join(packageRoot(), 'spec', 'kkcm.spec.json');
}

/** Path of the spec file's JSON Schema. */
export function specSchemaPath(): string {
  return join(packageRoot(), 'spec', 'kkcm.spec.schema.json');
}
