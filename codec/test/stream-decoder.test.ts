/**
 * The one-pass StreamDecoder against the two-pass reference (Framer, then decodeMessage of
 * each frame): the golden vectors fed byte by byte and cut at every offset, arbitrary and
 * mutated streams in arbitrary chunks (fast-check), the frames it reports, and the
 * framer's rules (limit before buffering, copies only of straddling bytes, violations after
 * the messages before them, a failed stream stays failed).
 */
import t from 'tap';
import fc from 'fast-check';
import { SpecModel, loadSpec } from '../../spec/src/index.js';
import { loadVectors, type Vector } from '../../spec/src/vectors.js';
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  encodeRaw,
  Flags,
  Framer,
  fromHex,
  HEADER_SIZE,
  Limits,
  messageToJson,
  StreamDecoder,
  toHex,
  type DecodedMessage,
  type DecodeOptions,
  type MessageInput,
} from '../src/index.js';
import { arbitraryDecodeOptions, arbitraryStream, chunked, cuts } from './arbitraries.js';
import { codeOf, holds } from './support.js';

const model = new SpecModel(loadSpec());
const { valid, invalid } = loadVectors();

/** How a stream ended: the messages (JSON text) delivered, then the error or none. */
interface Outcome {
  readonly messages: string[];
  readonly error: { code: string; offset: number | undefined; path: string | undefined } | undefined;
}

function errorOf(err: unknown): Outcome['error'] {
  if (!(err instanceof CodecError)) throw new Error(`not a CodecError: ${String(err)}`, { cause: err });
  return { code: err.code, offset: err.offset, path: err.path };
}

const json = (m: DecodedMessage): string => JSON.stringify(messageToJson(m));

/** The two-pass way: a Framer, then decodeMessage of each frame with its error moved to stream offsets. */
function reference(chunks: readonly Uint8Array[], options: DecodeOptions): Outcome & { frames: string[] } {
  // The framer checks headers with every option but the channel.
  const { channel: _channel, ...framing } = options;
  const framer = new Framer(framing);
  const messages: string[] = [];
  const frames: string[] = [];
  let at = 0;
  try {
    for (const chunk of chunks) {
      for (const frame of framer.push(chunk)) {
        frames.push(toHex(frame));
        try {
          messages.push(json(decodeMessage(frame, options)));
        } catch (err) {
          throw err instanceof CodecError ? err.shifted(at) : err;
        }
        at += frame.byteLength;
      }
      // A violation after whole messages of the same chunk: raised by the next call.
      if (framer.error !== undefined) throw framer.error;
    }
    framer.end();
  } catch (err) {
    return { messages, frames, error: errorOf(err) };
  }
  return { messages, frames, error: undefined };
}

/**
 * The one-pass way. Also checks the failure protocol: a violation found after messages is
 * visible in `error` at once and raised by the next push, and every push after the raise
 * is ERR_STREAM_FAILED.
 */
function oneShot(
  chunks: readonly Uint8Array[],
  options: DecodeOptions,
): Outcome & { frames: string[]; protocol: string[] } {
  const frames: string[] = [];
  const decoder = new StreamDecoder({ ...options, onFrame: (frame) => frames.push(toHex(frame)) });
  const messages: string[] = [];
  const protocol: string[] = [];
  let error: Outcome['error'];
  for (const chunk of chunks) {
    try {
      messages.push(...decoder.push(chunk).map(json));
    } catch (err) {
      error = errorOf(err);
      break;
    }
    if (decoder.error !== undefined) {
      error = errorOf(decoder.error);
      let again: Outcome['error'];
      try {
        decoder.push(new Uint8Array(1));
      } catch (err) {
        again = errorOf(err);
      }
      if (JSON.stringify(again) !== JSON.stringify(error))
        protocol.push(`the next push raised ${JSON.stringify(again)}, not the pending violation`);
      break;
    }
  }
  if (error === undefined) {
    try {
      decoder.end();
    } catch (err) {
      error = errorOf(err);
    }
  }
  if (error !== undefined) {
    let after: Outcome['error'];
    try {
      decoder.push(new Uint8Array(HEADER_SIZE));
    } catch (err) {
      after = errorOf(err);
    }
    if (after?.code !== 'ERR_STREAM_FAILED') protocol.push(`a push after the failure raised ${JSON.stringify(after)}`);
  }
  return { messages, frames, error, protocol };
}

