import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { defaultSpecPath } from '../../spec/src/index.js';
import { type MainRun, runMain } from './run-main.js';

const run = (argv: string[], stdin = ''): Promise<MainRun> => runMain(argv, { stdin });

const ACK = '4b4b434d0100010800000014000000070000002a';
const dir = mkdtempSync(join(tmpdir(), 'kkcm-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('every command has --help with examples', async (t) => {
  for (const cmd of ['spec', 'decode', 'encode', 'vectors']) {
    const r = await run([cmd, '--help']);
    t.equal(r.code, 0, cmd);
    t.match(r.out, /Usage: kkcm/, cmd);
    t.match(r.out, /Examples:/, cmd);
  }
  const top = await run(['--help']);
  t.equal(top.code, 0);
  t.match(top.out, /Commands:/);
});

t.test('usage errors exit 2', async (t) => {
  t.equal((await run([])).code, 2);
  t.equal((await run(['frobnicate'])).code, 2);
  t.equal((await run(['decode', '--nope'])).code, 2);
  t.equal((await run(['decode'])).code, 2, 'no input');
  t.equal((await run(['decode', '--hex', ACK, '--file', 'x'])).code, 2, 'two inputs');
  t.equal((await run(['decode', '--hex', ACK, '--channel', 'sideways'])).code, 2);
  t.equal((await run(['decode', '--hex', ACK, '--max-message', 'lots'])).code, 2);
  t.equal((await run(['decode', '--file', join(dir, 'missing.bin')])).code, 2);
  t.equal((await run(['encode'])).code, 2);
});

t.test('spec prints a summary, and --json the normalised spec with requirements', async (t) => {
  const text = await run(['spec']);
  t.equal(text.code, 0);
  t.match(text.out, /HELLO-ACK/);
  const json = await run(['spec', '--json']);
  const spec = JSON.parse(json.out) as {
    requirements: { id: string; level: string; section: string; source: string; text: string }[];
  };
  t.ok(spec.requirements.length > 30);
  t.same(Object.keys(spec.requirements[0]!).sort(), ['id', 'level', 'section', 'source', 'text']);
});

t.test('spec with a broken spec file exits 1 naming the path and rule', async (t) => {
  const data = JSON.parse(readFileSync(defaultSpecPath(), 'utf8')) as { header: { size: number } };
  data.header.size = 18;
  const path = join(dir, 'broken.json');
  writeFileSync(path, JSON.stringify(data));
  const r = await run(['spec', '--spec', path]);
  t.equal(r.code, 1);
  t.match(r.err, /ERR_INVALID_SPEC/);
  t.match(r.err, /\/header\/size/);
});

/** SDRL SOCKET-DATA-ACK (handle 1, streamOffset 9, seq 5) with 3 bytes after its illustrative layout. */
const SDRL_PLUS_3 = '4b4b434d01001102000000230000000500000001000000000000000000000009010203';

t.test('decode shows a client body that does not fit the illustrative layout as raw bytes, with a note', async (t) => {
  const r = await run(['decode', '--hex', SDRL_PLUS_3 + ACK]);
  t.equal(r.code, 0, 'not an error: client bodies are opaque to KKCM');
  const [first, second] = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(first, {
    offset: 0,
    name: 'sdrl.socketDataAck',
    header: { version: 1, flags: 0, type: 17, subtype: 2, length: 35, seq: 5 },
    body: '00000001000000000000000000000009010203',
    note: 'body does not fit the illustrative layout: ERR_TRAILING_BYTES',
  });
  t.equal(second?.name, 'control.ack', 'the next message is decoded');
  t.equal(second?.offset, 35);
});

t.test('decode --spec shows a client body that does not fit the illustrative layout as decode does', async (t) => {
  // PRL subtype 9, which the spec does not list: the client's to define, so not an error either.
  const prl9 = '4b4b434d0100200900000013000000060a0b0c';
  const input = SDRL_PLUS_3 + prl9 + ACK;
  const bundled = await run(['decode', '--hex', input]);
  const r = await run(['decode', '--spec', defaultSpecPath(), '--hex', input]);
  t.equal(r.code, 0, 'not an error: client bodies are opaque to KKCM');
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    lines.map((l) => [l.offset, l.name, l.note]),
    [
      [0, 'sdrl.socketDataAck', 'body does not fit the illustrative layout: ERR_TRAILING_BYTES'],
      [35, null, 'body does not fit the illustrative layout: ERR_UNKNOWN_SUBTYPE'],
      [54, 'control.ack', undefined],
    ],
  );
  t.same(lines[1]?.body, '0a0b0c', 'the raw body, as hex');
  t.equal(r.out, bundled.out, 'the same lines as with the bundled codec');
  const control = await run(['decode', '--spec', defaultSpecPath(), '--hex', ACK.replace('0014', '0015') + '00']);
  t.equal(control.code, 1, 'a control body that does not fit is still an error');
  t.match(control.err, /ERR_TRAILING_BYTES/);
});

