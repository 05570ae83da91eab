/**
 * Every generated doc, in memory: path (relative to the repository root) to content. The
 * Markdown references and the Wireshark dissector (docs/tools/dissector.ts).
 * Deterministic: no timestamps, stable order, everything from the spec, the case
 * registry and the CLI's own help.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASES } from '../../conformance/src/index.js';
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import { casesPage, errorsPage, messagesPage, requirementsPage } from './catalogue-pages.js';
import { cliPage } from './cli-page.js';
import { DISSECTOR_PATH, generateDissector } from './dissector.js';
import { protocolPage } from './protocol-page.js';

/** Generates every doc from the bundled spec and the case catalogue. */
export async function generateDocs(): Promise<Map<string, string>> {
  const model = new SpecModel(loadSpec());
  const docs = new Map<string, string>();
  docs.set('docs/protocol.md', protocolPage(model));
  docs.set('docs/messages.md', messagesPage(model));
  docs.set('docs/requirements.md', requirementsPage(model, CASES));
  docs.set('docs/errors.md', errorsPage(model));
  docs.set('docs/conformance-cases.md', casesPage(model, CASES));
  docs.set('docs/cli.md', await cliPage());
  docs.set(DISSECTOR_PATH, generateDissector(model.spec));
  return docs;
}

/** Paths whose committed content differs from what the generator makes now. */
export function staleDocs(docs: ReadonlyMap<string, string>, root: string): string[] {
  const stale: string[] = [];
  for (const [path, text] of docs) {
    let current: string | undefined;
    try {
      current = readFileSync(join(root, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== text) stale.push(path);
  }
  return stale;
}
