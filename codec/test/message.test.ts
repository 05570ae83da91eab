import t from 'tap';
import {
  CodecError,
  decodeHeader,
  decodeMessage,
  encodedLength,
  encodeInto,
  encodeMessage,
  encodeRaw,
  ERROR_VALUES,
  Flags,
  isCodecError,
  Limits,
  type MessageInput,
} from '../src/index.js';
import { codeOf } from './support.js';

const hello: MessageInput = {
  name: 'control.hello',
  seq: 0,
  body: {
    minVersion: 1,
    maxVersion: 1,
    role: 2,
    channel: 1,
    features: 3,
    nodeId: 1,
    maxMessage: 262144,
    sessionId: 42n,
    nodeName: 'ré1',
  },
};

t.test('fills derived fields on encode: header length, type, subtype and body lengths', async (t) => {
  const b = Buffer.from(encodeMessage(hello));
  t.equal(b.readUInt32BE(0), 0x4b4b434d);
  t.equal(b.readUInt32BE(8), b.length, 'length includes the header');
  t.equal(b[6], 0x01);
  t.equal(b[7], 0x01);
  t.equal(b[16 + 24], Buffer.byteLength('ré1'), 'nodeNameLength counts UTF-8 bytes');
  const m = decodeMessage(b);
  t.equal(m.name, 'control.hello');
  t.same(m.body, hello.body);
});

t.test('encodeInto writes several messages into one buffer', async (t) => {
  const a: MessageInput = { name: 'control.ack', seq: 1, body: { upTo: 0 } };
  const total = encodedLength(hello) + encodedLength(a);
  const buf = new Uint8Array(total);
  const mid = encodeInto(hello, buf, 0);
  t.equal(encodeInto(a, buf, mid), total);
  t.equal(decodeMessage(buf.subarray(mid)).name, 'control.ack');
});

t.test('rejects values that do not fit their fields', async (t) => {
  const bad = (body: Record<string, unknown>): MessageInput =>
    ({ ...hello, body: { ...hello.body, ...body } }) as MessageInput;
  t.equal(
    codeOf(() => encodeMessage(bad({ minVersion: 256 }))),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ minVersion: -1 }))),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ features: 2 ** 32 }))),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ minVersion: 1.5 }))),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ minVersion: '1' }))),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ minVersion: undefined }))),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ sessionId: 1 }))),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ sessionId: -1n }))),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ sessionId: 2n ** 64n }))),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ nodeName: 'x'.repeat(256) }))),
    'ERR_VALUE_OUT_OF_RANGE',
    'a length that does not fit its u8',
  );
  t.equal(
    codeOf(() => encodeMessage(bad({ nodeName: 7 }))),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage({ ...hello, seq: -1 })),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage({ ...hello, flags: 256 })),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeMessage({ name: 'no.such', body: {} } as unknown as MessageInput)),
    'ERR_UNKNOWN_MESSAGE',
  );
  t.equal(
    codeOf(() => encodeMessage({ name: 'control.ack', body: null } as unknown as MessageInput)),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() =>
      encodeMessage({ name: 'control.echoRequest', body: { token: 1, payload: 'ab' } } as unknown as MessageInput),
    ),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage({ name: 'psrm.stateBatch', body: { entries: {} } } as unknown as MessageInput)),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() =>
      encodeMessage({
        name: 'psrm.tcpState',
        body: {
          handle: 1,
          state: 4,
          windowScale: 0,
          mss: 1,
          sndUna: 0,
          sndNxt: 0,
          rcvNxt: 0,
          rcvWindow: 0,
          tsRecent: 0,
          rttMicros: 2 ** 31,
        },
      }),
    ),
    'ERR_VALUE_OUT_OF_RANGE',
  );
});

t.test('rejects malformed addresses on encode', async (t) => {
  const base = { handle: 1, protocol: 6, localPort: 1, remotePort: 2, appName: '' };
  for (const a of ['256.0.0.1', '1.2.3', 'x', '01.2.3.4']) {
    t.equal(
      codeOf(() =>
        encodeMessage({ name: 'iha.handleSetupV4', body: { ...base, localAddress: a, remoteAddress: '1.1.1.1' } }),
      ),
      'ERR_INVALID_VALUE',
      a,
    );
  }
  for (const a of [
    '1::2::3',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '::1.2.3.999',
    '1:2:3:4:5:6:7::8',
  ]) {
    t.equal(
      codeOf(() =>
        encodeMessage({ name: 'iha.handleSetupV6', body: { ...base, localAddress: a, remoteAddress: '::' } }),
      ),
      'ERR_INVALID_VALUE',
      a,
    );
  }
  const m = decodeMessage(
    encodeMessage({
      name: 'iha.handleSetupV6',
      body: { ...base, localAddress: '1:2:3:4:5:6:7:8', remoteAddress: '::1:2.3.4.5' },
    }),
  );
  t.match(m.body, { localAddress: '1:2:3:4:5:6:7:8', remoteAddress: '::1:203:405' });
  const z = decodeMessage(
    encodeMessage({
      name: 'iha.handleSetupV6',
      body: { ...base, localAddress: '1:0:0:2:0:0:0:3', remoteAddress: 'fe80::' },
    }),
  );
  t.match(z.body, { localAddress: '1:0:0:2::3', remoteAddress: 'fe80::' }, 'the longest zero run is compressed');
});