t.test('decode prints one JSON object per message', async (t) => {
  const r = await run(['decode', '--hex', ACK + ACK]);
  t.equal(r.code, 0);
  const lines = r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { offset: number; name: string; body: unknown });
  t.equal(lines.length, 2);
  t.same(lines[1], {
    offset: 20,
    name: 'control.ack',
    header: { version: 1, flags: 0, type: 1, subtype: 8, length: 20, seq: 7 },
    body: { upTo: 42 },
  });
});

t.test('decode reads raw bytes from a file and from standard input, and hex from stdin', async (t) => {
  const path = join(dir, 'ack.bin');
  writeFileSync(path, Buffer.from(ACK, 'hex'));
  t.match((await run(['decode', '--file', path])).out, /"control.ack"/);
  t.match((await run(['decode', '-'], Buffer.from(ACK, 'hex').toString('latin1'))).out, /"control.ack"/);
  t.match((await run(['decode', '--hex', '-'], `${ACK}\n`)).out, /"control.ack"/);
  t.match((await run(['decode', '--hex', ACK, '--pretty'])).out, /\n {2}"name"/);
});

t.test('decode rejects bad input with exit 1 and one line naming the code and offset', async (t) => {
  const r = await run(['decode', '--hex', ACK + '00'.repeat(16)]);
  t.equal(r.code, 1);
  t.match(r.out, /control.ack/, 'messages before the error are printed');
  t.match(r.err, /^kkcm decode: ERR_BAD_MAGIC at byte 20/);
  t.equal(r.err.trim().split('\n').length, 1);
  const h = await run(['decode', '--hex', 'xyz']);
  t.equal(h.code, 1);
  t.match(h.err, /ERR_BAD_INPUT/);
  const c = await run(['decode', '--hex', ACK, '--channel', 'receive']);
  t.equal(c.code, 0, 'control travels on both channels');
  const l = await run(['decode', '--hex', ACK, '--max-message', '16']);
  t.match(l.err, /ERR_FRAME_TOO_LARGE at byte 8/);
});

t.test('encode prints hex for a JSON object, an array and JSON Lines', async (t) => {
  const one = await run(['encode', '-'], '{"name":"control.ack","seq":7,"body":{"upTo":42}}');
  t.equal(one.out, `${ACK}\n`);
  const arr = await run(
    ['encode', '-'],
    '[{"name":"control.ack","seq":7,"body":{"upTo":42}},{"type":85,"subtype":1,"flags":["mayIgnore"],"body":"ff"}]',
  );
  t.equal(arr.out.trim().split('\n').length, 2);
  const lines = await run(
    ['encode', '-'],
    '{"name":"control.ack","seq":7,"body":{"upTo":42}}\n{"name":"control.ack","seq":8,"body":{"upTo":43}}\n',
  );
  t.equal(lines.out.trim().split('\n').length, 2);
  const path = join(dir, 'm.json');
  writeFileSync(path, '{"name":"control.ack","seq":7,"body":{"upTo":42}}');
  t.equal((await run(['encode', '--json', path])).out, `${ACK}\n`);
});

t.test('encode rejects bad input with exit 1 and a coded one-line error', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /ERR_BAD_INPUT/],
    ['{"name":"control.ack"}\n{oops', /ERR_BAD_INPUT/],
    ['{"name":"control.nope","body":{}}', /ERR_UNKNOWN_MESSAGE/],
    ['{"name":"control.ack","body":{"upTo":-1}}', /ERR_VALUE_OUT_OF_RANGE/],
    ['[{"name":"control.ack","body":{"upTo":1}},{"name":"control.ack","body":{}}]', /ERR_INVALID_VALUE.*message 1/],
  ];
  for (const [input, re] of cases) {
    const r = await run(['encode', '-'], input);
    t.equal(r.code, 1, input);
    t.match(r.err, re, input);
  }
});

t.test('decode then encode reproduces the bytes', async (t) => {
  const decoded = await run(['decode', '--hex', ACK]);
  t.equal((await run(['encode', '-'], decoded.out)).out, `${ACK}\n`);
});

t.test('vectors checks every golden vector and exits 0', async (t) => {
  const r = await run(['vectors']);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /valid vectors: +(\d+)\/\1 /);
  t.match(r.out, /invalid vectors: (\d+)\/\1 /);
  const json = JSON.parse((await run(['vectors', '--json'])).out) as {
    summary: { failed: number; valid: { total: number } };
  };
  t.equal(json.summary.failed, 0);
  t.ok(json.summary.valid.total >= 28);
  t.match((await run(['vectors', '--verbose'])).out, /^ok {3}valid/m);
});
