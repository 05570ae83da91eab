/**
 * Issue 13's acceptance: the C decoder prints the same JSON as `kkcm decode` for the reference
 * peer's pcapng trace payloads. Two reference peers run a session over real loopback TCP in
 * this process, the master traces it to a pcapng file, and every message of every client
 * goes both ways (seeded random bodies, and one message large enough to need several TCP
 * segments). Each direction of each connection is cut out of the pcapng file (the TCP
 * payloads in order) and given to `kkcm-c-decode` (the generated C codec, built here) and to
 * the real `kkcm decode` CLI, both with the connection's channel; their output must be the
 * same, line for line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import type { ChannelName, ClientName, MessageInput } from '../../codec/src/index.js';
import { arbitraryBody } from '../../codec/test/arbitraries.js';
import { buildC, cDir, findCompiler } from '../../codec/test/c-support.js';
import { attachPcapng, KkcmPeer, PCAPNG_ENDPOINTS, type PeerEvent } from '../../reference-impl/src/index.js';
import { loadSpec, packageRoot, SpecModel } from '../../spec/src/index.js';

const compiler = findCompiler();
const skip = compiler === undefined ? 'no C compiler (gcc, cc or clang) on PATH' : false;
if (skip !== false) console.log(`# skipping: ${skip}`);

const SEED = 1313;
const CLIENTS = ['iha', 'sdrl', 'psrm', 'prl'] as const satisfies readonly ClientName[];

/** One direction of one traced connection: its backup port and its TCP payload bytes in order. */
interface TcpStream {
  readonly key: string;
  readonly backupPort: number;
  readonly bytes: Uint8Array;
}

/**
 * The TCP payloads of a pcapng file, per direction of each connection, in file order. Reads
 * what the trace writer writes: little-endian blocks, Enhanced Packet Blocks of Ethernet,
 * IPv4 and TCP; every other block is skipped.
 */
function tcpStreams(file: Buffer): TcpStream[] {
  const parts = new Map<string, { backupPort: number; chunks: Buffer[] }>();
  for (let at = 0; at < file.byteLength;) {
    const type = file.readUInt32LE(at);
    const length = file.readUInt32LE(at + 4);
    if (length < 12 || at + length > file.byteLength) throw new Error(`bad pcapng block length ${length} at ${at}`);
    if (type === 6) {
      const captured = file.readUInt32LE(at + 20);
      const frame = file.subarray(at + 28, at + 28 + captured);
      if (frame.readUInt16BE(12) !== 0x0800) throw new Error('not IPv4');
      const ip = 14;
      const tcp = ip + (frame[ip]! & 0x0f) * 4;
      const end = ip + frame.readUInt16BE(ip + 2);
      const payload = frame.subarray(tcp + (frame[tcp + 12]! >> 4) * 4, end);
      const src = `${frame.subarray(ip + 12, ip + 16).join('.')}:${frame.readUInt16BE(tcp)}`;
      const dst = `${frame.subarray(ip + 16, ip + 20).join('.')}:${frame.readUInt16BE(tcp + 2)}`;
      const backupPort = src.startsWith(`${PCAPNG_ENDPOINTS.backup.ip}:`)
        ? frame.readUInt16BE(tcp)
        : frame.readUInt16BE(tcp + 2);
      const key = `${src}>${dst}`;
      const entry = parts.get(key) ?? { backupPort, chunks: [] };
      entry.chunks.push(payload);
      parts.set(key, entry);
    }
    at += length;
  }
  return [...parts].map(([key, { backupPort, chunks }]) => ({ key, backupPort, bytes: Buffer.concat(chunks) }));
}

/** The channel of a connection from its backup port (the first of each channel, plus 2 per reconnection). */
function channelOf(backupPort: number): ChannelName {
  const { send, receive } = PCAPNG_ENDPOINTS.firstPort;
  if ((backupPort - send) % 2 === 0) return 'send';
  if ((backupPort - receive) % 2 === 0) return 'receive';
  throw new Error(`port ${backupPort} is no channel's`);
}

