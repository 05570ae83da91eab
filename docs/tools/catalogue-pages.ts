/**
 * The catalogue pages: docs/messages.md, docs/requirements.md, docs/errors.md and
 * docs/conformance-cases.md, from the spec and the conformance case registry.
 *
 * @module
 */
import { MUTANTS } from '../../conformance/mutants/mutants.js';
import { provokedBy, UNPROVOKED } from '../../conformance/src/catalog.js';
import type { ConformanceCase } from '../../conformance/src/index.js';
import type { SpecModel } from '../../spec/src/index.js';
import { fixedLayoutSize } from './fields.js';
import {
  anchor,
  caseAnchor,
  code,
  enumValueTable,
  errorAnchor,
  generatedHeader,
  hexAndDecimal,
  messageAnchor,
  raw,
  requirementAnchor,
  table,
} from './markdown.js';

const SPEC = 'spec/kkcm.spec.json';
const CATALOGUE = 'conformance/src/catalog.ts (CASES)';

/** docs/messages.md: every type and subtype, with a link to its diagram. */
export function messagesPage(model: SpecModel): string {
  const { spec } = model;
  const clientLabel = (name: string): string => spec.clients.find((c) => c.name === name)?.label ?? name;
  const rows = model.messages.map((m) => {
    const fixed = fixedLayoutSize(model, m.fields);
    return [
      hexAndDecimal(m.type),
      hexAndDecimal(m.subtype),
      m.subtypeSpec.label,
      raw(code(m.name)),
      clientLabel(m.client),
      m.channels.join(', '),
      m.typeSpec.illustrative === true ? 'yes' : 'no',
      fixed !== undefined ? `${fixed}` : `≥ ${m.minBodySize}`,
      m.subtypeSpec.source,
      raw(`[diagram](protocol.md#${messageAnchor(m.name)})`),
    ];
  });
  return [
    generatedHeader('Message catalogue', [SPEC]),
    `${model.messages.length} messages in ${spec.messages.length} types. *Illustrative* bodies are a documented example set: ` +
      'the real IHA, SDRL, PSRM and PRL formats were never published. Body sizes are in bytes, header excluded; ' +
      `every message adds the ${spec.header.size}-byte header. The qualified name is what \`kkcm encode\` and \`kkcm decode\` use.`,
    '',
    table(['Type', 'Subtype', 'Label', 'Name', 'Client', 'Channels', 'Illustrative', 'Body', 'Source', 'Layout'], rows),
    '',
  ].join('\n');
}

/**
 * docs/requirements.md: every requirement with the cases that check it.
 *
 * @throws Error when a MUST is checked by no case: the catalogue would be a lie.
 */
export function requirementsPage(model: SpecModel, cases: readonly ConformanceCase[]): string {
  const reqs = model.requirements();
  const casesOf = (id: string): ConformanceCase[] => cases.filter((c) => c.requirements.includes(id));
  const uncovered = reqs.filter((r) => r.level === 'MUST' && casesOf(r.id).length === 0).map((r) => r.id);
  if (uncovered.length > 0)
    throw new Error(`requirements.md: MUST requirements checked by no conformance case: ${uncovered.join(', ')}`);
  const sections = [...new Set(reqs.map((r) => r.section))];
  const count = (level: string): number => reqs.filter((r) => r.level === level).length;
  const out = [
    generatedHeader('Requirements', [SPEC, CATALOGUE]),
    `${reqs.length} requirements: ${count('MUST')} MUST, ${count('SHOULD')} SHOULD, ${count('MAY')} MAY (levels as in RFC 2119). ` +
      'Every MUST is checked by at least one [conformance case](conformance-cases.md); a peer that fails a MUST case does not conform, ' +
      'a SHOULD case that fails is a warning. Ids are stable and never reused. *Source* says where each requirement comes from: ' +
      'a section of the design (kkcm_design.txt), or a kkcm addition with its reason.',
  ];
  for (const section of sections) {
    out.push(
      '',
      `## ${section}`,
      '',
      table(
        ['Id', 'Level', 'Requirement', 'Source', 'Checked by'],
        reqs
          .filter((r) => r.section === section)
          .map((r) => {
            const by = casesOf(r.id).map((c) => `[${code(c.id)}](conformance-cases.md#${caseAnchor(c.id)})`);
            return [
              raw(`${anchor(requirementAnchor(r.id))}${r.id}`),
              r.level,
              r.text,
              r.source,
              raw(by.length > 0 ? by.join(', ') : '—'),
            ];
          }),
      ),
    );
  }
  out.push('');
  return out.join('\n');
}

