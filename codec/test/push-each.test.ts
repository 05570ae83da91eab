/**
 * `pushEach`, the callback form of the stream readers: the same messages and the same
 * violation as `push` (arbitrary and mutated streams in arbitrary chunks), options changed
 * from the callback applying to the very next message of the same chunk, the message bytes
 * handed over without a view, and `failedMessage` naming the message whose body failed.
 */
import t from 'tap';
import fc from 'fast-check';
import { SpecModel, loadSpec } from '../../spec/src/index.js';
import {
  CodecError,
  encodeMessage,
  encodeRaw,
  Framer,
  HEADER_SIZE,
  messageToJson,
  StreamDecoder,
  toHex,
  type DecodedMessage,
  type DecodeOptions,
  type MessageInput,
} from '../src/index.js';
import { arbitraryDecodeOptions, arbitraryStream, chunked, cuts } from './arbitraries.js';
import { holds } from './support.js';

const model = new SpecModel(loadSpec());

const json = (m: DecodedMessage): string => JSON.stringify(messageToJson(m));
const codeAndOffset = (err: unknown): string =>
  err instanceof CodecError ? `${err.code}@${String(err.offset)}` : `not a CodecError: ${String(err)}`;

const stream = arbitraryStream(model);

const decodeOptions = arbitraryDecodeOptions;

/** Messages (JSON), their bytes (hex) and the violation, fed through `push`. */
function viaPush(
  chunks: readonly Uint8Array[],
  options: DecodeOptions,
): { messages: string[]; error: string | undefined } {
  const d = new StreamDecoder(options);
  const messages: string[] = [];
  try {
    for (const chunk of chunks) {
      messages.push(...d.push(chunk).map(json));
      if (d.error !== undefined) throw d.error;
    }
    d.end();
  } catch (err) {
    return { messages, error: codeAndOffset(err) };
  }
  return { messages, error: undefined };
}

/** The same through `pushEach`; each message's bytes are checked against its header's length. */
function viaEach(
  chunks: readonly Uint8Array[],
  options: DecodeOptions,
): { messages: string[]; error: string | undefined; wrongBytes: number } {
  const d = new StreamDecoder(options);
  const messages: string[] = [];
  let wrongBytes = 0;
  try {
    for (const chunk of chunks) {
      d.pushEach(chunk, (msg, b, start, end) => {
        messages.push(json(msg));
        if (
          end - start !== msg.header.length ||
          b[start + 8]! !== msg.header.length >>> 24 ||
          b[start + 11]! !== (msg.header.length & 0xff)
        )
          wrongBytes++;
      });
    }
    d.end();
  } catch (err) {
    return { messages, error: codeAndOffset(err), wrongBytes };
  }
  return { messages, error: undefined, wrongBytes };
}

t.test(
  'on arbitrary and mutated streams in arbitrary chunks, pushEach delivers what push returns, then the same violation',
  async (t) => {
    holds(t, 'same messages, same error', fc.tuple(stream, cuts, decodeOptions), ([bytes, at, options]) => {
      const chunks = chunked(bytes, at);
      const want = viaPush(chunks, options);
      const got = viaEach(chunks, options);
      if (got.wrongBytes > 0) throw new Error(`${got.wrongBytes} messages handed over with bytes that are not theirs`);
      if (JSON.stringify(got.messages) !== JSON.stringify(want.messages))
        throw new Error(`messages ${JSON.stringify(got.messages)} instead of ${JSON.stringify(want.messages)}`);
      if (got.error !== want.error) throw new Error(`error ${String(got.error)} instead of ${String(want.error)}`);
    });
  },
);

const ack = (seq: number, version?: number): MessageInput => ({
  name: 'control.ack',
  seq,
  version,
  body: { upTo: seq },
});
const packet = (seq: number, size: number): MessageInput => ({
  name: 'prl.packet',
  seq,
  body: { handle: 9, direction: 1, ifIndex: 3, timestampNs: 5n, packet: new Uint8Array(size).fill(seq) },
});

t.test('a version set from the callback applies to the next message of the same chunk', async (t) => {
  const chunk = Buffer.concat([encodeMessage(ack(1, 1)), encodeMessage(ack(2, 2))]);
  const lenient = new StreamDecoder({ anyVersion: true });
  t.equal(lenient.push(chunk).length, 2, 'push checks the whole chunk with the options it started with');
  const d = new StreamDecoder({ anyVersion: true });
  const seen: number[] = [];
  t.throws(
    () =>
      d.pushEach(chunk, (m) => {
        seen.push(m.header.seq);
        d.setVersion(1);
      }),
    { code: 'ERR_UNSUPPORTED_VERSION', offset: 20 + 4 },
    'the second message, version 2, is refused at once',
  );
  t.same(seen, [1], 'the first message was handed over before');
  t.equal(d.failedMessage, undefined, 'a header violation names no message');
  t.throws(
    () => d.pushEach(encodeMessage(ack(3, 1)), () => undefined),
    { code: 'ERR_STREAM_FAILED' },
    'then input is refused',
  );
});

t.test('a channel set from the callback applies to the next message of the same chunk', async (t) => {
  const prl = encodeMessage(packet(2, 8));
  const chunk = Buffer.concat([encodeMessage(ack(1)), prl]);
  const d = new StreamDecoder();
  const seen: string[] = [];
  t.throws(
    () =>
      d.pushEach(chunk, (m) => {
        seen.push(m.name ?? '');
        d.setChannel('send');
      }),
    { code: 'ERR_WRONG_CHANNEL', offset: 20 + 6 },
  );
  t.same(seen, ['control.ack']);
  t.equal(toHex(d.failedMessage!), toHex(prl), 'failedMessage holds the message whose checks failed after its header');
});