/** The messages each side sends: three seeded random bodies of every client message, and one of 150 kB. */
function traffic(model: SpecModel, seed: number): [ClientName, MessageInput][] {
  const out: [ClientName, MessageInput][] = [];
  for (const m of model.messages) {
    if (!(CLIENTS as readonly string[]).includes(m.client)) continue;
    for (const body of fc.sample(arbitraryBody(model, m.name), { numRuns: 3, seed }))
      out.push([m.client as ClientName, { name: m.name, body } as unknown as MessageInput]);
  }
  out.push(['prl', { name: 'prl.opaque', body: { data: new Uint8Array(150_000).map((_, i) => i * 7) } }]);
  return out;
}

t.test('kkcm-c-decode prints what kkcm decode prints for a real session traced to pcapng', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-c-trace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tool = buildC(compiler!, join(cDir, 'tools', 'kkcm-c-decode.c'), 'kkcm-c-decode');
  t.teardown(tool.cleanup);

  // ---- a session over loopback, traced by the master
  const host = '127.0.0.1';
  const master = new KkcmPeer({ role: 'master', listen: { host, port: 0 }, nodeName: 'm' });
  const received = { master: 0, backup: 0 };
  for (const client of CLIENTS) master.register(client, { message: () => void received.master++ });
  const pcap = join(dir, 'master.pcapng');
  const writer = attachPcapng(master, pcap);
  t.teardown(() => master.stop());
  await master.configure();
  const backup = new KkcmPeer({ role: 'backup', connect: { host, port: master.listenAddress!.port }, nodeName: 'b' });
  for (const client of CLIENTS) backup.register(client, { message: () => void received.backup++ });
  t.teardown(() => backup.stop());
  const isUp = (e: PeerEvent): boolean => e.event === 'session-up';
  const up = Promise.all([master.waitFor(isUp), backup.waitFor(isUp)]);
  await backup.configure();
  await up;

  const model = new SpecModel(loadSpec());
  const fromMaster = traffic(model, SEED);
  const fromBackup = traffic(model, SEED + 1);
  // Confirmed sends: each message was delivered and handled before the trace is closed.
  for (const [client, msg] of fromMaster) await master.send(client, msg, { confirm: true });
  for (const [client, msg] of fromBackup) await backup.send(client, msg, { confirm: true });
  t.same(received, { master: fromBackup.length, backup: fromMaster.length }, 'every message was handled');
  await backup.stop();
  await master.stop();
  await writer.close();

  // ---- every direction of every connection through both decoders
  const streams = tcpStreams(readFileSync(pcap));
  t.same(
    streams.map((s) => channelOf(s.backupPort)).sort(),
    ['receive', 'receive', 'send', 'send'],
    'the trace holds both directions of both channels',
  );
  let lines = 0;
  const names = new Set<string>();
  for (const [i, s] of streams.entries()) {
    const channel = channelOf(s.backupPort);
    const file = join(dir, `stream-${i}.bin`);
    writeFileSync(file, s.bytes);
    const c = execFileSync(tool.bin, ['--channel', channel], { input: s.bytes, encoding: 'utf8', maxBuffer: 1 << 28 });
    const ts = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(packageRoot(), 'cli', 'src', 'run.ts'), 'decode', '--file', file, '--channel', channel],
      { encoding: 'utf8', maxBuffer: 1 << 28 },
    );
    const cLines = c.trimEnd().split('\n');
    t.ok(cLines.length > 1, `${s.key} (${channel}): ${cLines.length} messages`);
    t.strictSame(cLines, ts.trimEnd().split('\n'), `${s.key} (${channel}): the same lines`);
    lines += cLines.length;
    for (const l of cLines) names.add((JSON.parse(l) as { name: string }).name);
  }
  t.ok(lines >= fromMaster.length + fromBackup.length, `${lines} messages in all`);
  const expected = [...fromMaster, ...fromBackup].map(([, m]) => m.name).concat('control.hello', 'control.helloAck');
  t.same(
    expected.filter((n) => !names.has(n)),
    [],
    'every message name sent, and the handshake, was decoded by both',
  );
});