/** One-pass and reference agree on messages, error, and the frames reported; '' when they do. */
function disagreement(chunks: readonly Uint8Array[], options: DecodeOptions): string {
  const want = reference(chunks, options);
  const got = oneShot(chunks, options);
  if (got.protocol.length > 0) return got.protocol.join('; ');
  if (JSON.stringify(got.messages) !== JSON.stringify(want.messages))
    return `messages ${JSON.stringify(got.messages)} instead of ${JSON.stringify(want.messages)}`;
  if (JSON.stringify(got.error) !== JSON.stringify(want.error))
    return `error ${JSON.stringify(got.error)} instead of ${JSON.stringify(want.error)}`;
  // Every frame the framer completed is reported, the one that failed to decode included;
  // the reference keeps framing past a bad body, the one-pass decoder stops at it.
  const frames = want.frames.slice(0, got.messages.length + (got.frames.length > got.messages.length ? 1 : 0));
  if (JSON.stringify(got.frames) !== JSON.stringify(frames))
    return `frames ${JSON.stringify(got.frames)} instead of ${JSON.stringify(frames)}`;
  return '';
}

const byteChunks = (b: Uint8Array): Uint8Array[] =>
  Array.from({ length: b.byteLength }, (_, i) => b.subarray(i, i + 1));

function splits(b: Uint8Array): Array<{ name: string; chunks: Uint8Array[] }> {
  const out = [
    { name: 'whole', chunks: [b] },
    { name: 'byte by byte', chunks: byteChunks(b) },
  ];
  for (let cut = 0; cut <= b.byteLength; cut++)
    out.push({ name: `cut at ${cut}`, chunks: [b.subarray(0, cut), b.subarray(cut)] });
  return out;
}

const optionsOf = (v: Vector): DecodeOptions => v.decodeOptions ?? {};

t.test('every valid vector, whole, byte by byte and cut at every offset, decodes to its messages', async (t) => {
  for (const v of valid) {
    const bytes = fromHex(v.hex);
    const expected = v.expect.messages.map((m) => JSON.stringify(m));
    let ok = 0;
    for (const { name, chunks } of splits(bytes)) {
      const got = oneShot(chunks, optionsOf(v));
      const why =
        got.error !== undefined
          ? `error ${JSON.stringify(got.error)}`
          : JSON.stringify(got.messages) !== JSON.stringify(expected)
            ? `messages ${JSON.stringify(got.messages)}`
            : disagreement(chunks, optionsOf(v));
      if (why === '') ok++;
      else t.fail(`${v.id}, ${name}: ${why}`);
    }
    t.equal(
      ok,
      bytes.byteLength + 3,
      `${v.id}: every split gives the vector's messages, as Framer + decodeMessage does`,
    );
  }
});

t.test(
  'every invalid vector, whole, byte by byte and cut at every offset, raises its error after its messages',
  async (t) => {
    for (const v of invalid) {
      const bytes = fromHex(v.hex);
      const { code, offset, path } = v.expect.error;
      let ok = 0;
      for (const { name, chunks } of splits(bytes)) {
        const got = oneShot(chunks, optionsOf(v));
        let why = '';
        if (got.error?.code !== code || got.error.offset !== offset) why = `error ${JSON.stringify(got.error)}`;
        else if (path !== undefined && got.error.path !== path) why = `path ${String(got.error.path)}`;
        else if (got.messages.length !== (v.expect.messagesBefore ?? 0))
          why = `${got.messages.length} messages before the error`;
        else why = disagreement(chunks, optionsOf(v));
        if (why === '') ok++;
        else t.fail(`${v.id}, ${name}: ${why}`);
      }
      t.equal(
        ok,
        bytes.byteLength + 3,
        `${v.id}: every split raises ${code} at ${offset}, as Framer + decodeMessage does`,
      );
    }
  },
);

const stream = arbitraryStream(model);

const decodeOptions = arbitraryDecodeOptions;

t.test(
  'on arbitrary and mutated streams in arbitrary chunks, one pass agrees with Framer + decodeMessage',
  async (t) => {
    holds(
      t,
      'same messages, same error, same frames',
      fc.tuple(stream, cuts, decodeOptions),
      ([bytes, at, options]) => {
        const why = disagreement(chunked(bytes, at), options);
        if (why !== '') throw new Error(why);
      },
    );
  },
);

