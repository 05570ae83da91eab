/**
 * The Wireshark dissector: the committed file is what the spec generates, and tshark with
 * it decodes every golden vector (whole, split across segments, coalesced) and reports every
 * invalid vector as the vector's error code, or, for a client body that does not fit its
 * illustrative layout, as a note on raw bytes (client data is opaque to KKCM). A trace of two reference peers:
 * `dissector-trace.test.ts`; the handshake rules read from the spec: `dissector-rules.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeMessage, type MessageInput } from '../../codec/src/index.js';
import { buildPcapng, type PcapngRecord } from '../../reference-impl/src/index.js';
import {
  loadSpec,
  loadVectors,
  SpecModel,
  type FieldSpec,
  type Vector,
  type VectorJson,
  type VectorMessage,
} from '../../spec/src/index.js';
import { dissectorFieldName, expertName, generateDissector, ILLUSTRATIVE_MISFIT_EXPERT } from '../tools/dissector.js';
import { buildTcpCapture, cut, type TcpStream } from '../tools/tcp-capture.js';
import {
  byStream,
  checkClean,
  compareStream,
  luaPath,
  messagesOf,
  tshark,
  tsharkMissing,
  type Decoded,
  type Run,
} from './tshark.js';

const model = new SpecModel(loadSpec());
const { valid, invalid } = loadVectors();
const dir = mkdtempSync(join(tmpdir(), 'kkcm-dissector-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// ------------------------------------------------------------------ the generated file

t.test('the committed jsripc.lua is what the spec generates now', async (t) => {
  const committed = readFileSync(luaPath, 'utf8');
  t.equal(committed, generateDissector(model.spec), 'run `npm run dissector` and commit the result');
  t.match(
    committed.split('\n')[0],
    /^-- Generated from spec\/kkcm\.spec\.json .* Do not edit/,
    'the first line says it is generated from the spec',
  );
  t.equal(generateDissector(model.spec), generateDissector(model.spec), 'deterministic');
});

t.test('declares a field for every body field of every message, and an expert per reported code', async (t) => {
  const lua = generateDissector(model.spec);
  const declared = new Set([...lua.matchAll(/ProtoField\.\w+\("([^"]+)"/g)].map((m) => m[1]));
  const missing: string[] = [];
  const walk = (message: string, fields: readonly FieldSpec[], path: readonly string[]): void => {
    for (const f of fields) {
      const name = dissectorFieldName(message, [...path, f.name]);
      if (!declared.has(name)) missing.push(name);
      if (f.type === 'array') walk(message, model.struct(f.items ?? '').fields, [...path, f.name]);
      if (f.type === 'struct') walk(message, model.struct(f.struct ?? '').fields, [...path, f.name]);
    }
  };
  for (const m of model.messages) walk(m.name, m.fields, []);
  t.same(missing, [], 'every body field has a ProtoField');
  for (const name of [
    'jsripc.magic',
    'jsripc.version',
    'jsripc.flags',
    'jsripc.flags.may_ignore',
    'jsripc.flags.ack_requested',
    'jsripc.type',
    'jsripc.subtype',
    'jsripc.length',
    'jsripc.seq',
    'jsripc.msg',
  ]) {
    t.ok(declared.has(name), name);
  }
  t.equal(
    new Set(declared).size,
    [...lua.matchAll(/ProtoField\.\w+\("([^"]+)"/g)].length,
    'no field is declared twice',
  );
  for (const code of new Set(invalid.map((v) => v.expect.error.code)))
    t.match(lua, `"${expertName(code)}"`, `an expert info for ${code}`);
});

const skip = tsharkMissing();

// ------------------------------------------------------------------ captures of the vectors

const channelIds = Object.fromEntries(model.spec.channels.map((c) => [c.name, c.id])) as Record<
  'send' | 'receive',
  number
>;

/** The channel a vector's stream carries: its decode option, else what its messages imply. */
function channelOf(v: Vector): 'send' | 'receive' {
  if (v.decodeOptions?.channel !== undefined) return v.decodeOptions.channel;
  if ('messages' in v.expect) {
    for (const m of v.expect.messages) {
      const info = m.name === null ? undefined : model.message(m.name);
      if (info?.channels.length === 1) return info.channels[0]!;
      const body = m.body as { channel?: VectorJson };
      if (info?.name.startsWith('control.hello') === true && (body.channel === 'send' || body.channel === 'receive'))
        return body.channel;
    }
  }
  return 'send';
}

