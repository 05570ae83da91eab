/**
 * pcapng traces of a peer: a minimal pcapng reader, then the files a peer writes checked block by
 * block and through tshark when installed. Why one file past ~500 lines: one subject, the pcapng
 * writer, with the reader it is checked by.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { encodeMessage, type ChannelName, type MessageInput } from '../../codec/src/index.js';
import { KkcmPeer, ManualClock, MemoryTransport, PeerError } from '../src/index.js';
import { parseTraceFilter } from '../src/trace/filter.js';
import { attachPcapng, buildPcapng } from '../src/trace/pcapng.js';
import { PCAPNG_MAX_SEGMENT, type PcapngRecord } from '../src/trace/pcapng-tcp.js';

// ------------------------------------------------------------------ a minimal pcapng reader

interface Block {
  readonly type: number;
  readonly body: DataView;
  readonly options: Map<number, Uint8Array[]>;
}

interface Packet {
  readonly ts: bigint;
  /** epb_flags direction bits: 1 inbound, 2 outbound. */
  readonly inbound: boolean;
  readonly comment: string | undefined;
  readonly src: string;
  readonly dst: string;
  readonly srcMac: string;
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: string;
  readonly payload: Uint8Array;
  readonly ipChecksumOk: boolean;
  readonly tcpChecksumOk: boolean;
  readonly ipTotalLength: number;
  readonly dontFragment: boolean;
}

interface Capture {
  readonly shb: Block;
  readonly idbs: Block[];
  readonly isbs: Block[];
  readonly packets: Packet[];
  readonly order: number[];
}

const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Reads blocks; fails the test on any length or trailer inconsistency. */
function readBlocks(file: Uint8Array, opts: { fixed: Record<number, number> }): Block[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, true) !== 0x0a0d0d0a) throw new Error('no SHB first');
  if (dv.getUint32(8, true) !== 0x1a2b3c4d) throw new Error('SHB not little-endian (the writer writes little-endian)');
  const blocks: Block[] = [];
  let at = 0;
  while (at < file.byteLength) {
    const type = dv.getUint32(at, true);
    const len = dv.getUint32(at + 4, true);
    if (len % 4 !== 0 || len < 12 || at + len > file.byteLength) throw new Error(`bad block length ${len} at ${at}`);
    if (dv.getUint32(at + len - 4, true) !== len) throw new Error(`trailing length differs at ${at}`);
    let fixed = opts.fixed[type];
    if (fixed === undefined) throw new Error(`unexpected block type ${type}`);
    if (type === 6) fixed = 20 + ((dv.getUint32(at + 20, true) + 3) & ~3);
    const options = new Map<number, Uint8Array[]>();
    let o = at + 8 + fixed;
    while (o < at + len - 4) {
      const code = dv.getUint16(o, true);
      const olen = dv.getUint16(o + 2, true);
      if (code === 0) break;
      options.set(code, [...(options.get(code) ?? []), file.subarray(o + 4, o + 4 + olen)]);
      o += 4 + ((olen + 3) & ~3);
    }
    blocks.push({ type, body: new DataView(file.buffer, file.byteOffset + at + 8, fixed), options });
    at += len;
  }
  return blocks;
}

function sum16(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  return s;
}
const foldsToAllOnes = (s: number): boolean => {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x === 0xffff;
};