/** docs/errors.md: error codes, cleanup reasons and details, HELLO-REJECT reasons. */
export function errorsPage(model: SpecModel): string {
  const { spec } = model;
  const mentions = (errorCode: string): string[] =>
    spec.requirements
      .filter((r) => r.text.includes(errorCode))
      .map((r) => `[${r.id}](requirements.md#${requirementAnchor(r.id)})`);
  const out = [
    generatedHeader('Error codes, cleanup reasons and reject reasons', [SPEC]),
    'Error codes are append-only: a code is never renumbered or reused. A **wire** code may travel in the `code` field of an ' +
      'ERROR (a protocol error, sent before the sender closes the session) or a NACK (a confirmed message was not accepted). ' +
      'A **local** code is only ever raised by an implementation to its caller: the codec, the reference peer and the CLI throw ' +
      'errors whose `code` property is the string code below.',
    '',
    '## Error codes',
    '',
    table(
      ['Value', 'Code', 'Kind', 'Meaning', 'Source'],
      spec.errors.map((e) => [
        String(e.value),
        raw(`[${code(e.code)}](#${errorAnchor(e.code)})`),
        e.wire ? 'wire' : 'local',
        e.doc,
        e.source,
      ]),
    ),
  ];
  for (const e of spec.errors) {
    const reqs = mentions(e.code);
    out.push(
      '',
      anchor(errorAnchor(e.code)),
      `### ${e.code}`,
      '',
      `Value ${e.value}, ${e.wire ? 'wire (may travel in ERROR or NACK)' : 'local (never on the wire)'}. ${e.doc}${reqs.length > 0 ? ` Named in ${reqs.join(', ')}.` : ''} Source: ${e.source}.`,
    );
  }
  out.push(
    '',
    '## Cleanup reasons',
    '',
    "The reason every client's cleanup handler receives when a session ends (design 6.2.1), carried by SHUTDOWN so that " +
      "the peer cleans up with the same reason, and reported by the probe. The values are the design's " +
      '(`jsr_cleanup_reason_t`, design 7.1); `none` is a kkcm addition that only appears in probe reports.',
    '',
    enumValueTable(spec.enums.cleanupReason),
    '',
    '### Cleanup details',
    '',
    'Finer detail for a cleanup reason, append-only.',
    '',
    enumValueTable(spec.enums.cleanupDetail),
    '',
    '## HELLO-REJECT reasons',
    '',
    'Why the listening side refused a HELLO (the `reason` field of HELLO-REJECT).',
    '',
    enumValueTable(spec.enums.rejectReason),
    '',
  );
  return out.join('\n');
}

/** docs/conformance-cases.md: the case catalogue, grouped by the first part of the id. */
export function casesPage(model: SpecModel, cases: readonly ConformanceCase[]): string {
  const groups = [...new Set(cases.map((c) => c.id.split('.')[0]!))];
  const reqLink = (id: string): string => `[${id}](requirements.md#${requirementAnchor(id)})`;
  const known = new Set(model.spec.requirements.map((r) => r.id));
  const unknown = cases.flatMap((c) => c.requirements.filter((r) => !known.has(r)).map((r) => `${c.id} → ${r}`));
  if (unknown.length > 0)
    throw new Error(`conformance-cases.md: cases name unknown requirements: ${unknown.join(', ')}`);
  const out = [
    generatedHeader('Conformance cases', [CATALOGUE, SPEC]),
    `${cases.length} cases. Run them with \`npx kkcm conformance\` (see [the CLI reference](cli.md#command-conformance) and the guide ` +
      '[Testing your own peer](guides/testing-your-peer.md)); `npx kkcm conformance --list` prints this catalogue. ' +
      "Ids are stable: select with `--case ID` or a glob (`--case 'framing.*'`), `--tag` and `--level`. " +
      '*Roles* are the roles the peer under test can play in the case. A negative case accepts exactly its allowed outcomes.',
  ];
  for (const g of groups) {
    out.push(
      '',
      `## ${g}`,
      '',
      table(
        ['Id', 'Title', 'Level', 'Roles', 'Channels', 'Tags', 'Requirements', 'Allowed outcomes'],
        cases
          .filter((c) => c.id.split('.')[0] === g)
          .map((c) => [
            raw(`${anchor(caseAnchor(c.id))}${code(c.id)}`),
            c.title,
            c.level,
            c.roles.join(', '),
            c.channels.join(', '),
            c.tags.join(', '),
            raw(c.requirements.map(reqLink).join(', ')),
            c.allowedOutcomes !== undefined ? c.allowedOutcomes.join('; ') : '—',
          ]),
      ),
    );
  }
  const provoked = provokedBy(cases);
  out.push(
    '',
    '## Error codes and reject reasons provoked',
    '',
    'Every wire error code and HELLO-REJECT reason of the spec, with the cases whose correct answer carries it ' +
      '(CI-checked: a code no case provokes must be listed here with the reason).',
    '',
    table(
      ['Code or reason', 'Provoked by'],
      [...provoked].map(([key, ids]) => [
        raw(code(key)),
        ids.length > 0
          ? raw(ids.map((id) => `[${code(id)}](#${caseAnchor(id)})`).join(', '))
          : `not provoked: ${UNPROVOKED[key] ?? '?'}`,
      ]),
    ),
    '',
    '## Mutant peers',
    '',
    `${MUTANTS.length} deliberately broken peers (\`npm run mutants\`, conformance/mutants/): each breaks one requirement, ` +
      'and the test fails unless each of its killers fails it *naming that requirement* (an error verdict never counts).',
    '',
    table(
      ['Mutant', 'Breaks', 'How', 'Caught by'],
      MUTANTS.map((m) => [
        raw(code(m.name)),
        raw(reqLink(m.breaks)),
        m.description,
        raw(m.expectKilledBy.map((id) => `[${code(id)}](#${caseAnchor(id)})`).join(', ')),
      ]),
    ),
  );
  out.push('');
  return out.join('\n');
}
