import t from 'tap';
import { CodecError, encodeMessage, encodeRaw, Framer, HEADER_SIZE, type MessageInput } from '../src/index.js';
import { codeOf } from './support.js';

const msgs: MessageInput[] = [
  { name: 'control.ack', seq: 0, body: { upTo: 1 } },
  {
    name: 'prl.packet',
    seq: 1,
    body: { handle: 9, direction: 1, ifIndex: 3, timestampNs: 5n, packet: new Uint8Array(300).fill(7) },
  },
  { name: 'control.echoRequest', seq: 2, body: { token: 4, payload: new Uint8Array(0) } },
];
const frames = msgs.map((m) => encodeMessage(m));
const stream = Buffer.concat(frames);

t.test('returns every message of one chunk as a view into it, without copying', async (t) => {
  const f = new Framer();
  const out = f.push(stream);
  t.equal(out.length, 3);
  out.forEach((m, i) => {
    t.equal(m.buffer, stream.buffer, 'same underlying buffer');
    t.same(Buffer.from(m), Buffer.from(frames[i]!));
  });
  t.equal(f.buffered, 0);
  t.equal(f.offset, stream.length);
  f.end();
});

t.test('yields the same messages whatever the chunking', async (t) => {
  const f = new Framer();
  const got: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...f.push(stream.subarray(i, i + 1)));
  t.same(
    got.map((m) => Buffer.from(m).toString('hex')),
    frames.map((m) => Buffer.from(m).toString('hex')),
    'byte by byte',
  );
  for (let cut = 1; cut < stream.length; cut++) {
    const g = new Framer();
    const out = [...g.push(stream.subarray(0, cut)), ...g.push(stream.subarray(cut))];
    if (out.length !== 3 || Buffer.compare(Buffer.concat(out), stream) !== 0) t.fail(`cut at ${cut}`);
  }
  t.pass('every cut point');
});

t.test('a message that is only a header comes out whole', async (t) => {
  const empty = encodeRaw({ type: 0x20, subtype: 3, body: new Uint8Array(0) });
  t.equal(empty.length, HEADER_SIZE);
  const f = new Framer();
  t.equal(f.push(empty.subarray(0, 5)).length, 0);
  t.equal(f.buffered, 5);
  t.equal(f.push(empty.subarray(5)).length, 1);
});

t.test('checks the length limit as soon as the header is complete, before buffering the body', async (t) => {
  const big = encodeRaw({ type: 0x20, subtype: 3, body: new Uint8Array(5000) });
  const f = new Framer({ maxMessage: 4096 });
  t.same(f.push(big.subarray(0, HEADER_SIZE - 1)), []);
  let err: unknown;
  try {
    f.push(big.subarray(HEADER_SIZE - 1, HEADER_SIZE));
  } catch (e) {
    err = e;
  }
  t.match(err, { code: 'ERR_FRAME_TOO_LARGE', offset: 8, path: 'header.length' });
  t.ok(f.buffered <= HEADER_SIZE, 'nothing of the body was buffered');
});

t.test('rejects a length smaller than the header', async (t) => {
  const bad = Buffer.from(encodeMessage(msgs[0]!));
  bad.writeUInt32BE(15, 8);
  t.equal(
    codeOf(() => new Framer().push(bad)),
    'ERR_LENGTH_TOO_SMALL',
  );
});

t.test('reports violations at their stream offset', async (t) => {
  const garbage = Buffer.concat([frames[0]!, Buffer.from('deadbeef00000000000000000000000000', 'hex')]);
  const f = new Framer();
  let err: CodecError | undefined;
  try {
    for (let i = 0; i < garbage.length; i += 7) f.push(garbage.subarray(i, i + 7));
  } catch (e) {
    err = e as CodecError;
  }
  t.equal(err?.code, 'ERR_BAD_MAGIC');
  t.equal(err?.offset, frames[0]!.length);
  t.equal(f.error, err);
});

t.test('refuses all input after a failure instead of half-parsing it', async (t) => {
  const f = new Framer();
  t.equal(
    codeOf(() => f.push(Buffer.from('00000000000000000000000000000000', 'hex'))),
    'ERR_BAD_MAGIC',
  );
  t.equal(
    codeOf(() => f.push(frames[0]!)),
    'ERR_STREAM_FAILED',
  );
  t.doesNotThrow(() => f.end(), 'end after failure does not raise again');
});

t.test('end() in the middle of a message is ERR_STREAM_TRUNCATED; on a boundary it is fine', async (t) => {
  const f = new Framer();
  f.push(stream.subarray(0, 30));
  t.equal(
    codeOf(() => f.end()),
    'ERR_STREAM_TRUNCATED',
  );
  const g = new Framer();
  g.push(stream.subarray(0, 3));
  t.equal(
    codeOf(() => g.end()),
    'ERR_STREAM_TRUNCATED',
    'inside a header too',
  );
  const h = new Framer();
  h.push(stream);
  t.doesNotThrow(() => h.end());
});

t.test('enforces the negotiated version once it is set', async (t) => {
  const f = new Framer();
  f.setVersion(2);
  t.equal(
    codeOf(() => f.push(frames[0]!)),
    'ERR_UNSUPPORTED_VERSION',
  );
  const g = new Framer({ version: 1 });
  t.equal(g.push(frames[0]!).length, 1);
  g.setVersion(undefined);
  t.equal(g.push(frames[0]!).length, 1);
});

t.test('copies straddling bytes into a buffer of exactly the message length', async (t) => {
  const f = new Framer();
  const big = frames[1]!;
  f.push(big.subarray(0, 100));
  t.equal(f.buffered, 100);
  const [out] = f.push(big.subarray(100));
  t.equal(out?.byteLength, big.byteLength);
  t.not(out?.buffer, big.buffer, 'a copy, since it straddled chunks');
});

t.test('messages before a violation in the same chunk are delivered, then the violation is raised', async (t) => {
  const f = new Framer();
  const chunk = Buffer.concat([frames[0]!, Buffer.alloc(16, 0xee)]);
  const out = f.push(chunk);
  t.equal(out.length, 1, 'the whole message before the garbage is not lost');
  t.equal(f.error?.code, 'ERR_BAD_MAGIC', 'the error is visible at once');
  t.equal(f.error?.offset, frames[0]!.length);
  t.equal(
    codeOf(() => f.push(frames[0]!)),
    'ERR_BAD_MAGIC',
    'the next push raises the violation itself',
  );
  t.equal(
    codeOf(() => f.push(frames[0]!)),
    'ERR_STREAM_FAILED',
    'and after that input is refused',
  );
  const g = new Framer();
  g.push(chunk);
  t.equal(
    codeOf(() => g.end()),
    'ERR_BAD_MAGIC',
    'end() raises a pending violation',
  );
  t.doesNotThrow(() => g.end(), 'once');
});