function decodePacket(block: Block): Packet {
  const b = block.body;
  const captured = b.getUint32(12, true);
  if (b.getUint32(16, true) !== captured) throw new Error('original length differs from the captured length');
  const data = new Uint8Array(b.buffer, b.byteOffset + 20, captured);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dv.getUint16(12) !== 0x0800) throw new Error('not IPv4');
  const ip = 14;
  const ihl = (data[ip]! & 0x0f) * 4;
  const totalLength = dv.getUint16(ip + 2);
  const tcp = ip + ihl;
  const tcpLength = totalLength - ihl;
  const pseudo = sum16(data, ip + 12, ip + 20) + 6 + tcpLength;
  const off = (data[tcp + 12]! >> 4) * 4;
  const flagBits = data[tcp + 13]!;
  const flags = ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => (flagBits & (1 << i)) !== 0).join('|');
  const ipStr = (o: number): string => [...data.subarray(o, o + 4)].join('.');
  const epbFlags = block.options.get(2)?.[0];
  return {
    ts: (BigInt(b.getUint32(4, true)) << 32n) | BigInt(b.getUint32(8, true)),
    inbound:
      epbFlags !== undefined && (new DataView(epbFlags.buffer, epbFlags.byteOffset, 4).getUint32(0, true) & 3) === 1,
    comment: text(block.options.get(1)?.[0]),
    src: ipStr(ip + 12),
    dst: ipStr(ip + 16),
    srcMac: [...data.subarray(6, 12)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
    sport: dv.getUint16(tcp),
    dport: dv.getUint16(tcp + 2),
    seq: dv.getUint32(tcp + 4),
    ack: dv.getUint32(tcp + 8),
    flags,
    payload: data.subarray(tcp + off, ip + totalLength),
    ipChecksumOk: data[ip] === 0x45 && foldsToAllOnes(sum16(data, ip, ip + 20)),
    tcpChecksumOk: foldsToAllOnes(pseudo + sum16(data, tcp, ip + totalLength)),
    ipTotalLength: totalLength,
    dontFragment: (dv.getUint16(ip + 6) & 0x4000) !== 0,
  };
}

