// Provenance [issue 11, point 7]: every requirement, message, field, enum value, error code,
// limit, timer and session state, transition, rule and topology says where it comes from: a section of the design (kkcm_design.txt) or a
// kkcm addition with its reason. The schema requires it; this test walks the file itself, so
// it fails on a missing source even if the schema were loosened.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { defaultSpecPath, SpecError, validateSpec } from '../src/index.js';

type Json = Record<string, unknown>;

/**
 * The sections of kkcm_design.txt a source may cite: its numbered sections and their lettered
 * and numbered items (6.2.1 has two items lettered a: cite them as "6.2.1.a" and "6.2.1 second a").
 */
const DESIGN_SECTIONS = new Set([
  ...['1', '2', '3', '4', '4.1', '4.2', '5', '6', '6.1', '6.2', '6.2.1', '7', '7.1', '7.2', '8', '9', '10', 'A'],
  ...['a', 'b', 'c', 'd'].map((x) => `4.1.${x}`),
  ...['a', 'b', 'c'].map((x) => `4.2.${x}`),
  ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => `6.1.${x}`),
  ...['a', 'b', 'c'].map((x) => `6.2.1.${x}`),
  ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => `7.2.${x}`),
  ...['1', '2', '3', '4', '5', '6'].map((x) => `7.2.b.${x}`),
  ...['1', '2', '3', '4'].map((x) => `8.${x}`),
]);

const raw = (): Json => JSON.parse(readFileSync(defaultSpecPath(), 'utf8')) as Json;
const list = (x: unknown): Json[] => (Array.isArray(x) ? (x as Json[]) : []);
const values = (x: unknown): [string, Json][] => Object.entries((x ?? {}) as Record<string, Json>);

/** Every item that must say where it comes from, with a path naming it. */
function sourcedItems(spec: Json): [string, Json][] {
  const out: [string, Json][] = [];
  const fields = (owner: string, fs: unknown): void => {
    for (const f of list(fs)) out.push([`${owner}.${String(f.name)}`, f]);
  };
  fields('header', (spec.header as Json).fields);
  for (const f of list(spec.flags)) out.push([`flags.${String(f.name)}`, f]);
  for (const c of list(spec.channels)) out.push([`channels.${String(c.name)}`, c]);
  for (const c of list(spec.clients)) out.push([`clients.${String(c.name)}`, c]);
  for (const f of list(spec.features)) out.push([`features.${String(f.name)}`, f]);
  for (const [name, e] of values(spec.enums))
    for (const v of list(e.values)) out.push([`enums.${name}.${String(v.name)}`, v]);
  for (const [name, s] of values(spec.structs)) fields(`structs.${name}`, s.fields);
  for (const m of list(spec.messages)) {
    out.push([`messages.${String(m.name)}`, m]);
    for (const s of list(m.subtypes)) {
      out.push([`messages.${String(m.name)}.${String(s.name)}`, s]);
      fields(`messages.${String(m.name)}.${String(s.name)}`, s.fields);
    }
  }
  for (const e of list(spec.errors)) out.push([`errors.${String(e.code)}`, e]);
  for (const [name, q] of values(spec.limits)) out.push([`limits.${name}`, q]);
  for (const [name, q] of values(spec.timers)) out.push([`timers.${name}`, q]);
  for (const r of list(spec.requirements)) out.push([`requirements.${String(r.id)}`, r]);
  const session = spec.session as Json;
  for (const s of list(session.states)) out.push([`session.states.${String(s.name)}`, s]);
  for (const x of list(session.transitions)) out.push([`session.transitions.${String(x.from)}->${String(x.to)}`, x]);
  list(session.rules).forEach((r, i) => out.push([`session.rules.${i}`, r]));
  for (const x of list(session.topologies)) out.push([`session.topologies.${String(x.name)}`, x]);
  return out;
}

/** Why a source is not acceptable, or undefined when it is. */
function sourceProblem(source: unknown): string | undefined {
  if (typeof source !== 'string') return 'no source';
  if (/^kkcm addition: \S.{6,}$/.test(source)) return undefined;
  const m = /^design ([0-9A][0-9A-Za-z.]*)/.exec(source);
  if (m === null) return `"${source}" is neither "design <section>" nor "kkcm addition: <reason>"`;
  if (!DESIGN_SECTIONS.has(m[1]!)) return `"${source}" cites ${m[1]}, not a section of the design`;
  return undefined;
}

