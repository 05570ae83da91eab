// The golden vectors drive the codec: decode, encode, round trip and every split point for
// the valid ones; the exact code, offset and path for the invalid ones, however the bytes
// arrive.
import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  CodecError,
  decodeMessage,
  decodeStream,
  encodeMessage,
  encodeRaw,
  Framer,
  fromHex,
  iterateStream,
  messageFromJson,
  messageToJson,
  toHex,
  type DecodedMessage,
  type DecodeOptions,
  type MessageInput,
  type MessageJson,
  type RawMessageInput,
} from '../src/index.js';
import { SpecModel, loadSpec } from '../../spec/src/index.js';
import {
  loadVectors,
  validateVectorFile,
  vectorFilePath,
  vectorViolations,
  type InvalidVector,
  type Vector,
  type VectorMessage,
} from '../../spec/src/vectors.js';

const { valid, invalid } = loadVectors();

function optionsOf(v: Vector): DecodeOptions {
  return v.decodeOptions ?? {};
}

function framerOptions(v: Vector): { maxMessage?: number; version?: number } {
  const { maxMessage, version } = optionsOf(v);
  return { ...(maxMessage !== undefined ? { maxMessage } : {}), ...(version !== undefined ? { version } : {}) };
}

function encodeJson(json: VectorMessage): Uint8Array {
  const input = messageFromJson(json);
  return json.name === null ? encodeRaw(input as RawMessageInput) : encodeMessage(input as MessageInput);
}

function encodeDecoded(m: DecodedMessage): Uint8Array {
  if (m.name === null) {
    const { version, flags, type, subtype, seq } = m.header;
    return encodeRaw({ version, flags, type, subtype, seq, body: m.body });
  }
  const { version, flags, seq } = m.header;
  return encodeMessage({ name: m.name, version, flags, seq, body: m.body } as MessageInput);
}

/** Frames a framer returns for these chunks, as hex; throws what the framer throws. */
function frameChunks(chunks: readonly Uint8Array[], v: Vector): string[] {
  const framer = new Framer(framerOptions(v));
  const out: string[] = [];
  for (const chunk of chunks) for (const frame of framer.push(chunk)) out.push(toHex(frame));
  framer.end();
  return out;
}

function byteChunks(b: Uint8Array): Uint8Array[] {
  return Array.from({ length: b.byteLength }, (_, i) => b.subarray(i, i + 1));
}

interface Outcome {
  readonly error: unknown;
  readonly messages: number;
}

/** Decodes a stream given as chunks with iterateStream; counts messages before the error. */
function streamOutcome(chunks: readonly Uint8Array[], v: Vector): Outcome {
  let messages = 0;
  try {
    for (const _m of iterateStream(chunks, optionsOf(v))) messages++;
  } catch (error) {
    return { error, messages };
  }
  return { error: undefined, messages };
}

/** Feeds the stream byte by byte to a Framer and decodes each frame with decodeMessage. */
function bytewiseOutcome(b: Uint8Array, v: Vector): Outcome {
  const framer = new Framer(framerOptions(v));
  let messages = 0;
  let frameStart = 0;
  try {
    for (const chunk of byteChunks(b)) {
      for (const frame of framer.push(chunk)) {
        try {
          decodeMessage(frame, optionsOf(v));
        } catch (err) {
          throw err instanceof CodecError ? err.shifted(frameStart) : err;
        }
        messages++;
        frameStart += frame.byteLength;
      }
    }
    framer.end();
  } catch (error) {
    return { error, messages };
  }
  return { error: undefined, messages };
}

interface Observed {
  readonly code: string;
  readonly offset?: number | undefined;
  readonly path?: string | undefined;
  readonly messagesBefore: number;
}

/** What an invalid vector expects, in the shape {@link observe} reports. */
function expected(v: InvalidVector): Observed {
  const { code, offset, path } = v.expect.error;
  return { code, offset, ...(path !== undefined ? { path } : {}), messagesBefore: v.expect.messagesBefore ?? 0 };
}

/** The error an outcome ended with; the path is compared only when the vector names one. */
function observe(outcome: Outcome, v: InvalidVector): Observed {
  const err = outcome.error;
  if (!(err instanceof CodecError))
    return {
      code: err === undefined ? 'no error' : `not a CodecError: ${String(err)}`,
      messagesBefore: outcome.messages,
    };
  const path = v.expect.error.path !== undefined ? { path: err.path } : {};
  return { code: err.code, offset: err.offset, ...path, messagesBefore: outcome.messages };
}

