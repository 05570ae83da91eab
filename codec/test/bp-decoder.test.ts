/**
 * The binary-parser decoder, built at run time from the spec, against the generated codec:
 * the same messages must come out of both, and whatever one rejects the other rejects.
 *
 * Property runs use a fixed seed (override with FC_SEED) so that CI is reproducible.
 *
 * Why one file past ~500 lines: one subject, the binary-parser decoder against the generated
 * codec, with its property runs.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { defaultSpecPath, loadSpec, SpecModel } from '../../spec/src/index.js';
import { createBinaryParserDecoder, type BinaryParserDecoder } from '../src/bp-decoder.js';
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  encodeRaw,
  type DecodeOptions,
  type MessageInput,
} from '../src/index.js';
import { arbitraryHeaderShapedFrame, arbitraryMessage, arbitraryMutatedFrame } from './arbitraries.js';
import { codeOf } from './support.js';

const SEED = Number(process.env.FC_SEED ?? 0x4b4b434d);
const spec = loadSpec();
const model = new SpecModel(spec);
const bp = createBinaryParserDecoder(spec);

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What a decoder made of a frame: a value, or the code it rejected it with. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string };

function outcome(decode: () => unknown): Outcome {
  try {
    return { ok: true, value: decode() };
  } catch (err) {
    // Anything but a CodecError is a crash: let it fail the property.
    if (err instanceof CodecError) return { ok: false, code: err.code };
    throw err;
  }
}

/**
 * Runs a fast-check property and turns its verdict into one tap assertion whose message
 * carries the seed, the run count and, on failure, the shrunk counterexample.
 */
function holds<T>(
  t: Test,
  title: string,
  arb: fc.Arbitrary<T>,
  predicate: (v: T) => boolean,
  numRuns: number,
): T | undefined {
  const details = fc.check(fc.property(arb, predicate), { numRuns, seed: SEED });
  t.ok(
    !details.failed,
    `${title} (${details.numRuns} runs, seed ${SEED})`,
    details.failed ? { diag: fc.defaultReportMessage(details) } : {},
  );
  return details.counterexample?.[0];
}

/**
 * Code pairs where both decoders rejected a frame but named the problem differently:
 * reported, not asserted (only accept/reject and the value must agree).
 */
const codeDisagreements = new Map<string, { count: number; example: string }>();

/** How often the fuzzed frames ended in each outcome (as the codec saw them). */
const tallies = new Map<string, number>();

/** Both decoders agree on `frame`: both reject, or both return deep-equal messages. */
function agree(frame: Uint8Array, options: DecodeOptions = {}, decoder: BinaryParserDecoder = bp): boolean {
  const a = outcome(() => decodeMessage(frame, options));
  const b = outcome(() => decoder.decode(frame));
  const kind = a.ok ? 'accepted' : a.code;
  tallies.set(kind, (tallies.get(kind) ?? 0) + 1);
  if (a.ok !== b.ok) return false;
  if (a.ok && b.ok) return isDeepStrictEqual(a.value, b.value);
  if (!a.ok && !b.ok && a.code !== b.code) {
    const key = `codec ${a.code} / bp ${b.code}`;
    const entry = codeDisagreements.get(key) ?? { count: 0, example: hex(frame) };
    entry.count++;
    codeDisagreements.set(key, entry);
  }
  return true;
}

t.test('decodes every message of the spec exactly as the generated codec does', async (t) => {
  t.ok(model.messages.length > 0);
  for (const { name } of model.messages) {
    const failure = holds(
      t,
      `${name}: same message from both decoders`,
      arbitraryMessage(model, [name]),
      (msg) => {
        const frame = encodeMessage(msg);
        return isDeepStrictEqual(bp.decode(frame), decodeMessage(frame));
      },
      60,
    );
    if (failure !== undefined) {
      const frame = encodeMessage(failure);
      t.same(
        outcome(() => bp.decode(frame)),
        outcome(() => decodeMessage(frame)),
        `${name}: ${hex(frame)}`,
      );
    }
  }
});