t.test(
  'every requirement, message, field, enum value, error, limit, timer and session state, transition, rule and topology says where it comes from',
  async (t) => {
    const items = sourcedItems(raw());
    const kinds = new Set(items.map(([path]) => path.split('.')[0]));
    t.same(
      [...kinds].sort(),
      [
        'channels',
        'clients',
        'enums',
        'errors',
        'features',
        'flags',
        'header',
        'limits',
        'messages',
        'requirements',
        'session',
        'structs',
        'timers',
      ],
      'every kind of item is walked',
    );
    t.ok(items.length > 300, `${items.length} items walked`);
    const bad = items.flatMap(([path, item]) => {
      const problem = sourceProblem(item.source);
      return problem === undefined ? [] : [`${path}: ${problem}`];
    });
    t.same(bad, [], 'each item has a design section or "kkcm addition: <reason>"');
  },
);

t.test('both kinds of provenance occur, and the design-given items cite the design', async (t) => {
  const bySource = new Map(sourcedItems(raw()).map(([path, item]) => [path, String(item.source)]));
  t.match(bySource.get('requirements.KKCM-SESS-1'), /^design 7\.2\.b\.2/);
  t.match(bySource.get('channels.send'), /^design 6\.1\.a/);
  t.match(bySource.get('enums.cleanupReason.switchover'), /^design 7\.1/);
  t.match(bySource.get('header.length'), /^design 7\.2\.c/);
  t.match(bySource.get('header.magic'), /^kkcm addition: /);
  t.match(bySource.get('messages.control.hello'), /^kkcm addition: /);
  t.match(bySource.get('enums.cleanupReason.none'), /^kkcm addition: /);
  t.match(bySource.get('requirements.KKCM-PROBE-1'), /^kkcm addition: /);
  t.match(bySource.get('session.topologies.dualRe'), /^design 7\.2\.b\.2/);
  t.match(bySource.get('session.states.cleanup'), /^design 7\.2\.g/);
  t.match(bySource.get('session.states.handshaking'), /^kkcm addition: /);
  t.match(bySource.get('session.rules.0'), /^design 7\.2\.b\.2/);
});

t.test('the source check refuses what it should', async (t) => {
  t.equal(sourceProblem(undefined), 'no source');
  t.match(sourceProblem('design 11.3'), /not a section of the design/);
  t.match(sourceProblem('kkcm addition'), /neither/);
  t.match(sourceProblem('because we said so'), /neither/);
  t.equal(sourceProblem('design 6.2.1 second a'), undefined);
  t.equal(sourceProblem('kkcm addition: the handshake is ours'), undefined);
});

t.test('the schema refuses an item without a source', async (t) => {
  const cases: [string, (spec: Json) => void][] = [
    ['a requirement', (s) => delete list(s.requirements)[0]!.source],
    ['a message field', (s) => delete list(list(list(s.messages)[0]!.subtypes)[0]!.fields)[0]!.source],
    ['a message type', (s) => delete list(s.messages)[1]!.source],
    ['an enum value', (s) => delete list((s.enums as Record<string, Json>).cleanupReason!.values)[0]!.source],
    ['an error code', (s) => delete list(s.errors)[0]!.source],
    ['a timer', (s) => delete (s.timers as Record<string, Json>).periodicMs!.source],
    ['a header field', (s) => delete list((s.header as Json).fields)[0]!.source],
    ['a session state', (s) => delete list((s.session as Json).states)[0]!.source],
    ['a session transition', (s) => delete list((s.session as Json).transitions)[0]!.source],
    ['a session rule', (s) => delete list((s.session as Json).rules)[0]!.source],
    ['a topology', (s) => delete list((s.session as Json).topologies)[0]!.source],
  ];
  for (const [what, drop] of cases) {
    const spec = raw();
    drop(spec);
    t.throws(() => validateSpec(spec, 'test'), SpecError, `${what} without a source is refused`);
    t.throws(() => validateSpec(spec, 'test'), { code: 'ERR_INVALID_SPEC' });
  }
});
