// The generated C codec against the golden vectors: every valid vector decodes to the expected
// messages and re-encodes to the same bytes, every invalid one raises the vector's code at its
// offset, however the bytes are cut; the files compile without a warning under the strict flags;
// kkcm-c-decode prints what `kkcm decode` prints.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import fc from 'fast-check';
import { encodeMessage, fromHex, toHex, iterateStream, messageToJson, stringify } from '../src/index.js';
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import { loadVectors, type Vector } from '../../spec/src/vectors.js';
import { arbitraryMessage } from './arbitraries.js';
import {
  buildC,
  cDir,
  cSources,
  findCompiler,
  runDriver,
  STRICT_FLAGS,
  tsVerdict,
  verdictOf,
  type CCommand,
} from './c-support.js';
import { SEED } from './support.js';

const compiler = findCompiler();
const skip = compiler === undefined ? 'no C compiler (gcc, cc or clang) on PATH' : false;
const { valid, invalid } = loadVectors();

// Every split point of every vector through ASan-built C and through TypeScript: slow on a loaded machine.
t.setTimeout(600_000);

t.test('the generated C files compile without a warning under the strict flags', { skip }, async (t) => {
  for (const cc of ['gcc', 'clang']) {
    if (findCompiler([cc]) === undefined) {
      t.comment(`${cc} is not installed: not compiled with it`);
      continue;
    }
    for (const file of cSources) {
      const out = execFileSync(cc, [...STRICT_FLAGS, '-O2', '-c', file, '-o', '/dev/null'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      t.equal(out, '', `${cc} compiles ${file.slice(cDir.length + 1)} silently`);
    }
  }
});

t.test('the C codec with sanitizers', { skip }, async (t) => {
  const driver = buildC(compiler!, join(cDir, 'test', 'kkcm-c-test.c'), 'kkcm-c-test');
  t.teardown(driver.cleanup);
  const options = (v: Vector) => v.decodeOptions ?? {};

  t.test('decodes every valid vector to its messages and re-encodes each to its own bytes', async (t) => {
    const answers = runDriver(
      driver.bin,
      valid.map((v) => ({ mode: 'stream', bytes: fromHex(v.hex), options: options(v) })),
    );
    valid.forEach((v, i) => {
      const a = answers[i]!;
      t.equal(a.error, null, `${v.id}: no error`);
      t.strictSame(
        a.messages.map((m) => m.json),
        v.expect.messages,
        `${v.id}: the expected messages`,
      );
      t.ok(
        a.messages.every((m) => m.same),
        `${v.id}: each message re-encodes to its bytes`,
      );
    });
  });

  t.test('rejects every invalid vector with its code, offset and path', async (t) => {
    const answers = runDriver(
      driver.bin,
      invalid.map((v) => ({ mode: 'stream', bytes: fromHex(v.hex), options: options(v) })),
    );
    invalid.forEach((v, i) => {
      const a = answers[i]!;
      const { code, offset, path } = v.expect.error;
      t.strictSame(
        { code: a.error?.code, offset: a.error?.offset, before: a.messages.length },
        { code, offset, before: v.expect.messagesBefore ?? 0 },
        `${v.id}: ${code} at ${offset}`,
      );
      if (path !== undefined) t.equal(a.error?.path, path, `${v.id}: path ${path}`);
    });
  });

  t.test('gives the same verdict for every vector cut at every offset and fed byte by byte', async (t) => {
    const commands: CCommand[] = [];
    const owners: string[] = [];
    for (const v of [...valid, ...invalid]) {
      const bytes = fromHex(v.hex);
      for (let cut = 0; cut <= bytes.byteLength; cut++) {
        commands.push({ mode: 'stream', bytes, options: options(v), cuts: [cut] });
        owners.push(`${v.id} cut at ${cut}`);
      }
      commands.push({ mode: 'stream', bytes, options: options(v), cuts: 'all' });
      owners.push(`${v.id} byte by byte`);
    }
    const answers = runDriver(driver.bin, commands);
    let agree = 0;
    const disagree: string[] = [];
    answers.forEach((a, i) => {
      const want = tsVerdict(commands[i]!);
      if (JSON.stringify(verdictOf(a)) === JSON.stringify(want)) agree++;
      else disagree.push(`${owners[i]!}: C ${JSON.stringify(verdictOf(a))} TS ${JSON.stringify(want)}`);
    });
    t.strictSame(disagree.slice(0, 5), [], `C and TypeScript agree on all ${commands.length} cuts`);
    t.equal(agree, commands.length);
  });

  t.test('decodes each valid message whole as the TypeScript decodeMessage does', async (t) => {
    const commands: CCommand[] = [];
    for (const v of valid) {
      const bytes = fromHex(v.hex);
      let at = 0;
      for (const m of v.expect.messages) {
        commands.push({ mode: 'message', bytes: bytes.subarray(at, at + m.header.length), options: options(v) });
        at += m.header.length;
      }
    }
    // and the same frames, one byte short and one byte long
    const whole = commands.slice();
    for (const c of whole) {
      commands.push({ ...c, bytes: c.bytes.subarray(0, c.bytes.byteLength - 1) });
      commands.push({ ...c, bytes: new Uint8Array([...c.bytes, 0]) });
    }
    const answers = runDriver(driver.bin, commands);
    answers.forEach((a, i) => t.strictSame(verdictOf(a), tsVerdict(commands[i]!), `message ${i}`));
  });
});

t.test('kkcm-c-decode prints what kkcm decode prints', { skip }, async (t) => {
  const tool = buildC(compiler!, join(cDir, 'tools', 'kkcm-c-decode.c'), 'kkcm-c-decode');
  t.teardown(tool.cleanup);
  // A captured-like stream: every valid vector's messages re-encoded with default settings,
  // then 300 generated messages of every kind, as a peer's trace carries them.
  const model = new SpecModel(loadSpec());
  const parts = valid
    .filter((v) => v.decodeOptions === undefined)
    .map((v) => fromHex(v.hex))
    .concat(fc.sample(arbitraryMessage(model), { numRuns: 300, seed: SEED }).map((m) => encodeMessage(m)));
  const stream = new Uint8Array(Buffer.concat(parts));
  const ts = [...iterateStream([stream])].map((m) => stringify({ offset: m.offset, ...messageToJson(m.message) }));
  const raw = execFileSync(tool.bin, [], { input: stream, encoding: 'utf8', maxBuffer: 1 << 28 });
  const hex = execFileSync(tool.bin, ['--hex'], { input: toHex(stream), encoding: 'utf8', maxBuffer: 1 << 28 });
  const expected = valid
    .filter((v) => v.decodeOptions === undefined)
    .reduce((n, v) => n + v.expect.messages.length, 300);
  t.equal(ts.length, expected, 'the TypeScript codec decodes every message');
  t.strictSame(raw.trimEnd().split('\n'), ts, 'raw input: the same lines');
  t.strictSame(hex.trimEnd().split('\n'), ts, 'hex input: the same lines');

  const truncated = stream.subarray(0, stream.byteLength - 3);
  let status = 0;
  let stderr = '';
  try {
    execFileSync(tool.bin, [], { input: truncated, stdio: 'pipe' });
  } catch (err) {
    status = (err as { status: number }).status;
    stderr = String((err as { stderr: Buffer }).stderr);
  }
  t.equal(status, 1, 'a truncated stream exits 1');
  t.match(stderr, /ERR_STREAM_TRUNCATED at byte \d+/, 'naming the code and the offset');
});
