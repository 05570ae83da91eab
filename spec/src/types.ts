/**
 * TypeScript shape of a kkcm spec file: the types generated from `kkcm.spec.schema.json`
 * into `gen/spec-types.ts` (`npm run generate`; `npm run generate:check` fails when they are
 * stale), so they cannot drift from what the loader accepts. To change a type or its
 * documentation, change the schema and regenerate.
 *
 * @module
 */
export type * from './gen/spec-types.js';