function readPcapng(file: Uint8Array): Capture {
  const blocks = readBlocks(file, { fixed: { 0x0a0d0d0a: 16, 1: 8, 5: 12, 6: 20 } });
  return {
    shb: blocks[0]!,
    idbs: blocks.filter((b) => b.type === 1),
    isbs: blocks.filter((b) => b.type === 5),
    packets: blocks.filter((b) => b.type === 6).map(decodePacket),
    order: blocks.map((b) => b.type),
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const concat = (parts: readonly Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** TCP payload per direction of each connection, keyed `src:sport>dst:dport`. */
function streams(packets: readonly Packet[]): Map<string, Uint8Array> {
  const parts = new Map<string, Uint8Array[]>();
  for (const p of packets) {
    const key = `${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    parts.set(key, [...(parts.get(key) ?? []), p.payload]);
  }
  return new Map([...parts].map(([k, v]) => [k, concat(v)]));
}

/** Fails on a segment whose sequence number is not where the previous one of its direction ended. */
function seqGaps(packets: readonly Packet[]): string[] {
  const next = new Map<string, number>();
  const gaps: string[] = [];
  for (const p of packets) {
    const key = `${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    const expected = next.get(key);
    if (expected !== undefined && expected !== p.seq) gaps.push(`${key} expected ${expected} got ${p.seq}`);
    next.set(key, (p.seq + p.payload.byteLength + (p.flags.includes('SYN') || p.flags.includes('FIN') ? 1 : 0)) >>> 0);
  }
  return gaps;
}

// ------------------------------------------------------------------ fixtures

const dir = mkdtempSync(join(tmpdir(), 'kkcm-pcapng-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tmpFile = (): string => join(dir, `trace-${files++}.pcapng`);

const settle = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

const frame = (msg: MessageInput, seq: number): Uint8Array => encodeMessage({ ...msg, seq } as MessageInput);
const hello = (seq: number): Uint8Array =>
  frame(
    {
      name: 'control.hello',
      body: {
        minVersion: 1,
        maxVersion: 1,
        role: 2,
        channel: 1,
        features: 1,
        nodeId: 0,
        maxMessage: 262144,
        sessionId: 7n,
        nodeName: 're1',
      },
    },
    seq,
  );
const drop = (seq: number): Uint8Array => frame({ name: 'prl.packetDrop', body: { handle: seq, count: 1 } }, seq);
const opaque = (seq: number, size: number): Uint8Array =>
  frame({ name: 'prl.opaque', body: { data: new Uint8Array(size).map((_, i) => i * 7) } }, seq);

const MASTER = '10.0.0.1';
const BACKUP = '10.0.0.2';

// ------------------------------------------------------------------ buildPcapng

t.test('builds a section header, one Ethernet interface and one packet block per segment', async (t) => {
  const records: PcapngRecord[] = [
    { ts: 1_700_000_000_123.456, channel: 'send', direction: 'tx', role: 'backup', frame: hello(0) },
    { ts: 1_700_000_000_124_000n, channel: 'receive', direction: 'rx', role: 'backup', frame: drop(0) },
  ];
  const cap = readPcapng(buildPcapng(records, { comment: 'test run' }));
  const shb = cap.shb.body;
  t.same([shb.getUint16(4, true), shb.getUint16(6, true)], [1, 0], 'pcapng 1.0');
  t.equal(shb.getBigInt64(8, true), -1n, 'section length not given');
  t.match(text(cap.shb.options.get(1)?.[0]), /^kkcm: .*test run$/, 'the section comment names kkcm and carries ours');
  t.equal(cap.idbs.length, 1);
  t.equal(cap.idbs[0]!.body.getUint16(0, true), 1, 'LINKTYPE_ETHERNET');
  t.notOk(cap.idbs[0]!.options.has(9), 'no if_tsresol: the default, microseconds');
  t.same(cap.order, [0x0a0d0d0a, 1, 6, 6, 6, 6, 6, 6, 6, 6], 'SHB, IDB, then 2 x (SYN, SYN-ACK, ACK, data)');
  t.equal(cap.packets[3]!.ts, 1_700_000_000_123_456n, 'a number is milliseconds, kept to the microsecond');
  t.equal(cap.packets[7]!.ts, 1_700_000_000_124_000n, 'a bigint is microseconds');
  t.ok(
    cap.packets.every((p) => p.ipChecksumOk),
    'IPv4 header checksums are valid',
  );
  t.ok(
    cap.packets.every((p) => p.tcpChecksumOk),
    'TCP checksums are valid',
  );
  t.ok(cap.packets.every((p) => p.dontFragment));
});

t.test('opens each channel with SYN, SYN-ACK, ACK from the backup to the master port 7000', async (t) => {
  const cap = readPcapng(
    buildPcapng([
      { ts: 1, channel: 'send', direction: 'rx', role: 'master', frame: hello(0) },
      { ts: 2, channel: 'receive', direction: 'rx', role: 'master', frame: hello(0) },
    ]),
  );
  const summary = cap.packets.map(
    (p) => `${p.src}:${p.sport}>${p.dst}:${p.dport} ${p.flags} ${p.seq}/${p.ack} ${p.payload.byteLength}`,
  );
  t.same(summary, [
    `${BACKUP}:40001>${MASTER}:7000 SYN 0/0 0`,
    `${MASTER}:7000>${BACKUP}:40001 SYN|ACK 0/1 0`,
    `${BACKUP}:40001>${MASTER}:7000 ACK 1/1 0`,
    `${BACKUP}:40001>${MASTER}:7000 PSH|ACK 1/1 ${hello(0).byteLength}`,
    `${BACKUP}:40002>${MASTER}:7000 SYN 0/0 0`,
    `${MASTER}:7000>${BACKUP}:40002 SYN|ACK 0/1 0`,
    `${BACKUP}:40002>${MASTER}:7000 ACK 1/1 0`,
    `${BACKUP}:40002>${MASTER}:7000 PSH|ACK 1/1 ${hello(0).byteLength}`,
  ]);
  t.same(
    cap.packets.map((p) => p.inbound),
    [true, false, true, true, true, false, true, true],
    'the master captured: packets from the backup are inbound',
  );
});

t.test('puts the master side by role and direction', async (t) => {
  const srcOf = (role: 'master' | 'backup', direction: 'tx' | 'rx'): string =>
    readPcapng(buildPcapng([{ ts: 0, channel: 'send', direction, role, frame: drop(0) }])).packets[3]!.src;
  t.equal(srcOf('master', 'tx'), MASTER);
  t.equal(srcOf('master', 'rx'), BACKUP);
  t.equal(srcOf('backup', 'tx'), BACKUP);
  t.equal(srcOf('backup', 'rx'), MASTER);
});

t.test('advances sequence numbers by payload so each direction concatenates to the messages', async (t) => {
  const tx = [hello(0), drop(1), opaque(2, 300), drop(3)];
  const rx = [drop(0), drop(1), opaque(2, 5)];
  const records: PcapngRecord[] = [];
  for (let i = 0; i < Math.max(tx.length, rx.length); i++) {
    if (tx[i] !== undefined) records.push({ ts: i, channel: 'send', direction: 'tx', role: 'backup', frame: tx[i]! });
    if (rx[i] !== undefined) records.push({ ts: i, channel: 'send', direction: 'rx', role: 'backup', frame: rx[i]! });
  }
  const cap = readPcapng(buildPcapng(records));
  const s = streams(cap.packets);
  t.equal(hex(s.get(`${BACKUP}:40001>${MASTER}:7000`)!), hex(concat(tx)));
  t.equal(hex(s.get(`${MASTER}:7000>${BACKUP}:40001`)!), hex(concat(rx)));
  t.same(seqGaps(cap.packets), [], 'no gap, no overlap');
  const last = cap.packets.at(-1)!;
  t.equal(last.src, BACKUP);
  t.equal(last.ack, 1 + concat(rx).byteLength, 'data acknowledges everything the other side sent');
});

t.test('splits a message larger than one segment, PSH on the last', async (t) => {
  const big = opaque(0, 150_000);
  const cap = readPcapng(buildPcapng([{ ts: 0, channel: 'receive', direction: 'tx', role: 'master', frame: big }]));
  const data = cap.packets.slice(3);
  t.same(
    data.map((p) => p.payload.byteLength),
    [PCAPNG_MAX_SEGMENT, PCAPNG_MAX_SEGMENT, big.byteLength - 2 * PCAPNG_MAX_SEGMENT],
  );
  t.same(
    data.map((p) => p.flags),
    ['ACK', 'ACK', 'PSH|ACK'],
  );
  t.ok(
    data.every((p) => p.ipTotalLength <= 65535),
    'each segment fits an IPv4 packet',
  );
  t.equal(hex(concat(data.map((p) => p.payload))), hex(big));
  t.same(seqGaps(cap.packets), []);
  t.ok(data.every((p) => p.tcpChecksumOk && p.ipChecksumOk));
});

t.test('acknowledges a long one-way stream with synthetic ACKs', async (t) => {
  const records: PcapngRecord[] = [];
  for (let i = 0; i < 40; i++)
    records.push({ ts: i, channel: 'receive', direction: 'tx', role: 'master', frame: opaque(i, 60_000) });
  const cap = readPcapng(buildPcapng(records));
  const acks = cap.packets.slice(3).filter((p) => p.payload.byteLength === 0);
  t.ok(acks.length >= 2, `the backup acknowledged (${acks.length} pure ACKs)`);
  t.ok(acks.every((p) => p.src === BACKUP && p.flags === 'ACK'));
  const before = cap.packets.slice(0, cap.packets.indexOf(acks[0]!)).filter((p) => p.src === MASTER);
  t.equal(acks[0]!.ack, before.reduce((n, p) => n + p.payload.byteLength, 0) + 1, 'an ACK covers all bytes before it');
});

t.test('starts a new connection, after FIN, when a direction starts again at sequence 0', async (t) => {
  const first = [hello(0), drop(1)];
  const second = [hello(0), drop(1)];
  const cap = readPcapng(
    buildPcapng([
      ...first.map((f, i): PcapngRecord => ({ ts: i, channel: 'send', direction: 'tx', role: 'backup', frame: f })),
      ...second.map((f, i): PcapngRecord => ({
        ts: 10 + i,
        channel: 'send',
        direction: 'tx',
        role: 'backup',
        frame: f,
      })),
    ]),
  );
  const flags = cap.packets.map((p) => `${p.sport}>${p.dport} ${p.flags}`);
  t.same(flags.slice(5, 11), [
    '40001>7000 FIN|ACK',
    '7000>40001 FIN|ACK',
    '40001>7000 ACK',
    '40003>7000 SYN',
    '7000>40003 SYN|ACK',
    '40003>7000 ACK',
  ]);
  const s = streams(cap.packets);
  t.equal(hex(s.get(`${BACKUP}:40001>${MASTER}:7000`)!), hex(concat(first)));
  t.equal(hex(s.get(`${BACKUP}:40003>${MASTER}:7000`)!), hex(concat(second)));
  t.same(seqGaps(cap.packets), []);
});

t.test('keeps connections with different remotes apart on the same channel', async (t) => {
  const cap = readPcapng(
    buildPcapng([
      { ts: 0, channel: 'send', direction: 'tx', role: 'master', frame: drop(0), remote: 'a:1' },
      { ts: 1, channel: 'send', direction: 'tx', role: 'master', frame: drop(0), remote: 'b:2' },
      { ts: 2, channel: 'send', direction: 'tx', role: 'master', frame: drop(1), remote: 'a:1' },
    ]),
  );
  const s = streams(cap.packets);
  t.equal(hex(s.get(`${MASTER}:7000>${BACKUP}:40001`)!), hex(concat([drop(0), drop(1)])));
  t.equal(hex(s.get(`${MASTER}:7000>${BACKUP}:40003`)!), hex(drop(0)));
  t.notOk(
    cap.packets.some((p) => p.flags.includes('FIN')),
    'neither was closed',
  );
});

t.test('closes the least recently used connection when too many are open', async (t) => {
  const records: PcapngRecord[] = [];
  for (let i = 0; i <= 16; i++)
    records.push({ ts: i, channel: 'send', direction: 'tx', role: 'master', frame: drop(0), remote: `r:${i}` });
  records.push({ ts: 17, channel: 'send', direction: 'tx', role: 'master', frame: drop(0), remote: 'r:0' });
  const cap = readPcapng(buildPcapng(records));
  const fins = cap.packets.filter((p) => p.flags.includes('FIN'));
  t.same(
    fins.map((p) => `${p.sport}>${p.dport}`),
    ['40001>7000', '7000>40001', '40003>7000', '7000>40003'],
    'the oldest first, then the next oldest',
  );
  t.equal(cap.packets.at(-1)!.dport, 40001 + 2 * 17, 'a remote seen again after eviction gets a new connection');
  t.same(seqGaps(cap.packets), []);
});

// ------------------------------------------------------------------ the writer on real peers

interface Traced {
  readonly channel: ChannelName;
  readonly direction: 'tx' | 'rx';
  readonly frame: Uint8Array;
}

async function tracedSession(
  t: Test,
  writerOptions: Parameters<typeof attachPcapng>[2] = {},
): Promise<{ master: Traced[]; backup: Traced[]; mPath: string; bPath: string; mCount: () => number }> {
  const transport = new MemoryTransport();
  const clock = new ManualClock();
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    transport,
    clock,
    random: () => 0.5,
  });
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: 'm', port: 7000 },
    transport,
    clock,
    random: () => 0.5,
  });
  master.register('prl', { message: () => undefined });
  backup.register('prl', { message: () => undefined });
  const seen = { master: [] as Traced[], backup: [] as Traced[] };
  // Copy: a received frame may be a view into the transport's chunk.
  master.on('frame', (channel, direction, f) => seen.master.push({ channel, direction, frame: Uint8Array.from(f) }));
  backup.on('frame', (channel, direction, f) => seen.backup.push({ channel, direction, frame: Uint8Array.from(f) }));
  const mPath = tmpFile();
  const bPath = tmpFile();
  const mWriter = attachPcapng(master, mPath, {
    now: () => 1_700_000_000_000_000n + BigInt(clock.now()) * 1000n,
    ...writerOptions,
  });
  const bWriter = attachPcapng(backup, bPath, writerOptions);
  t.equal(master.listenerCount('frame'), 2);
  await master.configure();
  await backup.configure();
  clock.advance(0);
  await settle();
  t.ok(master.sessionUp, 'the session came up');
  await master.send('prl', { name: 'prl.packetDrop', body: { handle: 1, count: 2 } });
  await master.send('prl', { name: 'prl.opaque', body: { data: new Uint8Array(150_000).fill(0x5a) } });
  await backup.send('prl', { name: 'prl.packetDrop', body: { handle: 3, count: 4 } }, { confirm: true });
  await settle();
  await master.stop();
  await backup.stop();
  await settle();
  await Promise.all([mWriter.close(), bWriter.close()]);
  t.equal(master.listenerCount('frame'), 1, 'the writer removed its listener');
  return { ...seen, mPath, bPath, mCount: () => mWriter.written };
}

/** Frames of one channel and direction, as the peer traced them, concatenated. */
const bytesOf = (traced: readonly Traced[], channel: ChannelName, direction: 'tx' | 'rx'): string =>
  hex(concat(traced.filter((x) => x.channel === channel && x.direction === direction).map((x) => x.frame)));

t.test('writes every message two real peers exchange as a reassemblable TCP stream', async (t) => {
  const run = await tracedSession(t);
  for (const [side, path, traced] of [
    ['master', run.mPath, run.master],
    ['backup', run.bPath, run.backup],
  ] as const) {
    const cap = readPcapng(readFileSync(path));
    const s = streams(cap.packets);
    const self = side === 'master' ? MASTER : BACKUP;
    const peer = side === 'master' ? BACKUP : MASTER;
    for (const [channel, port] of [
      ['send', 40001],
      ['receive', 40002],
    ] as const) {
      const out = self === MASTER ? `${MASTER}:7000>${BACKUP}:${port}` : `${BACKUP}:${port}>${MASTER}:7000`;
      const inn = self === MASTER ? `${BACKUP}:${port}>${MASTER}:7000` : `${MASTER}:7000>${BACKUP}:${port}`;
      t.equal(hex(s.get(out) ?? new Uint8Array(0)), bytesOf(traced, channel, 'tx'), `${side} ${channel} tx`);
      t.equal(hex(s.get(inn) ?? new Uint8Array(0)), bytesOf(traced, channel, 'rx'), `${side} ${channel} rx`);
    }
    t.ok(
      traced.some((x) => x.frame.byteLength > PCAPNG_MAX_SEGMENT),
      'a message needed several segments',
    );
    t.same(seqGaps(cap.packets), [], `${side}: no gaps`);
    t.ok(
      cap.packets.length > 0 && cap.packets.every((p) => p.ipChecksumOk && p.tcpChecksumOk),
      `${side}: checksums valid`,
    );
    t.ok(
      cap.packets.every((p) => p.inbound === (p.src === peer)),
      `${side}: epb_flags direction`,
    );
    t.equal(cap.isbs.length, 1, `${side}: a statistics block at close`);
    t.equal(cap.isbs[0]!.options.get(5)?.[0]?.at(0), 0, `${side}: nothing dropped`);
  }
  const cap = readPcapng(readFileSync(run.mPath));
  t.ok(
    cap.packets.length > 0 && cap.packets.every((p) => p.ts >= 1_700_000_000_000_000n),
    'timestamps from the injected clock',
  );
  t.equal(run.mCount(), run.master.length, 'every traced message was written');
});

t.test('holds the HELLO the master received', async (t) => {
  const run = await tracedSession(t);
  for (const channel of ['send', 'receive'] as const)
    t.equal(bytesOf(run.master, channel, 'rx'), bytesOf(run.backup, channel, 'tx'), channel);
});

t.test('writes only the selected messages, as a stream without gaps', async (t) => {
  const run = await tracedSession(t, { filter: parseTraceFilter('name=prl.*') });
  const cap = readPcapng(readFileSync(run.mPath));
  const data = cap.packets.filter((p) => p.payload.byteLength > 0);
  const s = streams(cap.packets);
  const prl = run.master.filter((x) => x.frame[6] === 0x20);
  t.ok(prl.length >= 3, 'PRL went both ways');
  t.equal(
    hex(s.get(`${MASTER}:7000>${BACKUP}:40002`)!),
    bytesOf(prl, 'receive', 'tx'),
    'tx: the PRL messages and nothing else',
  );
  t.equal(
    hex(s.get(`${BACKUP}:40002>${MASTER}:7000`)!),
    bytesOf(prl, 'receive', 'rx'),
    'rx: the PRL messages and nothing else',
  );
  t.ok(
    data.length > 0 && data.every((p) => p.dport !== 40001 && p.sport !== 40001),
    'nothing on the send channel: PRL travels on receive',
  );
  t.same(seqGaps(cap.packets), []);
});

t.test('drops messages past the buffer bound, leaves a gap and counts them', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const path = tmpFile();
  const writer = attachPcapng(peer, path, { now: () => 0, maxBufferedBytes: 4096 });
  // One synchronous burst: the disk completes nothing meanwhile.
  const sent = Array.from({ length: 20 }, (_, i) => opaque(i, 1000));
  for (const f of sent) peer.emit('frame', 'receive', 'tx', f, 'memory:1');
  const writtenInBurst = writer.written;
  t.ok(writtenInBurst >= 1 && writer.dropped >= 1, `${writtenInBurst} written, ${writer.dropped} dropped`);
  t.equal(writtenInBurst + writer.dropped, sent.length);
  // The first message of another connection is dropped too, but not its handshake.
  peer.emit('frame', 'send', 'tx', drop(0), 'memory:2');
  t.equal(writer.dropped, sent.length + 1 - writtenInBurst);
  // Wait (a bounded number of turns) for the disk, then one more message fits.
  for (let i = 0; i < 2000 && writer.written === writtenInBurst; i++) {
    await new Promise((r) => setTimeout(r, 1));
    peer.emit('frame', 'receive', 'tx', opaque(sent.length + i, 1000), 'memory:1');
  }
  await writer.close();
  const cap = readPcapng(readFileSync(path));
  const data = cap.packets.filter((p) => p.payload.byteLength > 0);
  t.equal(data.length, writer.written);
  t.ok(seqGaps(cap.packets).length >= 1, 'the lost bytes show as a gap');
  t.same(
    cap.packets.filter((p) => p.sport === 40001 || p.dport === 40001).map((p) => p.flags),
    ['SYN', 'SYN|ACK', 'ACK'],
    "the dropped message's connection still opens",
  );
  const noted = data.find((p) => p.comment !== undefined);
  t.match(noted?.comment, /^kkcm: \d+ messages dropped before this one/, 'the next message written says so');
  const isb = cap.isbs[0]!;
  const u64 = (code: number): bigint =>
    new DataView(isb.options.get(code)![0]!.buffer, isb.options.get(code)![0]!.byteOffset, 8).getBigUint64(0, true);
  t.equal(u64(5), BigInt(writer.dropped), 'isb_ifdrop');
  t.equal(u64(4), BigInt(writer.dropped + writer.written), 'isb_ifrecv');
  t.match(text(isb.options.get(1)?.[0]), /dropped/, 'the statistics block says what the counts are');
});