/** The HELLO-ACK the server sends first, so that the dissector knows the stream's channel (and version). */
function helloAck(channel: 'send' | 'receive', version = 1): Uint8Array {
  return encodeMessage({
    name: 'control.helloAck',
    seq: 0,
    version,
    body: {
      version,
      role: 1,
      channel: channelIds[channel],
      features: 0,
      nodeId: 1,
      maxMessage: 262144,
      sessionId: 1n,
      nodeName: 're0',
    },
  } as MessageInput);
}

/** Segment sizes of the split capture: cuts inside the magic, the header, at its end and in bodies. */
const SPLIT = [1, 3, 7, 15, 2, 16, 5, 31, 4, 64];
/** Segment sizes of the coalesced capture: several messages per segment, some cut. */
const COALESCE = [100, 37, 250, 64, 1, 300];

const captureFile = (name: string, bytes: Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

/** Each valid vector in its own connection, one segment, as the reference peer's pcapng writer writes it. */
function wholeCapture(): string {
  const records: PcapngRecord[] = [];
  valid.forEach((v, i) => {
    const channel = channelOf(v);
    records.push({ ts: i, channel, direction: 'tx', role: 'master', frame: helloAck(channel), remote: v.id });
    records.push({ ts: i, channel, direction: 'rx', role: 'master', frame: Buffer.from(v.hex, 'hex'), remote: v.id });
  });
  return captureFile('whole.pcapng', buildPcapng(records));
}

/** Each valid vector in its own connection, cut into small segments. */
function splitCapture(): string {
  const streams: TcpStream[] = valid.map((v, i) => ({
    clientPort: 41000 + i,
    segments: [
      { from: 'server', payload: helloAck(channelOf(v)) },
      ...cut(Buffer.from(v.hex, 'hex'), SPLIT.slice(i % SPLIT.length).concat(SPLIT)).map((payload) => ({
        from: 'client' as const,
        payload,
      })),
    ],
  }));
  return captureFile('split.pcap', buildTcpCapture(streams));
}

/** All valid vectors of a channel back to back in one connection, cut into segments of several messages. */
function coalescedCapture(): { path: string; groups: Record<'send' | 'receive', typeof valid> } {
  const groups = {
    send: valid.filter((v) => channelOf(v) === 'send'),
    receive: valid.filter((v) => channelOf(v) === 'receive'),
  };
  const streams: TcpStream[] = (['send', 'receive'] as const).map((channel, i) => ({
    clientPort: 42001 + i,
    segments: [
      { from: 'server', payload: helloAck(channel) },
      ...cut(Buffer.concat(groups[channel].map((v) => Buffer.from(v.hex, 'hex'))), COALESCE).map((payload) => ({
        from: 'client' as const,
        payload,
      })),
    ],
  }));
  return { path: captureFile('coalesced.pcap', buildTcpCapture(streams)), groups };
}

t.test('tshark decodes every valid vector, each in its own TCP connection', { skip }, async (t) => {
  const run = tshark(wholeCapture());
  checkClean(t, run, 'whole');
  const streams = byStream(run);
  valid.forEach((v, i) => {
    const shown = streams.get(i) ?? [];
    compareStream(
      t,
      'whole',
      shown,
      messagesOf(v).map((m) => ({ id: v.id, ...m })),
      () => [],
    );
    t.same(
      shown.map((d) => d.fields.get('jsripc.channel')?.[0]),
      shown.map(() => String(channelIds[channelOf(v)])),
      `${v.id}: on the ${channelOf(v)} channel`,
    );
  });
  const acks = run.messages.filter((m) => !m.fromClient);
  t.equal(acks.length, valid.length, 'and every HELLO-ACK the server sent first');
  t.ok(
    acks.every((m) => m.fields.get('jsripc.msg')?.[0] === 'control.helloAck' && m.experts.length === 0),
    'the HELLO-ACKs decode without expert info',
  );
});

t.test('the acceptance command prints type, subtype and seq of every message', { skip }, async (t) => {
  const r = spawnSync(
    'tshark',
    [
      '-X',
      `lua_script:${luaPath}`,
      '-r',
      wholeCapture(),
      '-T',
      'fields',
      '-e',
      'jsripc.type',
      '-e',
      'jsripc.subtype',
      '-e',
      'jsripc.seq',
    ],
    { encoding: 'utf8' },
  );
  t.equal(r.status, 0);
  const rows = r.stdout.split('\n').filter((l) => l.replace(/\t/g, '') !== '');
  const expected: string[] = [];
  for (const v of valid) {
    expected.push('1\t2\t0');
    const ms = (v.expect as { messages: VectorMessage[] }).messages;
    expected.push(
      [ms.map((m) => m.header.type), ms.map((m) => m.header.subtype), ms.map((m) => m.header.seq)]
        .map((c) => c.join(','))
        .join('\t'),
    );
  }
  t.same(rows, expected, `${valid.length} vectors, each after its HELLO-ACK`);
});

t.test('tshark reassembles vectors cut into segments of 1 to 64 bytes', { skip }, async (t) => {
  const run = tshark(splitCapture());
  checkClean(t, run, 'split');
  const streams = byStream(run);
  valid.forEach((v, i) =>
    compareStream(
      t,
      'split',
      streams.get(i) ?? [],
      messagesOf(v).map((m) => ({ id: v.id, ...m })),
      () => [],
    ),
  );
});

t.test('tshark splits segments that hold several vectors, some cut at their ends', { skip }, async (t) => {
  const { path, groups } = coalescedCapture();
  const run = tshark(path);
  checkClean(t, run, 'coalesced');
  const streams = byStream(run);
  (['send', 'receive'] as const).forEach((channel, i) => {
    const expected = groups[channel].flatMap((v) => messagesOf(v).map((m) => ({ id: v.id, ...m })));
    // The vectors restart their sequence numbers: the dissector must say so, there and only there.
    const gaps = expected.map((e, k) => k > 0 && e.msg.header.seq !== (expected[k - 1]!.msg.header.seq + 1) % 2 ** 32);
    t.ok(gaps.some(Boolean) && !gaps.every(Boolean), `${channel}: some messages follow their predecessor, some do not`);
    compareStream(t, `coalesced ${channel}`, streams.get(i) ?? [], expected, (k) =>
      gaps[k] === true ? [expertName('ERR_BAD_SEQUENCE')] : [],
    );
  });
});

t.test('the heuristic dissector finds the vectors on a port it is not registered on', { skip }, async (t) => {
  const run = tshark(wholeCapture(), ['jsripc.tcp_port:7100']);
  checkClean(t, run, 'heuristic');
  const streams = byStream(run);
  valid.forEach((v, i) => {
    const shown = streams.get(i) ?? [];
    t.same(
      shown.map((d) => d.fields.get('jsripc.seq')?.[0]),
      messagesOf(v).map((m) => String(m.msg.header.seq)),
      `${v.id}: every message`,
    );
  });
});

// ------------------------------------------------------------------ invalid vectors

/** Each invalid vector in its own connection, one segment, after a HELLO-ACK when it is decoded on a channel or in a version. */
function invalidCapture(): string {
  const streams: TcpStream[] = invalid.map((v, i) => {
    const o = v.decodeOptions ?? {};
    const preamble =
      o.channel !== undefined || o.version !== undefined
        ? [{ from: 'server' as const, payload: helloAck(o.channel ?? 'send', o.version ?? 1) }]
        : [];
    return { clientPort: 43000 + i, segments: [...preamble, { from: 'client', payload: Buffer.from(v.hex, 'hex') }] };
  });
  return captureFile('invalid.pcap', buildTcpCapture(streams));
}

/** Types whose bodies are opaque to KKCM: every type a client owns [KKCM-DISP-3]. */
const opaqueTypes = new Set(model.spec.messages.filter((m) => m.client !== 'kkcm').map((m) => m.type));

/** Codes of a body that does not fit its layout, and of a subtype the spec does not list. */
const MISFIT_CODES = new Set([
  'ERR_TRUNCATED_BODY',
  'ERR_TRAILING_BYTES',
  'ERR_BAD_LENGTH_FIELD',
  'ERR_BAD_COUNT',
  'ERR_RESERVED_NONZERO',
  'ERR_BAD_UTF8',
  'ERR_UNKNOWN_SUBTYPE',
]);

/**
 * True when the vector's fault is a client body (or subtype) that does not fit the spec's
 * illustrative layout: the codec's error, which the dissector shows as a note on raw bytes.
 */
function isClientMisfit(v: Vector & { expect: { error: { code: string }; messagesBefore?: number } }): boolean {
  const bytes = Buffer.from(v.hex, 'hex');
  let at = 0;
  for (let k = 0; k < (v.expect.messagesBefore ?? 0); k++) at += bytes.readUInt32BE(at + 8);
  return opaqueTypes.has(bytes[at + 6]!) && MISFIT_CODES.has(v.expect.error.code);
}

/** The texts of a message's expert infos. */
const expertTexts = (d: Decoded | undefined): string[] => d?.fields.get('_ws.expert.message') ?? [];

/**
 * The tshark settings a vector is read with: its receiver limit as the max_message
 * preference, and for a stream that ends inside a message, TCP reassembly off (with it on,
 * Wireshark waits for the rest, which never comes).
 */
function settingsOf(v: Vector & { expect: { error: { code: string } } }): string[] {
  const prefs: string[] = [];
  if (v.decodeOptions?.maxMessage !== undefined) prefs.push(`jsripc.max_message:${v.decodeOptions.maxMessage}`);
  if (v.expect.error.code === 'ERR_STREAM_TRUNCATED') prefs.push('tcp.desegment_tcp_streams:FALSE');
  return prefs;
}

t.test(
  'tshark shows every invalid vector as expert info named after its error code, never a Lua error',
  { skip },
  async (t) => {
    const capture = invalidCapture();
    const runs = new Map<string, Run>();
    const runWith = (prefs: readonly string[]): Run => {
      const key = prefs.join(' ');
      let run = runs.get(key);
      if (run === undefined) {
        run = tshark(capture, prefs);
        checkClean(t, run, `invalid vectors, settings [${key}]`, false);
        runs.set(key, run);
      }
      return run;
    };
    invalid.forEach((v, i) => {
      const before = v.expect.messagesBefore ?? 0;
      const shown = byStream(runWith(settingsOf(v))).get(i) ?? [];
      const code = v.expect.error.code;
      t.same(
        shown.slice(0, before).map((d) => d.experts),
        Array.from({ length: before }, () => []),
        `${v.id}: the ${before} messages before the error decode cleanly`,
      );
      if (isClientMisfit(v)) {
        t.same(
          shown[before]?.experts,
          [ILLUSTRATIVE_MISFIT_EXPERT],
          `${v.id}: a client message, a note and no error (its body is opaque to KKCM)`,
        );
        t.ok(
          expertTexts(shown[before]).some((text) =>
            text.startsWith(`body does not fit the illustrative layout: ${code}:`),
          ),
          `${v.id}: the note names ${code}`,
          { texts: expertTexts(shown[before]) },
        );
      } else {
        t.ok(
          shown[before]?.experts.includes(expertName(code)),
          `${v.id}: ${code} on the message at offset ${v.expect.error.offset}`,
          { experts: shown[before]?.experts },
        );
      }
      t.equal(shown.length, before + 1, `${v.id}: nothing is decoded after the error`);
    });
    // With reassembly on, a stream that ends inside a message shows only what came before it.
    const waiting = byStream(runWith([]));
    invalid.forEach((v, i) => {
      if (v.expect.error.code !== 'ERR_STREAM_TRUNCATED') return;
      const shown = waiting.get(i) ?? [];
      t.same(
        shown.map((d) => d.experts),
        Array.from({ length: v.expect.messagesBefore ?? 0 }, () => []),
        `${v.id}: with reassembly, the incomplete message waits for more bytes`,
      );
    });
  },
);

t.test('tshark -z expert lists the codes of the invalid vectors, and no Lua error', { skip }, async (t) => {
  const r = spawnSync(
    'tshark',
    [
      '-X',
      `lua_script:${luaPath}`,
      '-r',
      invalidCapture(),
      '-q',
      '-z',
      'expert',
      '-o',
      'tcp.desegment_tcp_streams:FALSE',
    ],
    { encoding: 'utf8' },
  );
  t.equal(r.status, 0);
  t.notMatch(r.stdout, /Lua Error|dissector failed/i, 'no Lua error');
  const listed = invalid.filter((v) => v.decodeOptions?.maxMessage === undefined);
  for (const code of new Set(listed.filter((v) => !isClientMisfit(v)).map((v) => v.expect.error.code))) {
    t.match(r.stdout, new RegExp(`JSRIPC\\s+${code}: `), `${code} is listed`);
  }
  for (const code of new Set(listed.filter(isClientMisfit).map((v) => v.expect.error.code))) {
    t.match(
      r.stdout,
      new RegExp(`Undecoded\\s+JSRIPC\\s+body does not fit the illustrative layout: ${code}: `),
      `a client body's ${code} is listed as an Undecoded note`,
    );
  }
});

t.test(
  'tshark shows a client body that does not fit the illustrative layout as raw bytes with a note, and decodes the next message',
  { skip },
  async (t) => {
    // SDRL SOCKET-DATA-ACK (handle 1, streamOffset 9, seq 5) with 3 bytes after its
    // illustrative layout, then an ACK (upTo 42, seq 6), in one segment on the send channel.
    const sdrlBody = '00000001000000000000000000000009010203';
    const sdrl = `4b4b434d01001102000000230000000500000001000000000000000000000009010203`;
    const ack = '4b4b434d0100010800000014000000060000002a';
    const path = captureFile(
      'opaque.pcap',
      buildTcpCapture([
        {
          clientPort: 44000,
          segments: [
            { from: 'server', payload: helloAck('send') },
            { from: 'client', payload: Buffer.from(sdrl + ack, 'hex') },
          ],
        },
      ]),
    );
    const run = tshark(path);
    checkClean(t, run, 'opaque');
    const [first, second] = run.messages.filter((m) => m.fromClient);
    t.equal(first?.fields.get('jsripc.msg')?.[0], 'sdrl.socketDataAck', 'the header names the message');
    t.same(
      ['type', 'subtype', 'length', 'seq'].map((f) => first?.fields.get(`jsripc.${f}`)?.[0]),
      ['17', '2', '35', '5'],
      'the header fields',
    );
    t.equal(first?.fields.get('jsripc.body')?.[0]?.replace(/:/g, ''), sdrlBody, 'the body as raw bytes');
    t.same(
      [...(first?.fields.keys() ?? [])].filter((k) => k.startsWith('jsripc.sdrl.')),
      [],
      'no field of the illustrative layout',
    );
    t.same(first?.experts, [ILLUSTRATIVE_MISFIT_EXPERT], 'a note, no error');
    t.same(expertTexts(first), [
      'body does not fit the illustrative layout: ERR_TRAILING_BYTES: 3 bytes after the end of the layout',
    ]);
    t.equal(second?.fields.get('jsripc.msg')?.[0], 'control.ack', 'the ACK after it is decoded');
    t.equal(second?.fields.get('jsripc.control.ack.upTo')?.[0], '42');
    t.same(second?.experts, [], 'cleanly');
    t.equal(second?.frame, first?.frame, 'from the same segment');
  },
);