t.test('hands over each message where it lies: the chunk, or the copy of a straddling message', async (t) => {
  const frames = [encodeMessage(ack(1)), encodeMessage(packet(2, 300)), encodeMessage(ack(3))];
  const stream = Buffer.concat(frames);
  const cut = frames[0]!.byteLength + 10;
  const got: Array<{ hex: string; inChunk: boolean }> = [];
  const d = new StreamDecoder();
  for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
    d.pushEach(chunk, (_m, b, start, end) =>
      got.push({ hex: toHex(b.subarray(start, end)), inChunk: b.buffer === chunk.buffer }),
    );
  }
  t.same(
    got.map((g) => g.hex),
    frames.map(toHex),
    'the bytes of every message, in order',
  );
  t.same(
    got.map((g) => g.inChunk),
    [true, false, true],
    "the chunk's memory; the straddling one is the copy",
  );
  const f = new Framer();
  const whole: string[] = [];
  f.pushEach(stream, (frame, b, start, end) => whole.push(`${toHex(frame)}=${toHex(b.subarray(start, end))}`));
  t.same(
    whole,
    frames.map((x) => `${toHex(x)}=${toHex(x)}`),
    'the Framer hands over its frames the same way',
  );
});

t.test(
  'a body violation names the failing message in failedMessage; push still raises it after its messages',
  async (t) => {
    const bad = Buffer.from(encodeMessage(packet(2, 10)));
    bad[HEADER_SIZE + 5] = 1; // the reserved byte of the PACKET body
    const good = encodeMessage(ack(1));
    const d = new StreamDecoder();
    let handed = 0;
    t.throws(
      () => d.pushEach(Buffer.concat([good, bad, good]), () => handed++),
      { code: 'ERR_RESERVED_NONZERO', offset: good.byteLength + HEADER_SIZE + 5 },
      'raised at once, in stream offsets',
    );
    t.equal(handed, 1, 'the message before it was handed over');
    t.equal(toHex(d.failedMessage!), toHex(bad));
    const p = new StreamDecoder();
    t.equal(p.push(Buffer.concat([good, bad])).length, 1);
    t.equal(toHex(p.failedMessage!), toHex(bad), 'the same through push');
    t.equal(new StreamDecoder().failedMessage, undefined, 'nothing failed: no message');
  },
);

t.test('a callback that throws stops the reader; its own error comes out', async (t) => {
  const d = new StreamDecoder();
  t.throws(
    () =>
      d.pushEach(encodeMessage(ack(1)), () => {
        throw new CodecError('ERR_BAD_SEQUENCE', "the caller's own");
      }),
    { code: 'ERR_BAD_SEQUENCE' },
  );
  t.equal(d.failedMessage, undefined, 'not a violation of the stream');
  t.throws(() => d.pushEach(encodeMessage(ack(2)), () => undefined), { code: 'ERR_STREAM_FAILED' });
  const unknown = encodeRaw({ type: 0x55, subtype: 1, body: Uint8Array.of(1) });
  const e = new StreamDecoder();
  t.throws(() => e.pushEach(unknown, () => undefined), { code: 'ERR_UNKNOWN_TYPE' });
  t.equal(toHex(e.failedMessage!), toHex(unknown), 'an unknown type is a violation of that message');
});

t.test(
  'transient: a large straddling message reuses the buffer of the one before, once its callback returned',
  async (t) => {
    // Three large PACKETs (over the 4 KiB slab limit: a buffer each) and a small one, cut so
    // that every large one straddles two chunks; sizes shrink and grow again within one power of two.
    const frames = [packet(1, 9000), packet(2, 7000), encodeMessage(ack(3)), packet(4, 9100)].map((m) =>
      m instanceof Uint8Array ? m : encodeMessage(m),
    );
    const stream = Buffer.concat(frames);
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.byteLength; at += 5000) chunks.push(stream.subarray(at, at + 5000));

    const run = (transient: boolean): { hex: string[]; buffers: ArrayBufferLike[] } => {
      const d = new StreamDecoder({ transient });
      const hex: string[] = [];
      const buffers: ArrayBufferLike[] = [];
      for (const chunk of chunks)
        d.pushEach(chunk, (_m, b, start, end) => {
          // Read in the callback: the bytes are the callback's until it returns.
          hex.push(toHex(b.subarray(start, end)));
          if (end - start > 4096) buffers.push(b.buffer);
        });
      return { hex, buffers };
    };
    const reused = run(true);
    t.same(reused.hex, frames.map(toHex), 'every message intact when its callback runs');
    t.equal(reused.buffers.length, 3, 'three large messages straddled');
    t.ok(
      reused.buffers.every((b) => b === reused.buffers[0]),
      'one buffer for the three (sized for 9,000 bytes and more: the next power of two)',
    );
    const fresh = run(false);
    t.same(fresh.hex, frames.map(toHex), 'the same messages without it');
    t.equal(new Set(fresh.buffers).size, 3, 'without it: a buffer of its own per message, safe to keep');

    const viaPush = new StreamDecoder({ transient: true });
    const kept = chunks.flatMap((c) => viaPush.push(c));
    t.same(
      kept.map((m) => json(m)),
      frames.map((f) => json(new StreamDecoder().push(f)[0]!)),
      'push returns several messages at once: transient does not apply to it, every one stays intact',
    );
  },
);
