import t from 'tap';
import {
  CodecError,
  decodeMessage,
  encodeMessage,
  encodeRaw,
  fromHex,
  messageFromJson,
  messageToJson,
  stringify,
  toHex,
} from '../src/index.js';
import { codeOf } from './support.js';

t.test('the JSON form uses names for known enum values and keeps unknown ones as numbers', async (t) => {
  const m = decodeMessage(encodeMessage({ name: 'control.shutdown', body: { reason: 0, detail: 999, text: 'bye' } }));
  const json = messageToJson(m);
  t.same(json.body, { reason: 'switchover', detail: 999, text: 'bye' });
  t.same(messageFromJson(json), {
    seq: 0,
    flags: 0,
    version: 1,
    name: 'control.shutdown',
    body: { reason: 0, detail: 999, text: 'bye' },
  });
});

t.test('64-bit values are decimal strings and bytes are hex', async (t) => {
  const m = decodeMessage(
    encodeMessage({
      name: 'sdrl.socketData',
      body: { handle: 1, streamOffset: 2n ** 63n, data: Uint8Array.of(0xde, 0xad) },
    }),
  );
  const json = messageToJson(m);
  t.same(json.body, { handle: 1, streamOffset: '9223372036854775808', data: 'dead' });
  const back = messageFromJson(json);
  t.equal(
    toHex(encodeMessage(back as Parameters<typeof encodeMessage>[0])),
    toHex(
      encodeMessage({
        name: 'sdrl.socketData',
        body: { handle: 1, streamOffset: 2n ** 63n, data: Uint8Array.of(0xde, 0xad) },
      }),
    ),
  );
});

t.test('raw and ignored messages round-trip through JSON', async (t) => {
  const raw = encodeRaw({ type: 0x44, subtype: 2, flags: 1, seq: 3, body: Uint8Array.of(9) });
  const json = messageToJson(decodeMessage(raw));
  t.same(json, {
    name: null,
    header: { version: 1, flags: 1, type: 0x44, subtype: 2, length: 17, seq: 3 },
    body: '09',
  });
  const back = messageFromJson(json);
  t.equal(toHex(encodeRaw(back as Parameters<typeof encodeRaw>[0])), toHex(raw));
});

t.test('accepts flag names and a header object', async (t) => {
  const m = messageFromJson({
    name: 'control.ack',
    header: { seq: 5 },
    flags: ['mayIgnore', 'ackRequested'],
    body: { upTo: 1 },
  });
  t.match(m, { seq: 5, flags: 3 });
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.ack', flags: ['nope'], body: { upTo: 1 } })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.ack', flags: 'x', body: { upTo: 1 } })),
    'ERR_INVALID_VALUE',
  );
});

t.test('rejects malformed JSON values with coded errors', async (t) => {
  t.equal(
    codeOf(() => messageFromJson(null)),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson([])),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'x.y', body: {} })),
    'ERR_UNKNOWN_MESSAGE',
  );
  t.equal(
    codeOf(() => messageFromJson({ body: 'ab' })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.ack', body: 5 })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.echoRequest', body: { token: 1, payload: 'zz' } })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.echoRequest', body: { token: 1, payload: 12 } })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.hello', body: { sessionId: '1.5' } })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'control.shutdown', body: { reason: 'bogus' } })),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => messageFromJson({ name: 'psrm.stateBatch', body: { entries: 3 } })),
    'ERR_INVALID_VALUE',
  );
});

t.test('struct arrays convert item by item', async (t) => {
  const body = { entries: [{ handle: 1, state: 'established', window: 2, sndNxt: 3, rcvNxt: 4 }] };
  const m = messageFromJson({ name: 'psrm.stateBatch', body, seq: 1 });
  t.equal(
    codeOf(() =>
      encodeMessage(
        messageFromJson({ name: 'control.ack', body: { upTo: 1 }, seq: 1n }) as Parameters<typeof encodeMessage>[0],
      ),
    ),
    'ERR_INVALID_VALUE',
    'a bigint sequence number',
  );
  t.same((m as { body: unknown }).body, { entries: [{ handle: 1, state: 4, window: 2, sndNxt: 3, rcvNxt: 4 }] });
  t.same(messageToJson(decodeMessage(encodeMessage(m as Parameters<typeof encodeMessage>[0]))).body, body);
});

t.test('hex parsing tolerates separators and reports bad digits with an offset', async (t) => {
  t.same([...fromHex('0x de:ad be ef')], [0xde, 0xad, 0xbe, 0xef]);
  t.match(
    codeOf(() => fromHex('abz0')),
    'ERR_BAD_INPUT',
  );
  t.match(
    codeOf(() => fromHex('abc')),
    'ERR_BAD_INPUT',
  );
  let err: CodecError | undefined;
  try {
    fromHex('0011zz');
  } catch (e) {
    err = e as CodecError;
  }
  t.equal(err?.offset, 2);
});

t.test('stringify writes bigints and bytes readably', async (t) => {
  t.equal(stringify({ a: 1n, b: Uint8Array.of(1, 255) }), '{"a":"1","b":"01ff"}');
});