t.test('rejects each malformed frame with the code the spec gives it, as the codec does', async (t) => {
  const same = (frame: Uint8Array, code: string, what: string, options: DecodeOptions = {}, decoder = bp): void => {
    t.equal(
      codeOf(() => decoder.decode(frame)),
      code,
      `bp: ${what}`,
    );
    t.equal(
      codeOf(() => decodeMessage(frame, options)),
      code,
      `codec: ${what}`,
    );
  };
  const ack = encodeMessage({ name: 'control.ack', seq: 7, body: { upTo: 9 } });
  const edit = (b: Uint8Array, at: number, ...bytes: number[]): Buffer => {
    const c = Buffer.from(b);
    c.set(bytes, at);
    return c;
  };
  const withBody = (type: number, subtype: number, body: number[], flags = 0): Uint8Array =>
    encodeRaw({ type, subtype, flags, body: Uint8Array.from(body) });

  same(ack.subarray(0, 15), 'ERR_STREAM_TRUNCATED', 'shorter than a header');
  same(ack.subarray(0, 19), 'ERR_STREAM_TRUNCATED', 'shorter than its length field');
  same(Buffer.concat([ack, Buffer.from([0])]), 'ERR_TRAILING_BYTES', 'longer than its length field');
  same(edit(ack, 0, 0x4c), 'ERR_BAD_MAGIC', 'bad magic [KKCM-FRM-5]');
  same(edit(ack, 4, 2), 'ERR_UNSUPPORTED_VERSION', 'version above the range');
  same(edit(ack, 4, 0), 'ERR_UNSUPPORTED_VERSION', 'version below the range');
  same(edit(ack, 5, 0x80), 'ERR_RESERVED_FLAG', 'reserved flag bit [KKCM-HDR-3]');
  same(edit(ack, 8, 0, 0, 0, 15), 'ERR_LENGTH_TOO_SMALL', 'length below the header size [KKCM-FRM-4]');
  same(withBody(0x55, 1, []), 'ERR_UNKNOWN_TYPE', 'unknown type without mayIgnore [KKCM-TYPE-2]');
  same(withBody(0x01, 0x99, []), 'ERR_UNKNOWN_SUBTYPE', 'unknown subtype without mayIgnore [KKCM-TYPE-2]');
  same(withBody(0x01, 0x08, [0, 0, 1]), 'ERR_TRUNCATED_BODY', 'ACK body of 3 bytes');
  same(withBody(0x01, 0x08, [0, 0, 0, 1, 0]), 'ERR_TRAILING_BYTES', 'ACK body of 5 bytes');
  // ECHO-REQUEST: token, payloadLength 5, but 4 bytes of payload.
  same(
    withBody(0x01, 0x04, [0, 0, 0, 1, 0, 0, 0, 5, 1, 2, 3, 4]),
    'ERR_BAD_LENGTH_FIELD',
    'length field past the body',
  );
  // STATE-BATCH: 2 entries announced, one present.
  same(
    withBody(0x12, 0x02, [0, 2, 0, 0, ...new Array<number>(16).fill(0)]),
    'ERR_BAD_COUNT',
    'count field past the body',
  );
  // STATE-BATCH: the reserved byte of entry 0 is set.
  same(
    withBody(0x12, 0x02, [0, 1, 0, 0, 0, 0, 0, 1, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    'ERR_RESERVED_NONZERO',
    'reserved byte inside an array item',
  );
  // SHUTDOWN: reason, reserved = 1, detail, textLength 0.
  same(withBody(0x01, 0x07, [1, 1, 0, 0, 0, 0]), 'ERR_RESERVED_NONZERO', 'reserved byte of the body');
  // SHUTDOWN with text: lone continuation byte, UTF-16 surrogate, overlong NUL, truncated sequence.
  for (const bad of [[0x80], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0x61, 0xe2, 0x82]]) {
    same(
      withBody(0x01, 0x07, [1, 0, 0, 0, 0, bad.length, ...bad]),
      'ERR_BAD_UTF8',
      `string bytes ${hex(Uint8Array.from(bad))}`,
    );
  }

  const small = createBinaryParserDecoder(spec, { maxMessage: 64 });
  const of = (n: number): Uint8Array => encodeMessage({ name: 'prl.opaque', body: { data: new Uint8Array(n - 16) } });
  same(of(65), 'ERR_FRAME_TOO_LARGE', 'one byte over maxMessage [KKCM-FRM-3]', { maxMessage: 64 }, small);
  t.equal(small.decode(of(64)).header.length, 64, 'a message exactly maxMessage long is accepted [KKCM-FRM-6]');
  t.equal(
    codeOf(() => bp.decode(of(spec.limits.defaultMaxMessage!.value + 1))),
    'ERR_FRAME_TOO_LARGE',
    "default limit is the spec's defaultMaxMessage",
  );
});

t.test('skips an unknown type or subtype under mayIgnore, keeping header and body bytes', async (t) => {
  for (const [type, subtype] of [
    [0x55, 1],
    [0x01, 0x99],
  ] as const) {
    const frame = encodeRaw({ type, subtype, flags: 0x01, seq: 3, body: Uint8Array.from([1, 2, 3]) });
    const m = bp.decode(frame);
    t.same(m, {
      name: null,
      header: { version: 1, flags: 1, type, subtype, length: 19, seq: 3 },
      body: Buffer.from([1, 2, 3]),
    });
    t.ok(isDeepStrictEqual(m, decodeMessage(frame)), 'same value as the codec');
  }
});

t.test('keeps a leading U+FEFF and unknown enum values', async (t) => {
  const frame = encodeMessage({ name: 'control.shutdown', body: { reason: 200, detail: 0xfffe, text: '\uFEFFbye' } });
  const m = bp.decode(frame);
  t.same(m.body, { reason: 200, detail: 0xfffe, text: '\uFEFFbye' });
  t.ok(isDeepStrictEqual(m, decodeMessage(frame)));
});

// ---------------------------------------------------------------------------------------
// Fuzzing: both decoders must agree on accept/reject and on the value.

const headerShapedFrame = arbitraryHeaderShapedFrame(model);
const mutatedFrame = arbitraryMutatedFrame(model);

t.test('agrees with the codec on arbitrary bytes', async (t) => {
  holds(t, 'random bytes', fc.uint8Array({ maxLength: 64 }), (b) => agree(b), 500);
  holds(t, 'random frames behind a plausible header', headerShapedFrame, (b) => agree(b), 1500);
});

t.test('agrees with the codec on valid messages after mutation, truncation and length edits', async (t) => {
  holds(t, 'mutated messages', mutatedFrame, (b) => agree(b), 3000);
  const small = createBinaryParserDecoder(spec, { maxMessage: 64 });
  holds(t, 'mutated messages, maxMessage 64', mutatedFrame, (b) => agree(b, { maxMessage: 64 }, small), 500);
  // Reported, not asserted: how the fuzzed frames ended, and codes the decoders gave differently.
  t.comment(
    `fuzz outcomes (codec): ${[...tallies]
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  if (codeDisagreements.size === 0) t.comment('every frame both decoders rejected got the same code from both');
  for (const [pair, { count, example }] of codeDisagreements) t.comment(`${pair}: ${count} frames, e.g. ${example}`);
});

// ---------------------------------------------------------------------------------------
// A spec other than the bundled one.

/** Builds big-endian bytes. */
class Bytes {
  readonly parts: number[] = [];
  u8(...xs: number[]): this {
    for (const x of xs) this.parts.push(x & 0xff);
    return this;
  }
  u16(x: number): this {
    return this.u8(x >> 8, x);
  }
  u32(x: number): this {
    return this.u16(x >>> 16).u16(x & 0xffff);
  }
  u64(x: bigint): this {
    const u = BigInt.asUintN(64, x);
    return this.u32(Number(u >> 32n)).u32(Number(u & 0xffffffffn));
  }
  raw(b: Uint8Array | readonly number[]): this {
    return this.u8(...b);
  }
  frame(
    type: number,
    subtype: number,
    header: { version?: number; flags?: number; seq?: number; magic?: number } = {},
  ): Buffer {
    const h = new Bytes()
      .u32(header.magic ?? spec.header.magic)
      .u8(header.version ?? 1, header.flags ?? 0, type, subtype)
      .u32(16 + this.parts.length)
      .u32(header.seq ?? 0);
    return Buffer.from([...h.parts, ...this.parts]);
  }
}

const doc = 'Test field.';
const source = 'kkcm addition: a test edition';
const extraSpec = (() => {
  const json = JSON.parse(readFileSync(defaultSpecPath(), 'utf8')) as Record<string, unknown> & {
    messages: unknown[];
    structs: Record<string, unknown>;
    flags: unknown[];
    limits: Record<string, { value: number }>;
    protocolVersions: { min: number; max: number; current: number };
  };
  delete json.$schema;
  json.protocolVersions = { min: 1, max: 2, current: 2 };
  json.flags.push({ name: 'urgent', bit: 2, mask: 4, doc: 'A flag only this edition defines.', source });
  json.limits.defaultMaxMessage!.value = 8192;
  json.structs.point = {
    doc: 'A point.',
    fields: [
      { name: 'x', type: 'i16', doc, source },
      { name: 'y', type: 'i16', doc, source },
    ],
  };
  json.structs.label = {
    doc: 'A label: variable size, with a nested struct.',
    fields: [
      { name: 'id', type: 'u16', doc, source },
      { name: 'nameLength', type: 'u8', derived: { lengthOf: 'name' }, doc, source },
      { name: 'name', type: 'string', length: 'nameLength', doc, source },
      { name: 'reserved', type: 'reserved', size: 1, doc, source },
      { name: 'at', type: 'struct', struct: 'point', doc, source },
    ],
  };
  json.messages.push({
    type: 0x40,
    client: 'probe',
    name: 'ext',
    channels: ['send'],
    doc: 'Messages only this edition defines.',
    source,
    subtypes: [
      {
        subtype: 1,
        name: 'everything',
        label: 'EXT-EVERYTHING',
        doc: 'One field of each kind.',
        source,
        fields: [
          { name: 'a', type: 'i8', doc, source },
          { name: 'b', type: 'i16', doc, source },
          { name: 'c', type: 'i32', doc, source },
          { name: 'd', type: 'i64', doc, source },
          { name: 'e', type: 'u64', doc, source },
          { name: 'tag', type: 'bytes', size: 3, doc, source },
          { name: 'mode', type: 'enum', enum: 'rejectReason', doc, source },
          { name: 'origin', type: 'struct', struct: 'point', doc, source },
          { name: 'v6', type: 'ipv6', doc, source },
          { name: 'v4', type: 'ipv4', doc, source },
          { name: 'labelCount', type: 'u16', derived: { countOf: 'labels' }, doc, source },
          { name: 'reserved', type: 'reserved', size: 2, doc, source },
          { name: 'labels', type: 'array', count: 'labelCount', items: 'label', doc, source },
          { name: 'tail', type: 'bytes', rest: true, doc, source },
        ],
      },
      { subtype: 2, name: 'empty', label: 'EXT-EMPTY', doc: 'No body.', source, fields: [] },
      {
        subtype: 3,
        name: 'blob',
        label: 'EXT-BLOB',
        doc: 'Fixed fields after a variable one.',
        source,
        fields: [
          { name: 'dataLength', type: 'u16', derived: { lengthOf: 'data' }, doc, source },
          { name: 'data', type: 'bytes', length: 'dataLength', doc, source },
          { name: 'checksum', type: 'u32', doc, source },
        ],
      },
    ],
  });
  return json;
})();

t.test('builds a decoder from another spec file: new messages, structs, versions, flags and limits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-bp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'edition.spec.json');
  writeFileSync(path, JSON.stringify(extraSpec));
  const other = loadSpec(path);
  const otherModel = new SpecModel(other);
  const dec = createBinaryParserDecoder(other);

  const label = (id: number, name: Uint8Array | string, x: number, y: number, reserved = 0): Bytes => {
    const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
    return new Bytes().u16(id).u8(bytes.length).raw(bytes).u8(reserved).u16(x).u16(y);
  };
  const everything = (labels: Bytes[], count = labels.length, tail: number[] = [9, 8]): Bytes => {
    const b = new Bytes()
      .u8(-5)
      .u16(-300)
      .u32(-70000)
      .u64(-(2n ** 40n))
      .u64(2n ** 64n - 1n)
      .u8(1, 2, 3)
      .u16(77)
      .u16(-1)
      .u16(2)
      .raw([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
      .u8(10, 0, 0, 1)
      .u16(count)
      .u16(0);
    for (const l of labels) b.raw(l.parts);
    return b.raw(tail);
  };

  const m = dec.decode(
    everything([label(1, 'ré', 3, -4), label(2, '', 0, 0)]).frame(0x40, 1, { version: 2, flags: 0x04, seq: 5 }),
  );
  t.same(m.header, { version: 2, flags: 4, type: 0x40, subtype: 1, length: m.header.length, seq: 5 });
  t.equal(m.name, 'ext.everything');
  t.ok(
    isDeepStrictEqual(m.body, {
      a: -5,
      b: -300,
      c: -70000,
      d: -(2n ** 40n),
      e: 2n ** 64n - 1n,
      tag: Buffer.from([1, 2, 3]),
      mode: 77,
      origin: { x: -1, y: 2 },
      v6: '2001:db8::1',
      v4: '10.0.0.1',
      labels: [
        { id: 1, name: 'ré', at: { x: 3, y: -4 } },
        { id: 2, name: '', at: { x: 0, y: 0 } },
      ],
      tail: Buffer.from([9, 8]),
    }),
    'every field kind decodes; derived and reserved fields are absent, nested ones too',
  );
  const { labels, tail } = dec.decode(everything([], 0, []).frame(0x40, 1)).body as { labels: unknown; tail: unknown };
  t.same({ labels, tail }, { labels: [], tail: Buffer.alloc(0) }, 'empty array and empty rest');
  t.same(dec.decode(new Bytes().frame(0x40, 2)).body, {}, 'a body with no fields');
  t.same(dec.decode(new Bytes().u16(2).u8(7, 7).u32(0xdeadbeef).frame(0x40, 3)).body, {
    data: Buffer.from([7, 7]),
    checksum: 0xdeadbeef,
  });
  t.same(
    dec.decode(new Bytes().u64(12n).frame(0x01, 0x0a, { flags: 1 })).name,
    null,
    'unknown subtype of a known type under mayIgnore',
  );

  const code = (b: Buffer, d = dec): string | undefined => codeOf(() => d.decode(b));
  t.equal(
    code(everything([label(1, 'a', 0, 0)], 2).frame(0x40, 1)),
    'ERR_BAD_COUNT',
    'count above what the body holds (items of 8 bytes at least)',
  );
  t.equal(
    code(everything([label(1, 'a', 0, 0)], 1, []).frame(0x40, 1)),
    undefined,
    'the same body with the right count',
  );
  t.equal(
    code(everything([new Bytes().u16(1).u8(30).u8(0x61, 0, 0, 0, 0, 0)], 1, []).frame(0x40, 1)),
    'ERR_BAD_LENGTH_FIELD',
    'length field of an array item past the body',
  );
  t.equal(
    code(everything([label(1, 'a', 0, 0, 1)]).frame(0x40, 1)),
    'ERR_RESERVED_NONZERO',
    'reserved byte of an array item',
  );
  t.equal(
    code(everything([label(1, Uint8Array.from([0xff]), 0, 0)]).frame(0x40, 1)),
    'ERR_BAD_UTF8',
    'string of an array item',
  );
  t.equal(
    code(new Bytes().raw(new Uint8Array(30)).frame(0x40, 1)),
    'ERR_TRUNCATED_BODY',
    'body ends inside a nested struct (28 bytes before it)',
  );
  t.equal(
    code(new Bytes().u16(2).u8(7, 7).u16(0).frame(0x40, 3)),
    'ERR_TRUNCATED_BODY',
    'fixed field after a variable one cut short',
  );
  t.equal(
    code(new Bytes().u16(5).u8(7, 7).u32(0).frame(0x40, 3)),
    'ERR_TRUNCATED_BODY',
    'length reaching into the fixed field after it',
  );
  t.equal(code(new Bytes().u16(7).u8(7, 7).u32(0).frame(0x40, 3)), 'ERR_BAD_LENGTH_FIELD', 'length past the body');
  t.equal(code(new Bytes().u8(0).frame(0x40, 2)), 'ERR_TRAILING_BYTES', 'one byte in a body with no fields');
  t.equal(
    code(new Bytes().frame(0x40, 2, { version: 3 })),
    'ERR_UNSUPPORTED_VERSION',
    "version above this edition's range",
  );
  t.equal(
    code(new Bytes().frame(0x40, 2, { flags: 0x08 })),
    'ERR_RESERVED_FLAG',
    'flag bit this edition does not define',
  );
  t.equal(code(new Bytes().frame(0x41, 1)), 'ERR_UNKNOWN_TYPE');
  t.equal(code(new Bytes().frame(0x40, 9)), 'ERR_UNKNOWN_SUBTYPE');
  const big = new Bytes().u16(8180).raw(new Uint8Array(8180)).u32(0).frame(0x40, 3);
  t.equal(code(big), 'ERR_FRAME_TOO_LARGE', "this edition's defaultMaxMessage (8192)");
  t.equal(
    code(big, createBinaryParserDecoder(other, { maxMessage: 9000 })),
    undefined,
    'unless maxMessage says otherwise',
  );

  t.equal(
    codeOf(() => decodeMessage(new Bytes().frame(0x40, 2))),
    'ERR_UNKNOWN_TYPE',
    'the generated codec, built from the bundled spec, does not know it',
  );
  t.equal(
    codeOf(() => decodeMessage(new Bytes().frame(0x40, 2, { version: 2 }))),
    'ERR_UNSUPPORTED_VERSION',
  );

  const renamed = join(dir, 'magic.spec.json');
  writeFileSync(
    renamed,
    JSON.stringify({ ...extraSpec, header: { ...(extraSpec.header as object), magic: 0x4b4b4358 } }),
  );
  const magicDec = createBinaryParserDecoder(loadSpec(renamed));
  t.equal(code(new Bytes().frame(0x40, 2), magicDec), 'ERR_BAD_MAGIC', 'the magic comes from the spec');
  t.same(magicDec.decode(new Bytes().frame(0x40, 2, { magic: 0x4b4b4358 })).body, {});

  // The bundled messages are still there: this decoder agrees with the codec on them.
  const bundledNames = model.messages.map((x) => x.name);
  t.same(
    otherModel.messages.map((x) => x.name).filter((n) => !n.startsWith('ext.')),
    bundledNames,
  );
  holds(
    t,
    "bundled messages through the other edition's decoder",
    arbitraryMessage(model),
    (msg: MessageInput) => {
      const frame = encodeMessage(msg);
      return isDeepStrictEqual(dec.decode(frame), decodeMessage(frame));
    },
    300,
  );
});