t.test('close is safe twice and removes exactly its listener', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  const other = (): void => undefined;
  peer.on('frame', other);
  const path = tmpFile();
  const writer = attachPcapng(peer, path, { now: () => 0 });
  peer.emit('frame', 'send', 'tx', drop(0), 'x');
  const first = writer.close();
  t.equal(writer.close(), first, 'the same promise');
  t.same(peer.listeners('frame'), [other]);
  peer.emit('frame', 'send', 'tx', drop(1), 'x');
  await first;
  t.equal(readPcapng(readFileSync(path)).packets.length, 4, 'SYN, SYN-ACK, ACK and one message: nothing after close');
});

t.test('throws at once for a bad path or filter, without listening', async (t) => {
  const peer = new KkcmPeer({ role: 'master' });
  t.throws(() => attachPcapng(peer, join(dir, 'missing', 'x.pcapng')), { code: 'ENOENT' });
  t.throws(() => attachPcapng(peer, tmpFile(), { filter: { types: [-1] } }), PeerError);
  t.equal(peer.listenerCount('frame'), 0);
});

function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test(
  'tshark reads the file: ports, lengths and checksums',
  { skip: tsharkAvailable() ? false : 'tshark not installed' },
  async (t) => {
    const records: PcapngRecord[] = [
      { ts: 0, channel: 'send', direction: 'tx', role: 'backup', frame: hello(0) },
      { ts: 1, channel: 'receive', direction: 'rx', role: 'backup', frame: opaque(0, 150_000) },
      { ts: 2, channel: 'send', direction: 'tx', role: 'backup', frame: drop(1) },
    ];
    const path = join(dir, 'tshark.pcapng');
    const bytes = buildPcapng(records);
    writeFileSync(path, bytes);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        path,
        '-o',
        'tcp.check_checksum:TRUE',
        '-o',
        'ip.check_checksum:TRUE',
        '-T',
        'fields',
        '-e',
        'tcp.srcport',
        '-e',
        'tcp.len',
        '-e',
        'ip.checksum.status',
        '-e',
        'tcp.checksum.status',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const cap = readPcapng(bytes);
    t.same(
      rows.map((r) => [Number(r[0]), Number(r[1])]),
      cap.packets.map((p) => [p.sport, p.payload.byteLength]),
      'every packet, with its port and length',
    );
    t.ok(
      rows.every((r) => r[2] === '1' && r[3] === '1'),
      'tshark finds the IPv4 and TCP checksums good',
    );
  },
);
