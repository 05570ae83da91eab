/**
 * Properties of the codec and the framer over generated input (fast-check): round trips for
 * every message of the spec, and "arbitrary bytes never crash, never buffer past the limit,
 * and a failed stream stays failed".
 *
 * Runs use a fixed seed (override with FC_SEED) so that CI is reproducible.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { SpecModel, loadSpec } from '../../spec/src/index.js';
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  Framer,
  HEADER_SIZE,
  Limits,
  type DecodeOptions,
  type MessageInput,
} from '../src/index.js';
import {
  arbitraryHeaderShapedFrame,
  arbitraryMessage,
  arbitraryMutatedFrame,
  arbitraryStream,
  chunked,
  comparable,
  cuts,
  expectedBody,
  type BodyValue,
} from './arbitraries.js';
import { holds as holdsFor } from './support.js';

const RUNS = 200;
const model = new SpecModel(loadSpec());

/** One tap assertion per property, {@link RUNS} runs unless told. */
const holds = <T>(
  t: Test,
  title: string,
  arb: fc.Arbitrary<T>,
  predicate: (v: T) => boolean | void,
  numRuns = RUNS,
): void => holdsFor(t, title, arb, predicate, numRuns);

/** Runs `fn`; a CodecError is returned, any other throw escapes and fails the property. */
function codecErrorOf(fn: () => unknown): CodecError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw new Error(`threw something other than a CodecError: ${String(err)}`, { cause: err });
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

t.test('every message survives encode, decode and re-encode unchanged', async (t) => {
  for (const { name, type, subtype } of model.messages) {
    holds(t, `${name}: same bytes and same value`, arbitraryMessage(model, [name]), (msg) => {
      const first = encodeMessage(msg);
      const decoded = decodeMessage(first);
      if (decoded.name !== name) return false;
      const header = {
        version: msg.version ?? 1,
        flags: msg.flags ?? 0,
        type,
        subtype,
        length: first.byteLength,
        seq: msg.seq ?? 0,
      };
      if (!isDeepStrictEqual(decoded.header, header)) return false;
      // Decoded values are the inputs, IPv6 addresses in canonical text (RFC 5952).
      if (
        !isDeepStrictEqual(
          comparable(decoded.body),
          comparable(expectedBody(model, name, msg.body as unknown as BodyValue)),
        )
      )
        return false;
      const again = encodeMessage({
        name,
        seq: decoded.header.seq,
        flags: decoded.header.flags,
        version: decoded.header.version,
        body: decoded.body,
      } as MessageInput);
      return hex(again) === hex(first);
    });
  }
});

const validStreamPart = arbitraryMessage(model).map((m) => encodeMessage(m));

/** Streams mixing whole messages, damaged ones, plausible headers and garbage. */
const stream = arbitraryStream(model, 1);

const framerOptions = fc.record(
  {
    maxMessage: fc.oneof(fc.integer({ min: HEADER_SIZE, max: 600 }), fc.constant(Limits.defaultMaxMessage)),
    version: fc.constantFrom(1, 2),
  },
  { requiredKeys: [] },
);

t.test(
  'a framer fed arbitrary bytes in arbitrary chunks only ever raises CodecErrors and buffers at most maxMessage',
  async (t) => {
    holds(
      t,
      'framer invariants',
      fc.tuple(stream, cuts, framerOptions),
      ([bytes, at, options]) => {
        const max = options.maxMessage ?? Limits.defaultMaxMessage;
        const framer = new Framer(options);
        const out: Uint8Array[] = [];
        let failed: CodecError | undefined;
        for (const chunk of chunked(bytes, at)) {
          failed = codecErrorOf(() => out.push(...framer.push(chunk)));
          if (framer.buffered > max) return false;
          if (failed !== undefined) break;
        }
        if (failed === undefined) codecErrorOf(() => framer.end());
        // What came out is exactly what was consumed, in order, cut at message boundaries: even
        // when the stream failed, messages completed before the bad bytes are delivered.
        if (hex(Buffer.concat(out)) !== hex(bytes.subarray(0, framer.offset))) return false;
        return out.every(
          (m) =>
            m.byteLength === Buffer.from(m.buffer, m.byteOffset, m.byteLength).readUInt32BE(8) && m.byteLength <= max,
        );
      },
      3 * RUNS,
    );
  },
);

const decodeOptions = fc.record(
  {
    maxMessage: fc.integer({ min: 0, max: 1000 }),
    version: fc.integer({ min: 0, max: 3 }),
    channel: fc.constantFrom('send' as const, 'receive' as const),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<DecodeOptions>;

t.test('decodeMessage on arbitrary bytes returns or raises a CodecError, nothing else', async (t) => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    arbitraryHeaderShapedFrame(model),
    arbitraryMutatedFrame(model),
  );
  holds(
    t,
    'decodeMessage never crashes',
    fc.tuple(bytes, decodeOptions),
    ([b, options]) => {
      codecErrorOf(() => decodeMessage(b, options));
    },
    4 * RUNS,
  );
});

/** A header that fails the framer's checks, with the code it must fail with. */
const poison = fc.constantFrom(
  { bytes: [0, 0, 0, 0, 1, 0, 1, 8, 0, 0, 0, 20, 0, 0, 0, 0], code: 'ERR_BAD_MAGIC' },
  { bytes: [0x4b, 0x4b, 0x43, 0x4d, 9, 0, 1, 8, 0, 0, 0, 20, 0, 0, 0, 0], code: 'ERR_UNSUPPORTED_VERSION' },
  { bytes: [0x4b, 0x4b, 0x43, 0x4d, 1, 0x80, 1, 8, 0, 0, 0, 20, 0, 0, 0, 0], code: 'ERR_RESERVED_FLAG' },
  { bytes: [0x4b, 0x4b, 0x43, 0x4d, 1, 0, 1, 8, 0, 0, 0, 15, 0, 0, 0, 0], code: 'ERR_LENGTH_TOO_SMALL' },
  { bytes: [0x4b, 0x4b, 0x43, 0x4d, 1, 0, 1, 8, 0xff, 0, 0, 0, 0, 0, 0, 0], code: 'ERR_FRAME_TOO_LARGE' },
);

t.test('after a framer failed, every further push raises ERR_STREAM_FAILED', async (t) => {
  const input = fc.tuple(
    fc.array(validStreamPart, { maxLength: 3 }),
    poison,
    fc.uint8Array({ maxLength: 40 }),
    cuts,
    fc.uint8Array({ maxLength: 40 }),
  );
  holds(t, 'a failed stream stays failed', input, ([before, bad, after, at, more]) => {
    const bytes = new Uint8Array(Buffer.concat([...before, Uint8Array.from(bad.bytes), after]));
    const framer = new Framer();
    let raised: CodecError | undefined;
    for (const chunk of chunked(bytes, at)) {
      raised = codecErrorOf(() => framer.push(chunk));
      if (raised !== undefined || framer.error !== undefined) break;
    }
    if (framer.error?.code !== bad.code) return false;
    // The violation is raised once, with its own code: by the push that met it, or by the
    // next call when that push still had whole messages to return.
    raised ??= codecErrorOf(() => framer.push(more));
    if (raised?.code !== bad.code) return false;
    for (const chunk of [more, new Uint8Array(0), more]) {
      if (codecErrorOf(() => framer.push(chunk))?.code !== 'ERR_STREAM_FAILED') return false;
    }
    // The framer keeps reporting the first error; ending a failed stream is quiet.
    return framer.error?.code === bad.code && codecErrorOf(() => framer.end()) === undefined;
  });
});
