import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  defaultSpecPath,
  loadSpec,
  SpecError,
  SpecModel,
  validateSpec,
  crossReferenceViolations,
  type ProtocolSpec,
} from '../src/index.js';

const raw = (): Record<string, unknown> =>
  JSON.parse(readFileSync(defaultSpecPath(), 'utf8')) as Record<string, unknown>;

function violationsOf(data: unknown): SpecError {
  try {
    validateSpec(data, 'test');
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error('spec was accepted');
}

t.test('the bundled spec passes its schema and every cross-reference rule', async (t) => {
  const spec = loadSpec();
  t.equal(spec.header.size % 4, 0, 'header size is a multiple of 4');
  t.same(crossReferenceViolations(spec), []);
  t.equal(loadSpec(), spec, 'loads are cached per path');
});

t.test('every requirement has a unique id, a level, a section and text', async (t) => {
  const model = new SpecModel(loadSpec());
  const reqs = model.requirements();
  t.ok(reqs.length >= 30);
  t.equal(new Set(reqs.map((r) => r.id)).size, reqs.length);
  for (const r of reqs) t.match(r, { id: /^KKCM-[A-Z]+-\d+$/, level: /^(MUST|SHOULD|MAY)$/, section: /./, text: /./ });
});

t.test('the static channel mapping follows design 6.1.a and 8.4', async (t) => {
  const spec = loadSpec();
  const channelsOf = (client: string): readonly string[] =>
    spec.messages.find((m) => m.client === client)?.channels ?? [];
  t.same(channelsOf('iha'), ['send']);
  t.same(channelsOf('sdrl'), ['send']);
  t.same(channelsOf('psrm'), ['send']);
  t.same(channelsOf('prl'), ['receive']);
  t.same([...channelsOf('kkcm')].sort(), ['receive', 'send']);
});

t.test("cleanup reasons are the design's four with the design's numbers, plus none for reports at 0xFF", async (t) => {
  const values = loadSpec().enums.cleanupReason?.values.map((v) => [v.name, v.value, v.designName]);
  t.same(values, [
    ['switchover', 0, 'JSR_CLEANUP_SWITCHOVER'],
    ['peerDown', 1, 'JSR_CLEANUP_ORE_DOWN'],
    ['nsrDeconfigured', 2, 'JSR_CLEANUP_NSR_DECONFIG'],
    ['socketIoError', 3, 'JSR_CLEANUP_NSR_IO_ERR'],
    ['none', 0xff, undefined],
  ]);
});

t.test("client ids 1 to 4 are the design's jsr_kkcm_client_type_t; kkcm and probe are additions", async (t) => {
  const clients = loadSpec().clients.map((c) => [c.name, c.id, c.designName]);
  t.same(clients, [
    ['kkcm', 0, undefined],
    ['iha', 1, 'JSR_KKCM_CLIENT_IHA'],
    ['sdrl', 2, 'JSR_KKCM_CLIENT_SDRL'],
    ['psrm', 3, 'JSR_KKCM_CLIENT_PSRM'],
    ['prl', 4, 'JSR_KKCM_CLIENT_PRL'],
    ['probe', 5, undefined],
  ]);
});

t.test('a spec breaking the schema names the path and the rule', async (t) => {
  const data = raw();
  const messages = data.messages as { subtypes: { fields: { type: string }[] }[] }[];
  messages[0]!.subtypes[0]!.fields[0]!.type = 'u128';
  const err = violationsOf(data);
  t.equal(err.code, 'ERR_INVALID_SPEC');
  t.ok(
    err.violations.some((v) => v.path === '/messages/0/subtypes/0/fields/0/type' && v.rule.startsWith('enum')),
    JSON.stringify(err.violations),
  );
});

t.test('a missing required property is reported with the required rule', async (t) => {
  const data = raw();
  delete data.header;
  const err = violationsOf(data);
  t.ok(err.violations.some((v) => v.rule.startsWith('required')));
});

t.test('cross-reference rules catch what the schema cannot', async (t) => {
  const cases: [string, (d: ProtocolSpec & Record<string, unknown>) => void, string][] = [
    [
      'duplicate type numbers',
      (d) => {
        (d.messages[1] as { type: number }).type = d.messages[0]!.type;
      },
      'unique',
    ],
    [
      'an unknown enum reference',
      (d) => {
        (d.messages[0]!.subtypes[0]!.fields[2] as { enum: string }).enum = 'nope';
      },
      'enum-ref',
    ],
    [
      'a length field that names nothing',
      (d) => {
        (d.messages[0]!.subtypes[0]!.fields[9] as { length: string }).length = 'nodeId';
      },
      'derived-pair',
    ],
    [
      'a handshake channel field that names nothing',
      (d) => {
        (d.messages[0]!.subtypes[0] as { handshake: object }).handshake = { channelField: 'nope' };
      },
      'handshake-field',
    ],
    [
      'a handshake version field that is not u8',
      (d) => {
        (d.messages[0]!.subtypes[0] as { handshake: object }).handshake = { versionField: 'sessionId' };
      },
      'handshake-field',
    ],
    [
      'an unknown client',
      (d) => {
        (d.messages[0] as { client: string }).client = 'ghost';
      },
      'client-ref',
    ],
    [
      'a flag mask that is not 1 << bit',
      (d) => {
        (d.flags[0] as { mask: number }).mask = 4;
      },
      'flag-mask',
    ],
    [
      'a header size that does not match its fields',
      (d) => {
        (d.header as { size: number }).size = 20;
      },
      'header-size',
    ],
    [
      'an enum value too large for its base',
      (d) => {
        (d.enums.role!.values[0] as { value: number }).value = 300;
      },
      'enum-range',
    ],
    [
      'duplicate error values',
      (d) => {
        (d.errors[1] as { value: number }).value = d.errors[0]!.value;
      },
      'unique',
    ],
    [
      'a version range with current outside it',
      (d) => {
        (d.protocolVersions as { current: number }).current = 9;
      },
      'version-range',
    ],
    [
      'an unknown struct',
      (d) => {
        (d.messages[3]!.subtypes[1]!.fields[2] as { items: string }).items = 'nothing';
      },
      'struct-ref',
    ],
    [
      'a rest field that is not last',
      (d) => {
        (d.messages[0]!.subtypes[7]!.fields as unknown[]).unshift({
          name: 'blob',
          type: 'bytes',
          rest: true,
          source: 'kkcm addition: a test field',
          doc: 'x',
        });
      },
      'rest-last',
    ],
  ];
  for (const [title, mutate, rule] of cases) {
    const data = raw() as ProtocolSpec & Record<string, unknown>;
    mutate(data);
    const err = violationsOf(data);
    t.ok(
      err.violations.some((v) => v.rule === rule),
      `${title}: ${JSON.stringify(err.violations)}`,
    );
  }
});

t.test('loadSpec reports a file that is not JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-spec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'bad.json');
  writeFileSync(path, '{ not json');
  t.throws(() => loadSpec(path), { code: 'ERR_INVALID_SPEC' });
});

t.test('the normalised spec lists every message and the requirements', async (t) => {
  const model = new SpecModel(loadSpec());
  const n = model.normalised() as { messageIndex: { name: string }[]; requirements: unknown[]; $schema?: string };
  t.equal(n.messageIndex.length, model.messages.length);
  t.equal(n.requirements.length, model.spec.requirements.length);
  t.notOk('$schema' in n);
  t.equal(model.lookup(0x20, 1)?.name, 'prl.packet');
  t.equal(model.message('prl.packet')?.minBodySize, 20);
  t.equal(model.messageType(0x99), undefined);
});
