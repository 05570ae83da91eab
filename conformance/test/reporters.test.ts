/**
 * Every report format of a conformance run (human, live view, JSON, TAP, JUnit, HTML), rendered
 * from the same reports and checked by parsers of each format. Why one file past ~500 lines: one
 * subject, the reporters, checked against the same fixtures.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Parser, type FinalResults } from 'tap-parser';
import {
  ConformanceExit,
  emptySummary,
  exitCodeOf,
  mustCasesNotRun,
  verdictLine,
  type CaseResult,
  type ConformanceReport,
  type TranscriptEntry,
} from '../src/report.js';
import {
  colorEnabled,
  isReportFormat,
  LiveView,
  renderHtml,
  renderHuman,
  renderJson,
  renderJunit,
  renderReport,
  renderTap,
  REPORT_FORMATS,
  worstVerdict,
} from '../src/reporters/index.js';
import { reportSchemaPath } from '../src/expectations.js';

// ---------------------------------------------------------------------------------------
// Fixtures: one case of every verdict, with peer-controlled text that tries to break out of
// every output format.

/* eslint-disable no-control-regex -- these patterns look for control characters on purpose */
const ESC = /\x1b/;
const SGR = /\x1b\[[0-9;]*m/g;
const REDRAW_OR_COLOR = /[\r\x1b]/;
const CONTROL_BUT_NEWLINE = /[\x00-\x08\x0b-\x1f\x7f]/;
const NOT_XML_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;
/* eslint-enable no-control-regex */

const HOSTILE = '<script>alert(1)</script> & "q" \'a\' ]]> \x1b[31mred\x1b[0m \x00\x07\x0b \ud800 #hash';

const LONG_HEX = '4b4b434d'.repeat(40);

const transcript: TranscriptEntry[] = [
  {
    t: 0,
    dir: 'out',
    channel: 'send',
    conn: 1,
    hex: '4b4b434d0100010800000014',
    length: 12,
    decoded: { name: 'HELLO', header: { seq: 0n }, body: { version: 1 } },
  },
  {
    t: 3,
    dir: 'in',
    channel: 'send',
    conn: 1,
    hex: `${LONG_HEX}…`,
    length: 400,
    decoded: { name: 'ERROR', body: { text: HOSTILE, raw: new Uint8Array([1, 2, 255]) } },
  },
  { t: 4, dir: 'note', channel: null, conn: 0, hex: '', length: 0, decoded: 'peer closed the connection' },
];

function result(over: Partial<CaseResult> & Pick<CaseResult, 'id' | 'verdict'>): CaseResult {
  return {
    title: `checks ${over.id}`,
    requirements: ['KKCM-SESS-2'],
    level: 'MUST',
    role: 'master',
    channels: ['send'],
    tags: ['session'],
    durationMs: 12,
    rerun: `npx kkcm conformance --connect 127.0.0.1:7000 --case ${over.id} --role ${over.role ?? 'master'}`,
    ...over,
  };
}

const CASES: CaseResult[] = [
  result({ id: 'handshake.version.overlap', verdict: 'pass' }),
  result({
    id: 'framing.length.too-small',
    verdict: 'fail',
    requirements: ['KKCM-FRM-10', 'KKCM-FRM-2'],
    requirementTexts: ['A receiver MUST close on a length below the header size.', 'Lengths are big-endian.'],
    expected: 'the peer closes the connection, or sends ERROR(length)',
    observed: `the peer sent ${HOSTILE}`,
    allowedOutcomes: ['close', 'ERROR(length) then close'],
    transcript,
    durationMs: 1534,
  }),
  result({
    id: 'session.heartbeat.interval',
    verdict: 'warn',
    level: 'SHOULD',
    role: 'backup',
    expected: 'a heartbeat within 1000 ms',
    observed: 'none in 3000 ms',
    transcript: transcript.slice(0, 1),
  }),
  result({
    id: 'registry.optional.bulk',
    verdict: 'skip',
    role: 'backup',
    level: 'MAY',
    reason: 'peer does not offer bulk registration',
  }),
  result({ id: 'framing.split.byte-by-byte', verdict: 'xfail', reason: 'known bug #12' }),
  result({
    id: 'framing.split.two-messages',
    verdict: 'xpass',
    role: 'backup',
    reason: 'passed, but expected to fail: fixed? (expected.txt:3)',
  }),
  result({
    id: 'session.close.clean',
    verdict: 'error',
    role: 'backup',
    reason: `peer is gone: ${HOSTILE}`,
    transcript,
  }),
  result({ id: 'handshake.version.overlap', verdict: 'pass', role: 'backup' }),
];

function report(cases: CaseResult[], problems: string[] = []): ConformanceReport {
  const summary = emptySummary();
  for (const c of cases) summary[c.verdict] += 1;
  return {
    tool: 'kkcm',
    version: '0.1.0',
    specVersion: '1.0.0',
    target: 'connect 127.0.0.1:7000',
    seed: 4242,
    startedAt: '2025-01-02T03:04:05.678Z',
    durationMs: 2345,
    summary,
    conforming: summary.fail + summary.error + summary.xpass === 0,
    mustNotRun: mustCasesNotRun(cases),
    cases,
    problems,
  };
}

const FULL = report(CASES, ['stale expected failure old.case (expected.txt:7) matches no case: remove it']);
const CLEAN = report([CASES[0]!, CASES[3]!, CASES[7]!]);

// ---------------------------------------------------------------------------------------
// A small XML 1.0 well-formedness checker (elements, attributes, text, entity and character
// references, comments, CDATA, the XML declaration) that returns the element tree.

interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

// eslint-disable-next-line no-control-regex
const XML_CHAR = /^[\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function parseXml(src: string): XmlElement {
  if (!XML_CHAR.test(src)) throw new Error('character not allowed in XML 1.0');
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${pos}: ${JSON.stringify(src.slice(pos, pos + 30))}`);
  };
  const name = (): string => {
    const m = /^[A-Za-z_:][A-Za-z0-9_:.-]*/.exec(src.slice(pos));
    if (m === null) return fail('name expected');
    pos += m[0].length;
    return m[0];
  };
  const space = (): void => {
    while (/\s/.test(src[pos] ?? '')) pos++;
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;]*);?/g, (all, ref: string) => {
      if (!all.endsWith(';')) return fail('unterminated reference');
      if (ref in ENTITIES) return ENTITIES[ref]!;
      const m = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ref);
      if (m === null) return fail(`unknown entity &${ref};`);
      const code = m[1]!.startsWith('x') ? parseInt(m[1]!.slice(1), 16) : parseInt(m[1]!, 10);
      const ch = String.fromCodePoint(code);
      if (!XML_CHAR.test(ch)) return fail('reference to a character not allowed in XML');
      return ch;
    });
  const element = (): XmlElement => {
    if (src[pos] !== '<') fail('< expected');
    pos++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = pos;
      space();
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (src[pos] === '>') {
        pos++;
        break;
      }
      if (pos === before) fail('space expected before attribute');
      const key = name();
      if (key in el.attrs) fail(`duplicate attribute ${key}`);
      space();
      if (src[pos] !== '=') fail('= expected');
      pos++;
      space();
      const quote = src[pos];
      if (quote !== '"' && quote !== "'") return fail('quoted value expected');
      const end = src.indexOf(quote, pos + 1);
      if (end < 0) fail('unterminated attribute');
      const raw = src.slice(pos + 1, end);
      if (raw.includes('<')) fail('< in attribute value');
      el.attrs[key] = decode(raw);
      pos = end + 1;
    }
    for (;;) {
      const lt = src.indexOf('<', pos);
      if (lt < 0) fail('unterminated element');
      const raw = src.slice(pos, lt);
      if (raw.includes(']]>')) fail(']]> in text');
      el.text += decode(raw);
      pos = lt;
      if (src.startsWith('</', pos)) {
        pos += 2;
        if (name() !== el.name) fail(`mismatched end tag for ${el.name}`);
        space();
        if (src[pos] !== '>') fail('> expected');
        pos++;
        return el;
      }
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else if (src.startsWith('<![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA');
        el.text += src.slice(pos + 9, end);
        pos = end + 3;
      } else {
        el.children.push(element());
      }
    }
  };
  const decl = /^<\?xml version="1\.0"( encoding="UTF-8")?\?>\s*/.exec(src);
  if (decl !== null) pos = decl[0].length;
  const root = element();
  space();
  if (pos !== src.length) fail('content after the root element');
  return root;
}

function all(el: XmlElement, name: string): XmlElement[] {
  return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
}

t.test('the XML checker itself rejects what is not well-formed', async (t) => {
  t.throws(() => parseXml('<a><b></a></b>'));
  t.throws(() => parseXml('<a x="1" x="2"/>'));
  t.throws(() => parseXml('<a>&nope;</a>'));
  t.throws(() => parseXml('<a>1 < 2</a>'));
  t.throws(() => parseXml('<a>\u0001</a>'));
  t.throws(() => parseXml('<a x="&#1;"/>'));
  t.throws(() => parseXml('<a/><b/>'));
  t.same(parseXml('<a x="&lt;&#10;">t&amp;<b/></a>').attrs, { x: '<\n' });
});

// ---------------------------------------------------------------------------------------
// The published schema.

t.test('report.schema.json', async (t) => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(JSON.parse(readFileSync(reportSchemaPath(), 'utf8')) as object);
  const fromJson = (r: ConformanceReport): Record<string, unknown> =>
    JSON.parse(renderJson(r)) as Record<string, unknown>;

  t.test('accepts the JSON reports the suite writes', async (t) => {
    for (const r of [FULL, CLEAN, report([])]) {
      t.ok(validate(fromJson(r)), JSON.stringify(validate.errors));
    }
  });

  t.test('rejects broken reports, each for its own reason', async (t) => {
    const broken: Array<[string, (r: Record<string, unknown>) => void]> = [
      ['a missing summary count', (r) => delete (r.summary as Record<string, unknown>).xpass],
      ['an unknown verdict', (r) => ((r.cases as Array<Record<string, unknown>>)[0]!.verdict = 'maybe')],
      ['an unknown field', (r) => (r.colour = 'blue')],
      ['a wrong tool', (r) => (r.tool = 'h2spec')],
      ['conforming with a failure', (r) => (r.conforming = true)],
      ['a skip without a reason', (r) => delete (r.cases as Array<Record<string, unknown>>)[3]!.reason],
      ['a failure without observed', (r) => delete (r.cases as Array<Record<string, unknown>>)[1]!.observed],
      [
        'a negative connection number',
        (r) =>
          (((r.cases as Array<Record<string, unknown>>)[1]!.transcript as Array<Record<string, unknown>>)[0]!.conn =
            -1),
      ],
      [
        'hex that is not hex',
        (r) =>
          (((r.cases as Array<Record<string, unknown>>)[1]!.transcript as Array<Record<string, unknown>>)[0]!.hex =
            'zz'),
      ],
      ['a case id with a space', (r) => ((r.cases as Array<Record<string, unknown>>)[0]!.id = 'two words')],
      ['a non-integer seed', (r) => (r.seed = 1.5)],
      ['a date that is not ISO 8601', (r) => (r.startedAt = 'yesterday')],
    ];
    for (const [why, breakIt] of broken) {
      const r = fromJson(FULL);
      t.ok(validate(r), `the intact report is valid before: ${why}`);
      breakIt(r);
      t.notOk(validate(r), `rejects ${why}`);
    }
    const clean = fromJson(CLEAN);
    t.ok(validate(clean));
    (clean.problems as string[]).push('stale expected failure a.b (x:1) matches no case: remove it');
    t.notOk(validate(clean), 'rejects a conforming run with problems');
  });
});

// ---------------------------------------------------------------------------------------
// Human.

t.test('human report', async (t) => {
  const text = renderHuman(FULL, { color: false });

  t.test('prints one line per case with symbol, verdict, id, role and duration', async (t) => {
    const lines = text.split('\n');
    t.match(lines[0], /^✓ pass +handshake\.version\.overlap \[master\] +12 ms$/);
    t.match(lines[1], /^✗ fail +framing\.length\.too-small \[master\] +1\.53 s$/);
    t.match(
      lines[3],
      /^- skip +registry\.optional\.bulk \[backup\] +12 ms +\(peer does not offer bulk registration\)$/,
    );
    t.match(lines[6], /^E error +session\.close\.clean \[backup\]/);
  });

  t.test('explains a failure: expected, observed, allowed outcomes, requirements, transcript, rerun', async (t) => {
    const block = text.slice(text.indexOf('✗ fail  framing.length.too-small [master] —'));
    t.match(block, 'expected: the peer closes the connection, or sends ERROR(length)');
    t.match(block, 'observed: the peer sent');
    t.match(block, '    - close\n    - ERROR(length) then close');
    t.match(block, 'KKCM-FRM-10  A receiver MUST close on a length below the header size.');
    t.match(block, 'KKCM-FRM-2  Lengths are big-endian.');
    t.match(block, /\+0ms +→ #1 send +HELLO \{"header":\{"seq":"0"\},"body":\{"version":1\}\}/);
    t.match(block, /\+3ms +← #1 send +ERROR /);
    t.match(
      block,
      /4b4b434d 4b4b434d 4b4b434d 4b4b434d 4b4b434d 4b4b434d … \(400 bytes\)/,
      'long hex is abridged to one line',
    );
    t.match(block, /· #0 - +peer closed the connection/);
    t.match(
      block,
      'rerun:    npx kkcm conformance --connect 127.0.0.1:7000 --case framing.length.too-small --role master',
    );
  });

  t.test('explains warnings, errors and unexpected passes, not passes or skips', async (t) => {
    t.match(text, /! warn +session\.heartbeat\.interval \[backup\] — /);
    t.match(text, /E error +session\.close\.clean \[backup\] — .*\n +reason: +peer is gone/);
    t.match(text, /✗ xpass framing\.split\.two-messages \[backup\] — /);
    t.equal(
      text.split('handshake.version.overlap').length - 1,
      2,
      'the passing case appears only in its two case lines',
    );
  });

  t.test('ends with problems and a summary line with every count and the verdict', async (t) => {
    t.match(text, 'Problems with the run:\n  - stale expected failure old.case');
    t.match(text, '8 cases: 2 pass, 1 fail, 1 warn, 1 skip, 1 xfail, 1 xpass, 1 error — NOT CONFORMING');
    t.match(text, 'target connect 127.0.0.1:7000 · seed 4242');
    t.match(
      renderHuman(CLEAN, { color: false }),
      /3 cases: 2 pass, 0 fail, 0 warn, 1 skip, 0 xfail, 0 xpass, 0 error — CONFORMING\n$/,
    );
  });

  t.test("writes no escape sequence without color, not even the peer's own", async (t) => {
    t.notMatch(text, ESC);
    t.notMatch(text, CONTROL_BUT_NEWLINE, 'no control character but newline');
    t.match(text, '\\x1b[31mred', "the peer's escape is shown, not obeyed");
  });

  t.test('colors verdicts and the summary with ANSI when asked', async (t) => {
    const colored = renderHuman(FULL, { color: true });
    t.match(colored, '\x1b[32m✓ pass \x1b[0m');
    t.match(colored, '\x1b[1;31mNOT CONFORMING\x1b[0m');
    t.equal(colored.replace(SGR, ''), text, 'the same text once colors are removed');
  });

  t.test('colors only on a terminal, never with NO_COLOR or TERM=dumb, always with FORCE_COLOR', async (t) => {
    t.equal(colorEnabled(true, {}), true);
    t.equal(colorEnabled(false, {}), false);
    t.equal(colorEnabled(true, { NO_COLOR: '1' }), false);
    t.equal(colorEnabled(true, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count');
    t.equal(colorEnabled(true, { NO_COLOR: '1', FORCE_COLOR: '1' }), false, 'NO_COLOR wins');
    t.equal(colorEnabled(true, { TERM: 'dumb' }), false);
    t.equal(colorEnabled(false, { FORCE_COLOR: '1' }), true);
    t.equal(colorEnabled(false, { FORCE_COLOR: '0' }), false);
  });
});

// ---------------------------------------------------------------------------------------
// JSON.

t.test('json report', async (t) => {
  const text = renderJson(FULL);
  const back = JSON.parse(text) as ConformanceReport;
  t.match(text, /^\{\n {2}"tool": "kkcm",/, 'pretty-printed');
  t.ok(text.endsWith('}\n'));
  const decoded = back.cases[1]!.transcript![1]!.decoded as { body: { raw: string } };
  t.equal(
    (back.cases[1]!.transcript![0]!.decoded as { header: { seq: unknown } }).header.seq,
    '0',
    'bigints are decimal strings',
  );
  t.equal(decoded.body.raw, '0102ff', 'bytes are hex');
  t.same(back.summary, FULL.summary);
  t.equal(back.cases.length, FULL.cases.length);
});

// ---------------------------------------------------------------------------------------
// JUnit.

t.test('junit report', async (t) => {
  const xml = renderJunit(FULL);
  const root = parseXml(xml);

  t.test('is well-formed XML with one suite per role and one for run problems', async (t) => {
    t.equal(root.name, 'testsuites');
    t.same(
      root.children.map((s) => s.attrs.name),
      ['master', 'backup', 'warnings', 'run'],
    );
    t.same(
      {
        tests: root.attrs.tests,
        failures: root.attrs.failures,
        errors: root.attrs.errors,
        skipped: root.attrs.skipped,
        time: root.attrs.time,
      },
      { tests: '10', failures: '3', errors: '1', skipped: '2', time: '2.345' },
      'totals count fail and xpass as failures, each problem as a failure, each warning once more as skipped',
    );
    t.equal(root.attrs.timestamp, '2025-01-02T03:04:05');
    const master = root.children[0]!;
    t.same(
      {
        tests: master.attrs.tests,
        failures: master.attrs.failures,
        errors: master.attrs.errors,
        skipped: master.attrs.skipped,
      },
      { tests: '3', failures: '1', errors: '0', skipped: '0' },
    );
    t.same(
      all(master, 'property')
        .map((p) => [p.attrs.name, p.attrs.value])
        .slice(0, 2),
      [
        ['target', 'connect 127.0.0.1:7000'],
        ['seed', '4242'],
      ],
    );
  });

  t.test('maps each verdict to the JUnit element it means', async (t) => {
    const cases = all(root, 'testcase');
    const byName = (id: string, suite = 0): XmlElement =>
      all(root.children[suite]!, 'testcase').find(
        (c) => c.attrs.name === `${id} [${suite === 0 ? 'master' : 'backup'}]`,
      )!;
    t.equal(cases.length, 10);
    const pass = byName('handshake.version.overlap');
    t.same(pass.attrs, {
      name: 'handshake.version.overlap [master]',
      classname: 'master.handshake.version',
      time: '0.012',
    });
    t.same(pass.children, []);

    const fail = byName('framing.length.too-small');
    t.equal(fail.attrs.time, '1.534');
    const failure = fail.children[0]!;
    t.equal(failure.name, 'failure');
    t.equal(failure.attrs.type, 'fail');
    t.match(
      failure.attrs.message,
      /^expected the peer closes the connection, or sends ERROR\(length\); observed the peer sent <script>alert\(1\)<\/script> & "q" 'a' \]\]> \\x1b\[31mred/,
    );
    t.match(failure.text, 'allowed outcomes:');
    t.match(failure.text, 'KKCM-FRM-10  A receiver MUST close');
    t.match(failure.text, /\+0ms +→ #1 send +HELLO/);
    t.match(failure.text, 'rerun:');

    const skip = byName('registry.optional.bulk', 1).children[0]!;
    t.same([skip.name, skip.attrs.message], ['skipped', 'peer does not offer bulk registration']);
    const xfail = byName('framing.split.byte-by-byte').children;
    t.same(
      xfail.map((c) => c.name),
      ['system-out'],
      'an expected failure passes, with a note',
    );
    t.match(xfail[0]!.text, /^expected failure: known bug #12/);
    const warn = byName('session.heartbeat.interval', 1).children;
    t.same(
      warn.map((c) => c.name),
      ['system-out'],
    );
    t.match(warn[0]!.text, /^warning \(SHOULD not met\)/);
    const xpass = byName('framing.split.two-messages', 1).children[0]!;
    t.same([xpass.name, xpass.attrs.type], ['failure', 'xpass']);
    const error = byName('session.close.clean', 1).children[0]!;
    t.same([error.name, error.attrs.type], ['error', 'error']);
    t.match(error.attrs.message, /^peer is gone: <script>/);
    const warned = all(root.children[2]!, 'testcase');
    t.same(
      warned.map((c) => [c.attrs.name, c.children[0]?.name]),
      [['warning: session.heartbeat.interval [backup]', 'skipped']],
      'a SHOULD not met is a skipped case of the warnings suite, where dashboards show it',
    );
    t.match(warned[0]!.children[0]!.attrs.message, /^SHOULD not met: expected /);
    const problem = all(root.children[3]!, 'failure')[0]!;
    t.match(problem.attrs.message, /^stale expected failure old\.case/);
  });

  t.test('keeps the same case run against both roles apart (classname and name)', async (t) => {
    const keys = all(root, 'testcase').map((c) => `${c.attrs.classname} ${c.attrs.name}`);
    t.ok(keys.length > 0);
    t.equal(new Set(keys).size, keys.length, 'no two test cases share classname and name');
    const both = renderJunit({
      ...CLEAN,
      cases: [
        { ...CLEAN.cases[0]!, role: 'master' },
        { ...CLEAN.cases[0]!, role: 'backup' },
      ],
    });
    const pair = all(parseXml(both), 'testcase').map((c) => `${c.attrs.classname} ${c.attrs.name}`);
    t.equal(pair.length, 2);
    t.not(pair[0], pair[1]);
  });

  t.test('escapes markup and writes control characters visibly', async (t) => {
    t.notMatch(xml, '<script>');
    t.notMatch(xml, NOT_XML_CHAR);
    t.match(xml, '\\x00\\x07\\x0b \\ud800');
  });

  t.test('an empty run is still a valid document', async (t) => {
    const empty = parseXml(renderJunit(report([])));
    t.same([empty.name, empty.attrs.tests, empty.children.length], ['testsuites', '0', 0]);
  });
});

// ---------------------------------------------------------------------------------------
// TAP.

function parseTap(text: string): Promise<FinalResults> {
  return new Promise((resolve) => {
    const parser = new Parser();
    parser.on('complete', resolve);
    parser.end(text);
  });
}

t.test('tap report', async (t) => {
  const text = renderTap(FULL);

  t.test('parses as TAP 14 with one point per case and per problem', async (t) => {
    const r = await parseTap(text);
    t.equal(r.ok, false);
    t.equal(r.count, 9);
    t.equal(r.plan.end, 9);
    t.equal(r.skip, 1, 'the skip');
    t.equal(r.todo, 1, 'the expected failure');
    // tap-parser counts `ok # SKIP` as a pass and `not ok # TODO` as a fail.
    t.equal(r.pass, 4, 'pass ×2, warn, skip');
    t.equal(r.fail, 5, 'fail, xfail (todo), xpass, error, the problem');
    t.same(
      r.failures.map((f) => f.id),
      [2, 6, 7, 9],
      'the failures that count',
    );
  });

  t.test('names every point after its case and role, with directives for skip and xfail', async (t) => {
    const lines = text.split('\n');
    t.equal(lines[0], 'TAP version 14');
    t.equal(lines[1], '1..9');
    t.match(text, /^ok 1 - handshake\.version\.overlap \[master\]$/m);
    t.match(text, /^ok 4 - registry\.optional\.bulk \[backup\] # SKIP peer does not offer bulk registration$/m);
    t.match(text, /^not ok 5 - framing\.split\.byte-by-byte \[master\] # TODO expected failure: known bug #12$/m);
    t.match(text, /^not ok 9 - run problem: stale expected failure/m);
    t.match(text, /^# NOT CONFORMING$/m);
  });

  t.test('carries expected, observed and the transcript in YAML diagnostics', async (t) => {
    const r = await parseTap(text);
    const diag = r.failures.find((f) => f.id === 2)!.diag as Record<string, unknown>;
    t.equal(diag.verdict, 'fail');
    t.equal(diag.expected, CASES[1]!.expected);
    t.equal(diag.observed, CASES[1]!.observed, 'peer text survives YAML quoting exactly');
    t.same(diag.allowed_outcomes, CASES[1]!.allowedOutcomes);
    t.same(diag.requirements, ['KKCM-FRM-10', 'KKCM-FRM-2']);
    const entries = diag.transcript as Array<Record<string, unknown>>;
    t.same(entries[0], {
      t: 0,
      dir: 'out',
      channel: 'send',
      conn: 1,
      hex: '4b4b434d0100010800000014',
      length: 12,
      decoded: { name: 'HELLO', header: { seq: '0' }, body: { version: 1 } },
    });
    t.equal(entries[2]!.channel, null);
    t.equal(diag.rerun, CASES[1]!.rerun);
  });

  t.test('escapes # in descriptions so that text cannot become a directive', async (t) => {
    const r = await parseTap(renderTap(report([], ['stale entry a.b # SKIP me'])));
    t.same([r.ok, r.fail, r.skip, r.todo], [false, 1, 0, 0]);
    t.equal(r.failures[0]!.name, 'run problem: stale entry a.b # SKIP me');
  });

  t.test('a passing run is ok', async (t) => {
    const r = await parseTap(renderTap(CLEAN));
    t.same([r.ok, r.count, r.pass, r.fail, r.skip], [true, 3, 3, 0, 1]);
    t.match(renderTap(CLEAN), /^# CONFORMING$/m);
  });
});

// ---------------------------------------------------------------------------------------
// HTML.

t.test('html report', async (t) => {
  const html = renderHtml(FULL);

  t.test('loads nothing from anywhere: no URL, no src, only in-page links', async (t) => {
    t.notMatch(html, /https?:\/\//i);
    t.notMatch(html, /\bsrc\s*=/i);
    t.notMatch(html, /<link\b/i);
    t.notMatch(html, /url\(/i, 'no CSS url()');
    t.notMatch(html, /@import/i);
    const hrefs = [...html.matchAll(/\bhref\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!);
    t.ok(hrefs.length > 0, 'the matrix links to cases');
    for (const href of hrefs) {
      t.match(href, /^#c-\d+$/, `in-page link ${href}`);
      t.match(html, `id="${href.slice(1)}"`, `${href} has a target`);
    }
    t.same(
      [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]),
      ['<script>'],
      'one inline script',
    );
    t.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  });

  t.test('escapes every text from the report', async (t) => {
    t.notMatch(html, '<script>alert');
    t.match(html, '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;');
    t.notMatch(html, CONTROL_BUT_NEWLINE, 'no control character but newline');
    t.match(html, '\\x1b[31mred');
    const hostileId = renderHtml(report([result({ id: 'x"><img onerror=alert(1)>', verdict: 'pass' })]));
    t.notMatch(hostileId, '<img');
  });

  t.test('has a header with target, seed and summary', async (t) => {
    t.match(html, /<p class="banner no">NOT CONFORMING<\/p>/);
    t.match(html, '<dt>target</dt><dd><code>connect 127.0.0.1:7000</code></dd>');
    t.match(html, '<dt>seed</dt><dd><code>4242</code></dd>');
    t.match(html, '<li class="v-fail nonzero">1 fail</li>');
    t.match(renderHtml(CLEAN), '<p class="banner yes">CONFORMING</p>');
  });

  t.test('has a verdict matrix: requirements by role, worst verdict per cell', async (t) => {
    const matrix = html.slice(html.indexOf('<table class="matrix">'), html.indexOf('</table>'));
    t.match(matrix, '<th>requirement</th><th>master</th><th>backup</th>');
    const rows = [...matrix.matchAll(/<th scope="row"[^>]*><code>([^<]*)<\/code>/g)].map((m) => m[1]);
    t.same(rows, ['KKCM-FRM-2', 'KKCM-FRM-10', 'KKCM-SESS-2'], 'natural order');
    const sess = matrix.slice(matrix.indexOf('KKCM-SESS-2'));
    t.match(
      sess,
      /<td class="cell v-xfail">.*<\/td><td class="cell v-error">/,
      'master: pass+xfail → xfail; backup: error wins',
    );
    t.match(matrix, /title="A receiver MUST close on a length below the header size\."><code>KKCM-FRM-10/);
    t.match(
      matrix,
      /KKCM-FRM-10<\/code><\/th><td class="cell v-fail">.*<\/td><td class="none">—<\/td>/,
      'a role with no case is empty',
    );
  });

  t.test('lists every case as a <details> with its transcript inside, failures open', async (t) => {
    const blocks = [...html.matchAll(/<details class="case[^]*?<\/details>/g)].map((m) => m[0]);
    t.equal(blocks.length, FULL.cases.length);
    const fail = blocks[1]!;
    t.match(
      fail,
      /^<details class="case v-fail" id="c-2" data-verdict="fail" data-id="framing.length.too-small" open>/,
    );
    t.match(fail, '<table class="transcript">');
    t.match(fail, '4b4b434d 01000108 00000014');
    t.match(fail, '&quot;seq&quot;: &quot;0&quot;');
    t.match(fail, '<li>ERROR(length) then close</li>');
    t.notMatch(blocks[0]!, / open>/, 'passing cases start closed');
  });
});

// ---------------------------------------------------------------------------------------
// renderReport and LiveView.

t.test('renderReport dispatches to every format', async (t) => {
  t.same(REPORT_FORMATS, ['human', 'json', 'junit', 'tap', 'html']);
  t.equal(renderReport(FULL, 'human'), renderHuman(FULL, { color: false }));
  t.equal(renderReport(FULL, 'human', { color: true }), renderHuman(FULL, { color: true }));
  t.equal(renderReport(FULL, 'json'), renderJson(FULL));
  t.equal(renderReport(FULL, 'junit'), renderJunit(FULL));
  t.equal(renderReport(FULL, 'tap'), renderTap(FULL));
  t.equal(renderReport(FULL, 'html'), renderHtml(FULL));
  t.ok(isReportFormat('junit'));
  t.notOk(isReportFormat('xml'));
});

t.test('worstVerdict folds verdicts by severity', async (t) => {
  t.equal(worstVerdict([]), undefined);
  t.equal(worstVerdict(['skip', 'pass']), 'pass');
  t.equal(worstVerdict(['pass', 'warn', 'xfail']), 'warn');
  t.equal(worstVerdict(['fail', 'error', 'xpass']), 'error');
});

function capture(isTty: boolean): { io: { out(text: string): void; isTty: boolean }; writes: string[] } {
  const writes: string[] = [];
  return { io: { out: (s) => void writes.push(s), isTty }, writes };
}

t.test('LiveView', async (t) => {
  t.test('off a terminal: one plain line per finished case, then the ending', async (t) => {
    const { io, writes } = capture(false);
    const view = new LiveView(io, { color: false, total: 3 });
    view.caseStarted(CASES[0]!.id);
    t.same(writes, [], 'nothing when a case starts');
    view.caseFinished(CASES[0]!);
    view.caseStarted(CASES[1]!.id);
    view.caseFinished(CASES[1]!);
    t.same(writes.slice(0, 2), [
      '✓ pass  handshake.version.overlap [master]  12 ms\n',
      '✗ fail  framing.length.too-small [master]  1.53 s\n',
    ]);
    view.finish(report(CASES.slice(0, 2)));
    const all = writes.join('');
    t.notMatch(all, REDRAW_OR_COLOR, 'no redraw, no color');
    t.match(writes[2], /Failures and warnings:\n\n✗ fail {2}framing\.length\.too-small \[master\] — /);
    t.match(writes[2], /2 cases: 1 pass, 1 fail, .* — NOT CONFORMING\n$/);
  });

  t.test('on a terminal: one progress line redrawn in place, failures above it', async (t) => {
    const { io, writes } = capture(true);
    const view = new LiveView(io, { color: false, total: 48 });
    view.caseStarted('handshake.version.overlap');
    t.equal(writes.at(-1), '\r\x1b[2K[1/48] handshake.version.overlap …');
    view.caseFinished(CASES[0]!);
    t.same(writes.slice(-2), ['\r\x1b[2K', '\r\x1b[2K[1/48]  ✓1'], 'a pass only updates the counts');
    view.caseStarted('framing.length.too-small');
    t.equal(writes.at(-1), '\r\x1b[2K[2/48] framing.length.too-small …  ✓1');
    view.caseFinished(CASES[1]!);
    t.same(
      writes.slice(-2),
      ['\r\x1b[2K✗ fail  framing.length.too-small [master]  1.53 s\n', '\r\x1b[2K[2/48]  ✓1 ✗1'],
      'a failure is printed above the progress line',
    );
    view.finish(report(CASES.slice(0, 2)));
    t.equal(writes.at(-2), '\r\x1b[2K', 'the progress line is cleared before the summary');
    t.match(writes.at(-1), /NOT CONFORMING\n$/);
    t.notMatch(writes.join(''), /\n\[\d+\/48\]/, 'progress never lands on its own line');
  });

  t.test('cuts the progress line to the terminal width and colors the counts when asked', async (t) => {
    const { io, writes } = capture(true);
    const view = new LiveView(io, { color: true, total: 9, columns: 40 });
    view.caseFinished(CASES[1]!);
    view.caseStarted(`very.long.${'x'.repeat(80)}`);
    const line = writes.at(-1)!.replace('\r\x1b[2K', '').replace(SGR, '');
    t.ok(line.length <= 39, `fits in 39 columns: ${JSON.stringify(line)}`);
    t.match(line, /^\[2\/9\] very\.long\.x+… {2}✗1$/);
    t.match(writes.at(-1), '\x1b[31m✗1\x1b[0m');
  });

  t.test("makes a peer's escape sequences in ids harmless", async (t) => {
    const { io, writes } = capture(true);
    new LiveView(io, { color: false, total: 1 }).caseStarted('evil\x1b[2J');
    t.equal(writes[0], '\r\x1b[2K[1/1] evil\\x1b[2J …');
  });
});

// ---------------------------------------------------------------------------------------
// Incomplete runs and broken requirements.

t.test('a conforming run with skipped MUST cases never reads as a bare CONFORMING', async (t) => {
  const skipped = result({ id: 'control.shutdown.on-deliberate-close', verdict: 'skip', reason: 'cannot stop it' });
  const incomplete = report([result({ id: 'framing.magic.bad', verdict: 'pass' }), skipped]);
  t.same(incomplete.mustNotRun, ['control.shutdown.on-deliberate-close (master)']);
  const line = 'CONFORMING (1 MUST case not run: control.shutdown.on-deliberate-close (master))';
  t.equal(verdictLine(incomplete), line);
  t.match(renderHuman(incomplete, { color: false }), `— ${line}\n`);
  t.match(renderTap(incomplete), `# ${line}\n`);
  t.match(renderJunit(incomplete), `<property name="verdict" value="${line}"/>`);
  t.match(renderHtml(incomplete), `<p class="banner partial">${line}</p>`);
  t.same((JSON.parse(renderJson(incomplete)) as ConformanceReport).mustNotRun, incomplete.mustNotRun);
  t.equal(exitCodeOf(incomplete), ConformanceExit.incomplete, 'exit 4: CI does not take it for a pass');
  t.equal(exitCodeOf(incomplete, { allowSkippedMust: true }), ConformanceExit.conforming);
  const complete = report([result({ id: 'framing.magic.bad', verdict: 'pass' })]);
  t.equal(verdictLine(complete), 'CONFORMING');
  t.equal(exitCodeOf(complete), 0);
  const failing = report([result({ id: 'framing.magic.bad', verdict: 'fail' }), skipped]);
  t.equal(verdictLine(failing), 'NOT CONFORMING');
  t.equal(exitCodeOf(failing), 1);
});

t.test('a fail names the requirements the peer broke, in every format', async (t) => {
  const broken = result({
    id: 'framing.magic.bad',
    verdict: 'fail',
    expected: 'KKCM-SEQ-1: control.echoReply numbered 3 on this connection',
    observed: 'sequence number 4',
    violated: ['KKCM-SEQ-1'],
    violatedTexts: ['MUST: Each side numbers the messages it sends on a connection from 0'],
  });
  const r = report([broken]);
  t.match(renderHuman(r, { color: false }), /breaks:\n {4}KKCM-SEQ-1 {2}MUST: Each side numbers/);
  t.match(renderTap(r), /violated:\n\s+- "KKCM-SEQ-1"/);
  t.match(renderHtml(r), /<dt>breaks<\/dt><dd><ul><li><code>KKCM-SEQ-1<\/code>/);
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(JSON.parse(readFileSync(reportSchemaPath(), 'utf8')) as object);
  t.ok(validate(JSON.parse(renderJson(r))), JSON.stringify(validate.errors));
});