t.test('on arbitrary streams the decoder never buffers more than maxMessage', async (t) => {
  holds(t, 'buffered stays within the limit', fc.tuple(stream, cuts, decodeOptions), ([bytes, at, options]) => {
    const decoder = new StreamDecoder(options);
    for (const chunk of chunked(bytes, at)) {
      try {
        decoder.push(chunk);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        break;
      }
      if (decoder.buffered > (options.maxMessage ?? Limits.defaultMaxMessage)) return false;
    }
    return true;
  });
});

const ack = (seq: number): MessageInput => ({ name: 'control.ack', seq, body: { upTo: seq } });
const packet = (seq: number, size: number): MessageInput => ({
  name: 'prl.packet',
  seq,
  body: { handle: 9, direction: 1, ifIndex: 3, timestampNs: 5n, packet: new Uint8Array(size).fill(seq) },
});

t.test('decodes messages inside one chunk in place: bytes fields are views of the chunk memory', async (t) => {
  const frames = [encodeMessage(packet(1, 100)), encodeMessage(packet(2, 50))];
  const chunk = Buffer.concat(frames);
  const [a, b] = new StreamDecoder().push(chunk) as Array<DecodedMessage & { body: { packet: Uint8Array } }>;
  t.equal(a?.body.packet.buffer, chunk.buffer, 'the first payload is in the chunk');
  t.equal(a?.body.packet.byteOffset, chunk.byteOffset + HEADER_SIZE + 20, 'at its place in the chunk');
  t.equal(b?.body.packet.buffer, chunk.buffer, 'the second payload too');
  t.equal(b?.body.packet.byteOffset, chunk.byteOffset + frames[0]!.byteLength + HEADER_SIZE + 20);
  t.equal(
    Object.getPrototypeOf(a?.body.packet),
    Uint8Array.prototype,
    'a plain Uint8Array view, even of a Buffer chunk',
  );
  t.strictSame(messageToJson(a!), messageToJson(decodeMessage(frames[0]!)), 'the same value decodeMessage gives');
});

t.test('copies only a message that straddles chunks, into a buffer of its own memory', async (t) => {
  const frames = [encodeMessage(ack(1)), encodeMessage(packet(2, 200)), encodeMessage(ack(3))];
  const stream = Buffer.concat(frames);
  const cut = frames[0]!.byteLength + 100;
  const d = new StreamDecoder();
  const first = d.push(stream.subarray(0, cut));
  t.equal(first.length, 1, 'the whole message before the cut');
  t.equal(d.buffered, 100, 'the straddling bytes are held');
  const rest = d.push(stream.subarray(cut)) as Array<DecodedMessage & { body: { packet: Uint8Array } }>;
  t.equal(rest.length, 2);
  t.not(rest[0]?.body.packet.buffer, stream.buffer, 'the straddling message was copied');
  t.equal(toHex(rest[0]!.body.packet), toHex(new Uint8Array(200).fill(2)));
  t.equal(rest[1]?.name, 'control.ack');
  t.equal(d.buffered, 0);
  t.equal(d.offset, stream.byteLength);
  d.end();
});

t.test('onFrame reports each whole frame with its stream offset, before the message is decoded', async (t) => {
  const frames = [encodeMessage(ack(1)), encodeMessage(packet(2, 300)), encodeMessage(ack(3))];
  const stream = Buffer.concat(frames);
  const seen: Array<{ hex: string; offset: number; inChunk: boolean }> = [];
  let chunk: Uint8Array = stream;
  const d = new StreamDecoder({
    onFrame: (frame, offset) => seen.push({ hex: toHex(frame), offset, inChunk: frame.buffer === chunk.buffer }),
  });
  const cut = frames[0]!.byteLength + 10;
  chunk = stream.subarray(0, cut);
  const messages = d.push(chunk);
  chunk = stream.subarray(cut);
  messages.push(...d.push(chunk));
  t.equal(messages.length, 3);
  t.strictSame(
    seen.map((s) => s.hex),
    frames.map(toHex),
    'the bytes of every frame, in order',
  );
  t.strictSame(
    seen.map((s) => s.offset),
    [0, frames[0]!.byteLength, frames[0]!.byteLength + frames[1]!.byteLength],
    'stream offsets',
  );
  t.strictSame(
    seen.map((s) => s.inChunk),
    [true, false, true],
    'views into the chunk; the straddling one is the copy',
  );
});