t.test('the valid vectors cover every message of the spec', async (t) => {
  const model = new SpecModel(loadSpec());
  const covered = new Set(valid.flatMap((v) => v.expect.messages.map((m) => m.name)));
  for (const m of model.messages) t.ok(covered.has(m.name), `${m.name} has a valid vector`);
});

t.test("SHUTDOWN for a switchover carries the design's reason 0 (JSR_CLEANUP_SWITCHOVER) on the wire", async (t) => {
  const v = valid.find((x) => x.id === 'control.shutdown/switchover');
  if (v === undefined) throw new Error('the golden vector control.shutdown/switchover is missing');
  const reason = v.fields.find((f) => f.field === 'body.reason');
  t.equal(reason?.hex, '00', 'the noted reason byte is 00');
  // The reason is the first body byte, right after the 16-byte header.
  t.equal(v.hex.slice(32, 34), '00', 'the vector bytes carry 00 at the reason offset');
  t.match(v.expect.messages[0]?.body, { reason: 'switchover' });
  t.match(
    decodeMessage(fromHex(v.hex)),
    { name: 'control.shutdown', body: { reason: 0 } },
    'the codec decodes it as 0',
  );
  const design = loadSpec().enums.cleanupReason?.values.map((x) => [x.designName, x.value]);
  t.same(design, [
    ['JSR_CLEANUP_SWITCHOVER', 0],
    ['JSR_CLEANUP_ORE_DOWN', 1],
    ['JSR_CLEANUP_NSR_DECONFIG', 2],
    ['JSR_CLEANUP_NSR_IO_ERR', 3],
    [undefined, 255],
  ]);
});

t.test('the invalid vectors raise every error a decoder can raise', async (t) => {
  const raised = new Set(invalid.map((v) => v.expect.error.code));
  const decodeCodes = [
    'ERR_BAD_MAGIC',
    'ERR_UNSUPPORTED_VERSION',
    'ERR_LENGTH_TOO_SMALL',
    'ERR_FRAME_TOO_LARGE',
    'ERR_TRUNCATED_BODY',
    'ERR_TRAILING_BYTES',
    'ERR_RESERVED_NONZERO',
    'ERR_BAD_COUNT',
    'ERR_BAD_LENGTH_FIELD',
    'ERR_UNKNOWN_TYPE',
    'ERR_UNKNOWN_SUBTYPE',
    'ERR_RESERVED_FLAG',
    'ERR_BAD_UTF8',
    'ERR_WRONG_CHANNEL',
    'ERR_STREAM_TRUNCATED',
  ];
  for (const code of decodeCodes) t.ok(raised.has(code), `${code} has an invalid vector`);
  t.ok(invalid.length >= 26, 'at least 26 invalid vectors');
});

for (const v of valid) {
  t.test(`${v.id}: decodes to the expected messages`, async (t) => {
    const out = decodeStream(fromHex(v.hex), optionsOf(v));
    t.strictSame(
      out.map((m): MessageJson => messageToJson(m.message)),
      v.expect.messages,
    );
  });

  t.test(`${v.id}: encodes the expected messages back to exactly the vector bytes`, async (t) => {
    const encoded = v.expect.messages.map(encodeJson);
    t.equal(encoded.map(toHex).join(''), v.hex);
  });

  t.test(`${v.id}: re-encodes each decoded message to its own bytes and decodes it again unchanged`, async (t) => {
    for (const { bytes, message } of decodeStream(fromHex(v.hex), optionsOf(v))) {
      const again = encodeDecoded(message);
      t.equal(toHex(again), toHex(bytes), 'same bytes');
      t.strictSame(messageToJson(decodeMessage(again, optionsOf(v))), messageToJson(message), 'same message');
    }
  });

  t.test(`${v.id}: yields the same frames fed byte by byte and cut at every offset`, async (t) => {
    const bytes = fromHex(v.hex);
    // The frames the vector itself describes: consecutive slices of its header lengths.
    let at = 0;
    const expected = v.expect.messages.map((m) => v.hex.slice(2 * at, 2 * (at += m.header.length)));
    t.equal(2 * at, v.hex.length, 'the expected lengths cover the whole vector');
    t.strictSame(frameChunks(byteChunks(bytes), v), expected, 'byte by byte');
    const wanted = JSON.stringify(v.expect.messages);
    let cutsOk = 0;
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const chunks = [bytes.subarray(0, cut), bytes.subarray(cut)];
      const frames = frameChunks(chunks, v);
      const decoded = JSON.stringify([...iterateStream(chunks, optionsOf(v))].map((m) => messageToJson(m.message)));
      if (JSON.stringify(frames) === JSON.stringify(expected) && decoded === wanted) cutsOk++;
      else t.fail(`cut at ${cut}: frames ${JSON.stringify(frames)}`);
    }
    t.equal(cutsOk, bytes.byteLength + 1, 'every cut gives the same frames and messages');
  });
}