t.test('enforces the size limit on encode', async (t) => {
  const big: MessageInput = { name: 'prl.opaque', body: { data: new Uint8Array(5000) } };
  t.equal(
    codeOf(() => encodeMessage(big, { maxMessage: 4096 })),
    'ERR_FRAME_TOO_LARGE',
  );
  t.equal(
    codeOf(() => encodeRaw({ type: 0x20, subtype: 3, body: new Uint8Array(5000) }, { maxMessage: 4096 })),
    'ERR_FRAME_TOO_LARGE',
  );
  t.equal(encodeMessage(big).length, 5016);
});

t.test('encodeRaw checks its header values and body', async (t) => {
  t.equal(
    codeOf(() => encodeRaw({ type: 300, subtype: 1, body: new Uint8Array(0) })),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeRaw({ type: 1, subtype: -1, body: new Uint8Array(0) })),
    'ERR_VALUE_OUT_OF_RANGE',
  );
  t.equal(
    codeOf(() => encodeRaw({ type: 1, subtype: 1, body: [1] as unknown as Uint8Array })),
    'ERR_INVALID_VALUE',
  );
});

t.test('skips unknown types and subtypes only under mayIgnore', async (t) => {
  const unknownType = encodeRaw({ type: 0x55, subtype: 1, flags: Flags.mayIgnore, body: Uint8Array.of(1, 2) });
  const m = decodeMessage(unknownType);
  t.equal(m.name, null);
  t.same([...(m.body as Uint8Array)], [1, 2]);
  t.equal(
    codeOf(() => decodeMessage(encodeRaw({ type: 0x55, subtype: 1, body: new Uint8Array(0) }))),
    'ERR_UNKNOWN_TYPE',
  );
  t.equal(
    codeOf(() => decodeMessage(encodeRaw({ type: 0x01, subtype: 0x77, body: new Uint8Array(0) }))),
    'ERR_UNKNOWN_SUBTYPE',
  );
  t.equal(
    decodeMessage(encodeRaw({ type: 0x01, subtype: 0x77, flags: Flags.mayIgnore, body: new Uint8Array(0) })).name,
    null,
  );
});

t.test('enforces the static channel mapping when told the channel', async (t) => {
  const prl = encodeMessage({ name: 'prl.packetDrop', body: { handle: 1, count: 2 } });
  t.equal(decodeMessage(prl, { channel: 'receive' }).name, 'prl.packetDrop');
  t.equal(
    codeOf(() => decodeMessage(prl, { channel: 'send' })),
    'ERR_WRONG_CHANNEL',
  );
  const ack = encodeMessage({ name: 'control.ack', body: { upTo: 1 } });
  t.equal(decodeMessage(ack, { channel: 'send' }).name, 'control.ack');
  t.equal(decodeMessage(ack, { channel: 'receive' }).name, 'control.ack');
});

t.test('decodeMessage wants exactly one whole message', async (t) => {
  const ack = encodeMessage({ name: 'control.ack', body: { upTo: 1 } });
  t.equal(
    codeOf(() => decodeMessage(ack.subarray(0, 10))),
    'ERR_STREAM_TRUNCATED',
  );
  t.equal(
    codeOf(() => decodeMessage(ack.subarray(0, 18))),
    'ERR_STREAM_TRUNCATED',
  );
  t.equal(
    codeOf(() => decodeMessage(Buffer.concat([ack, Buffer.of(0)]))),
    'ERR_TRAILING_BYTES',
  );
  t.equal(
    codeOf(() => decodeHeader(ack.subarray(0, 4))),
    'ERR_STREAM_TRUNCATED',
  );
});

t.test('checks the header in order: magic, version, flags, length', async (t) => {
  const ack = (): Buffer => Buffer.from(encodeMessage({ name: 'control.ack', body: { upTo: 1 } }));
  const b1 = ack();
  b1[0] = 0;
  t.equal(
    codeOf(() => decodeMessage(b1)),
    'ERR_BAD_MAGIC',
  );
  const b2 = ack();
  b2[4] = 2;
  t.equal(
    codeOf(() => decodeMessage(b2)),
    'ERR_UNSUPPORTED_VERSION',
  );
  t.equal(
    codeOf(() => decodeMessage(ack(), { version: 3 })),
    'ERR_UNSUPPORTED_VERSION',
  );
  const b3 = ack();
  b3[5] = 0x80;
  t.equal(
    codeOf(() => decodeMessage(b3)),
    'ERR_RESERVED_FLAG',
  );
  const b4 = ack();
  b4.writeUInt32BE(Limits.defaultMaxMessage + 1, 8);
  t.equal(
    codeOf(() => decodeMessage(b4)),
    'ERR_FRAME_TOO_LARGE',
  );
});