t.test('onFrame reports the frame that fails to decode, and the error points inside it', async (t) => {
  const bad = Buffer.from(encodeMessage(packet(2, 10)));
  bad[HEADER_SIZE + 5] = 1; // the reserved byte of the PACKET body
  const good = encodeMessage(ack(1));
  const frames: Array<{ frame: Uint8Array; offset: number }> = [];
  const d = new StreamDecoder({ onFrame: (frame, offset) => frames.push({ frame, offset }) });
  const out = d.push(Buffer.concat([good, bad, good]));
  t.equal(out.length, 1, 'the message before the bad one is delivered');
  t.equal(frames.length, 2, 'one frame more than messages: the last one failed');
  t.equal(toHex(frames[1]!.frame), toHex(bad));
  t.match(d.error, { code: 'ERR_RESERVED_NONZERO', path: 'body.reserved', offset: good.byteLength + HEADER_SIZE + 5 });
  t.ok(
    d.error!.offset! >= frames[1]!.offset && d.error!.offset! < frames[1]!.offset + bad.byteLength,
    'the offset lies in the reported frame',
  );
  t.throws(() => d.push(good), { code: 'ERR_RESERVED_NONZERO' }, 'the next push raises the violation');
  t.throws(() => d.push(good), { code: 'ERR_STREAM_FAILED' }, 'then input is refused');
});

t.test('without onFrame no frame is reported, and a header violation reports no frame either', async (t) => {
  const frames: Uint8Array[] = [];
  const d = new StreamDecoder({ onFrame: (f) => frames.push(f) });
  t.throws(() => d.push(new Uint8Array(HEADER_SIZE)), { code: 'ERR_BAD_MAGIC', offset: 0 });
  t.equal(frames.length, 0);
});

t.test('an onFrame that throws stops the decoder', async (t) => {
  const d = new StreamDecoder({
    onFrame: () => {
      throw new Error('tracer broke');
    },
  });
  t.throws(() => d.push(encodeMessage(ack(1))), { message: 'tracer broke' }, 'the caller sees its own error');
  t.throws(() => d.push(encodeMessage(ack(2))), { code: 'ERR_STREAM_FAILED' });
});

t.test('checks the length limit as soon as a header is complete, before buffering the body', async (t) => {
  const big = encodeRaw({ type: 0x20, subtype: 3, body: new Uint8Array(5000) });
  const d = new StreamDecoder({ maxMessage: 4096 });
  t.equal(d.push(encodeMessage(ack(1))).length, 1, 'a message first, so that offsets are stream offsets');
  t.strictSame(d.push(big.subarray(0, HEADER_SIZE - 1)), []);
  t.throws(
    () => d.push(big.subarray(HEADER_SIZE - 1, HEADER_SIZE)),
    { code: 'ERR_FRAME_TOO_LARGE', offset: 20 + 8, path: 'header.length' },
    'offset in stream bytes',
  );
  t.ok(d.buffered <= HEADER_SIZE, 'nothing of the body was buffered');
});

t.test('enforces the negotiated version and the channel mapping, from the options or set later', async (t) => {
  const v1 = encodeMessage(ack(1));
  const hello = encodeMessage({
    name: 'control.hello',
    body: {
      minVersion: 1,
      maxVersion: 1,
      role: 1,
      channel: 0,
      features: 0,
      nodeId: 1,
      maxMessage: 4096,
      sessionId: 1n,
      nodeName: 'a',
    },
  });
  const options = { version: 1 };
  const d = new StreamDecoder(options);
  t.equal(d.push(v1).length, 1);
  d.setVersion(2);
  t.equal(options.version, 1, "the caller's options object is not written");
  t.throws(() => d.push(v1), { code: 'ERR_UNSUPPORTED_VERSION', offset: v1.byteLength + 4, path: 'header.version' });
  const prl = encodeMessage(packet(1, 4));
  const c = new StreamDecoder({ channel: 'receive' });
  t.equal(c.push(prl).length, 1, 'PRL travels on the receive channel');
  c.setChannel('send');
  t.throws(() => c.push(prl), { code: 'ERR_WRONG_CHANNEL', offset: prl.byteLength + 6, path: 'header.type' });
  const e = new StreamDecoder();
  e.setChannel('send');
  t.equal(
    codeOf(() => e.push(prl)),
    'ERR_WRONG_CHANNEL',
  );
  t.equal(
    codeOf(() => e.push(prl)),
    'ERR_STREAM_FAILED',
  );
  t.equal(
    codeOf(() => decodeMessage(prl, { channel: 'send' })),
    'ERR_WRONG_CHANNEL',
    'as decodeMessage',
  );
  const f = new StreamDecoder({ channel: 'send' });
  t.equal(f.push(hello)[0]?.name, 'control.hello', 'control messages travel on both');
});