for (const v of invalid) {
  const { code, offset } = v.expect.error;
  // Whole buffer and two chunks put several messages in one push: exposed to the known bug.
  t.test(`${v.id}: is rejected with ${code} at offset ${offset}`, async (t) => {
    t.strictSame(observe(streamOutcome([fromHex(v.hex)], v), v), expected(v));
  });

  t.test(`${v.id}: is rejected the same way fed byte by byte to a framer`, async (t) => {
    t.strictSame(observe(bytewiseOutcome(fromHex(v.hex), v), v), expected(v));
  });

  t.test(`${v.id}: is rejected the same way cut at every offset`, async (t) => {
    const bytes = fromHex(v.hex);
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      t.strictSame(
        observe(streamOutcome([bytes.subarray(0, cut), bytes.subarray(cut)], v), v),
        expected(v),
        `cut at ${cut}`,
      );
    }
  });
}

/** The error `fn` throws, or undefined. */
function thrown(
  fn: () => unknown,
): { code?: unknown; violations?: Array<{ path: string; rule: string; message: string }> } | undefined {
  try {
    fn();
  } catch (err) {
    return err as { code?: unknown; violations?: Array<{ path: string; rule: string; message: string }> };
  }
  return undefined;
}

t.test('vector file checks', async (t) => {
  const rawValid = (): { vectors: Array<Record<string, unknown>> } =>
    JSON.parse(readFileSync(vectorFilePath('valid'), 'utf8')) as { vectors: Array<Record<string, unknown>> };

  t.test('the bundled vectors break no rule', async (t) => {
    t.strictSame(vectorViolations(valid), []);
    t.strictSame(vectorViolations(invalid), []);
  });

  t.test('rejects a vector whose hex differs from its fields, naming the vector', async (t) => {
    const data = rawValid();
    const first = data.vectors[0]!;
    const hex = first.hex as string;
    first.hex = `${hex.slice(0, -2)}${hex.endsWith('00') ? '01' : '00'}`;
    const err = thrown(() => validateVectorFile(data, 'valid', 'tampered.json'));
    t.equal(err?.code, 'ERR_INVALID_SPEC');
    t.equal(err?.violations?.length, 1);
    t.equal(err?.violations?.[0]?.rule, 'fields-hex');
    t.equal(err?.violations?.[0]?.path, '/vectors/0');
    t.ok(err?.violations?.[0]?.message.includes(String(first.id)), 'the violation names the vector id');
  });

  t.test('rejects a vector whose fields lack a byte of its hex', async (t) => {
    const data = rawValid();
    (data.vectors[0]!.fields as unknown[]).pop();
    const err = thrown(() => validateVectorFile(data, 'valid'));
    t.equal(err?.code, 'ERR_INVALID_SPEC');
    t.equal(err?.violations?.[0]?.rule, 'fields-hex');
  });

  t.test('rejects upper-case hex through the schema', async (t) => {
    const data = rawValid();
    data.vectors[0]!.hex = (data.vectors[0]!.hex as string).toUpperCase();
    const err = thrown(() => validateVectorFile(data, 'valid'));
    t.equal(err?.code, 'ERR_INVALID_SPEC');
    t.ok(
      err?.violations?.some((x) => x.path === '/vectors/0/hex' && x.rule.startsWith('pattern')),
      'a pattern violation at /vectors/0/hex',
    );
  });

  t.test('rejects a valid file loaded as the invalid one', async (t) => {
    const err = thrown(() => validateVectorFile(rawValid(), 'invalid'));
    t.equal(err?.code, 'ERR_INVALID_SPEC');
    t.strictSame(
      err?.violations?.map((x) => [x.path, x.rule]),
      [['/kind', 'kind']],
    );
  });

  t.test('flags duplicate ids, unknown error codes and unknown message names', async (t) => {
    const base = invalid[0]!;
    const unknownCode: Vector = {
      ...base,
      id: 'header/unknown-code',
      expect: { error: { code: 'ERR_NOT_IN_SPEC', offset: 0 } },
    };
    const unknownName: Vector = {
      ...valid[0]!,
      id: 'control.nope/basic',
      expect: { messages: [{ ...valid[0]!.expect.messages[0]!, name: 'control.nope' }] },
    };
    const rules = vectorViolations([base, base, unknownCode, unknownName]).map((x) => x.rule);
    t.strictSame(rules, ['unique-id', 'error-code', 'message-name']);
  });
});
