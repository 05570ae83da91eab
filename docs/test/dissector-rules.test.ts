/**
 * The dissector takes the handshake rules from the spec: which messages are read in any
 * version, and which body fields name the stream's channel and negotiated version. A copy of
 * the spec that makes ECHO-REQUEST a handshake message and renames HELLO's channel field
 * generates a dissector that follows, in its text and, where tshark is installed, on the wire.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeMessage } from '../../codec/src/index.js';
import { editedSpec, moveHandshakeRules } from '../../reference-impl/test/spec-copy.js';
import { loadSpec } from '../../spec/src/index.js';
import { generateDissector } from '../tools/dissector.js';
import { buildTcpCapture } from '../tools/tcp-capture.js';
import { luaPath, tshark, tsharkMissing } from './tshark.js';

const bundled = generateDissector(loadSpec());
const moved = generateDissector(editedSpec(moveHandshakeRules));

/** The first line of the MESSAGES entry of `name` in a generated dissector. */
const entry = (lua: string, name: string): string =>
  lua.split('\n').find((l) => l.startsWith(`  name = "${name}"`)) ?? '';

t.test('the generated Lua marks the handshake messages and their fields as the spec says', async (t) => {
  t.notMatch(entry(bundled, 'control.echoRequest'), /handshake = true/, 'bundled spec: ECHO-REQUEST is not one');
  t.match(entry(moved, 'control.echoRequest'), /handshake = true/, 'edited spec: ECHO-REQUEST is one');
  t.match(entry(bundled, 'control.hello'), /handshake = true, sets_channel = "channel",/);
  t.match(entry(moved, 'control.hello'), /handshake = true, sets_channel = "carrier",/, 'the renamed field');
  t.match(entry(moved, 'control.helloAck'), /sets_channel = "channel", sets_version = "version"/, 'the rest kept');
});

const skip = tsharkMissing();

t.test('on the wire, tshark with each dissector follows its spec', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-dissector-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const movedPath = join(dir, 'moved.lua');
  writeFileSync(movedPath, moved);
  const echo = (seq: number, version?: number): Uint8Array =>
    encodeMessage({ name: 'control.echoRequest', seq, version, body: { token: 1, payload: Uint8Array.of(1) } });
  // One stream, from the client: an ECHO-REQUEST in version 9, a HELLO naming the receive
  // channel (the same bytes under either spec), an ECHO-REQUEST in version 1.
  const hello = encodeMessage({
    name: 'control.hello',
    seq: 1,
    body: {
      minVersion: 1,
      maxVersion: 1,
      role: 2,
      channel: 2,
      features: 0,
      nodeId: 2,
      maxMessage: 262144,
      sessionId: 3n,
      nodeName: 're1',
    },
  });
  const capture = join(dir, 'rules.pcap');
  writeFileSync(
    capture,
    buildTcpCapture([
      {
        clientPort: 43001,
        segments: [echo(0, 9), hello, echo(2)].map((payload) => ({ from: 'client' as const, payload })),
      },
    ]),
  );
  const before = tshark(capture, [], 7000, luaPath);
  const after = tshark(capture, [], 7000, movedPath);
  t.equal(before.messages.length, 3, 'bundled dissector: three messages');
  t.equal(after.messages.length, 3, 'edited dissector: three messages');
  t.same(before.luaErrors.concat(after.luaErrors), [], 'no Lua error');

  const unsupported = 'jsripc.expert.unsupported_version';
  t.ok(before.messages[0]?.experts.includes(unsupported), 'bundled: version 9 is reported on the ECHO-REQUEST');
  t.notOk(after.messages[0]?.experts.includes(unsupported), 'edited: the ECHO-REQUEST is read in any version');

  t.ok(before.messages[1]?.fields.has('jsripc.control.hello.channel'), 'bundled: HELLO shows its channel field');
  t.ok(after.messages[1]?.fields.has('jsripc.control.hello.carrier'), 'edited: HELLO shows the renamed field');
  t.same(
    after.messages[2]?.fields.get('jsripc.channel'),
    ['2'],
    'edited: the stream is on the channel HELLO.carrier named',
  );
  t.same(before.messages[2]?.fields.get('jsripc.channel'), ['2'], 'bundled: on the channel HELLO.channel named');
});