t.test('skips an unknown type under mayIgnore and rejects it without', async (t) => {
  const ignored = encodeRaw({ type: 0x55, subtype: 1, flags: Flags.mayIgnore, body: Uint8Array.of(1, 2, 3) });
  const [m] = new StreamDecoder().push(ignored);
  t.equal(m?.name, null);
  t.equal(toHex((m as { body: Uint8Array }).body), '010203');
  const unknown = encodeRaw({ type: 0x55, subtype: 1, body: Uint8Array.of(1, 2, 3) });
  const d = new StreamDecoder();
  t.equal(d.push(encodeMessage(ack(1))).length, 1);
  t.throws(() => d.push(unknown), { code: 'ERR_UNKNOWN_TYPE', offset: 20 + 6, path: 'header.type' });
});

t.test(
  'end() inside a message is ERR_STREAM_TRUNCATED at the message start; a pending violation is raised once',
  async (t) => {
    const a = encodeMessage(ack(1));
    const d = new StreamDecoder();
    d.push(Buffer.concat([a, a.subarray(0, 7)]));
    t.throws(() => d.end(), { code: 'ERR_STREAM_TRUNCATED', offset: a.byteLength });
    const g = new StreamDecoder();
    t.equal(g.push(Buffer.concat([a, Buffer.alloc(16, 0xee)])).length, 1);
    t.equal(g.error?.code, 'ERR_BAD_MAGIC', 'visible at once');
    t.throws(() => g.end(), { code: 'ERR_BAD_MAGIC', offset: a.byteLength });
    t.doesNotThrow(() => g.end(), 'once');
  },
);

t.test('RoutingDecoder hands client messages over with their body bytes, and checks control bodies', async (t) => {
  const { RoutingDecoder, decodeClientMessage, encodeMessage, encodeRaw } = await import('../src/index.js');
  const sdrl = encodeMessage({ name: 'sdrl.socketDataAck', body: { handle: 7, streamOffset: 9n } });
  const longer = encodeRaw({ type: 0x11, subtype: 0x02, body: Uint8Array.of(...sdrl.subarray(16), 1, 2, 3) });
  const unlisted = encodeRaw({ type: 0x10, subtype: 0x77, body: new Uint8Array(0) });
  const d = new RoutingDecoder({ channel: 'send' });
  const out = d.push(Uint8Array.of(...sdrl, ...longer, ...unlisted));
  t.same(
    out.map((m) => ['client' in m ? m.client : 'kkcm', m.name, m.body instanceof Uint8Array ? m.body.byteLength : -1]),
    [
      ['sdrl', 'sdrl.socketDataAck', 16],
      ['sdrl', 'sdrl.socketDataAck', 19],
      ['iha', null, 0],
    ],
  );
  const [fits, extra, noLayout] = out as Parameters<typeof decodeClientMessage>[0][];
  t.match(decodeClientMessage(fits!), { name: 'sdrl.socketDataAck', body: { handle: 7, streamOffset: 9n } });
  t.throws(() => decodeClientMessage(extra!), { code: 'ERR_TRAILING_BYTES', offset: 16 });
  t.throws(() => decodeClientMessage(noLayout!), { code: 'ERR_UNKNOWN_SUBTYPE' });
  const prlOnSend = new RoutingDecoder({ channel: 'send' });
  t.throws(() => prlOnSend.push(encodeRaw({ type: 0x20, subtype: 1, body: new Uint8Array(0) })), {
    code: 'ERR_WRONG_CHANNEL',
  });
  const ack = encodeMessage({ name: 'control.ack', body: { upTo: 1 } });
  const control = new RoutingDecoder();
  t.throws(() => control.push(encodeRaw({ type: 0x01, subtype: 0x08, body: Uint8Array.of(...ack.subarray(16), 0) })), {
    code: 'ERR_TRAILING_BYTES',
  });
});