t.test('body errors carry the field path and offset', async (t) => {
  const batch = Buffer.from(
    encodeMessage({
      name: 'psrm.stateBatch',
      body: {
        entries: [
          { handle: 1, state: 4, window: 1, sndNxt: 1, rcvNxt: 1 },
          { handle: 2, state: 4, window: 1, sndNxt: 1, rcvNxt: 1 },
        ],
      },
    }),
  );
  batch[16 + 4 + 16 + 5] = 1;
  let err: CodecError | undefined;
  try {
    decodeMessage(batch);
  } catch (e) {
    err = e as CodecError;
  }
  t.match(err, { code: 'ERR_RESERVED_NONZERO', path: 'body.entries[1].reserved', offset: 16 + 4 + 16 + 5 });
  t.equal(err?.wireCode, ERROR_VALUES.ERR_RESERVED_NONZERO);
  t.ok(isCodecError(err, 'ERR_RESERVED_NONZERO'));
  t.notOk(isCodecError(err, 'ERR_BAD_MAGIC'));
  t.notOk(isCodecError(new Error('x')));
});

t.test('signed and 64-bit fields keep their full range', async (t) => {
  const body = {
    handle: 1,
    state: 4,
    windowScale: 14,
    mss: 1460,
    sndUna: 0xffffffff,
    sndNxt: 0,
    rcvNxt: 1,
    rcvWindow: 2,
    tsRecent: 3,
    rttMicros: -1,
  };
  t.same(decodeMessage(encodeMessage({ name: 'psrm.tcpState', body })).body, body);
  const n = { handle: 1, event: 3, value: 0xffffffffffffffffn };
  t.same(decodeMessage(encodeMessage({ name: 'iha.asyncNotify', body: n })).body, n);
});

t.test('strings decode strictly as UTF-8, long and short', async (t) => {
  const long = 'é'.repeat(100);
  t.equal(
    (
      decodeMessage(encodeMessage({ ...hello, body: { ...hello.body, nodeName: long.slice(0, 120) } } as MessageInput))
        .body as { nodeName: string }
    ).nodeName,
    long.slice(0, 120),
  );
  const text = 'x'.repeat(70) + 'ü';
  const err = encodeMessage({
    name: 'control.error',
    body: { code: 1, offendingSeq: 0, offendingType: 0, offendingSubtype: 0, text },
  });
  t.equal((decodeMessage(err).body as { text: string }).text, text);
  const bad = Buffer.from(
    encodeMessage({
      name: 'control.error',
      body: { code: 1, offendingSeq: 0, offendingType: 0, offendingSubtype: 0, text: 'x'.repeat(80) },
    }),
  );
  bad[bad.length - 1] = 0xff;
  t.equal(
    codeOf(() => decodeMessage(bad)),
    'ERR_BAD_UTF8',
  );
});

t.test('a bigint where a number belongs is ERR_INVALID_VALUE, not a TypeError', async (t) => {
  t.equal(
    codeOf(() => encodeMessage({ ...hello, body: { ...hello.body, minVersion: 1n } } as unknown as MessageInput)),
    'ERR_INVALID_VALUE',
  );
  t.equal(
    codeOf(() => encodeMessage({ name: 'control.ack', body: { upTo: 5n } } as unknown as MessageInput)),
    'ERR_INVALID_VALUE',
  );
});

t.test('a string holding a lone surrogate is ERR_INVALID_VALUE, not silently sent as U+FFFD', async (t) => {
  for (const nodeName of ['\uD800', 'a\uDC00b', 'é\uD83D', '\uDE00😀']) {
    const msg = { ...hello, body: { ...hello.body, nodeName } } as MessageInput;
    let err: unknown;
    try {
      encodeMessage(msg);
    } catch (e) {
      err = e;
    }
    t.ok(isCodecError(err, 'ERR_INVALID_VALUE'), `${JSON.stringify(nodeName)} is refused`);
    t.equal((err as CodecError | undefined)?.path, 'body.nodeName');
    t.equal(
      codeOf(() => encodedLength(msg)),
      'ERR_INVALID_VALUE',
      'sizing refuses it too',
    );
  }
  const pair = { ...hello, body: { ...hello.body, nodeName: 'x😀' } } as MessageInput;
  t.equal(
    (decodeMessage(encodeMessage(pair)).body as { nodeName: string }).nodeName,
    'x😀',
    'a surrogate pair is one character and round-trips',
  );
});
