/**
 * Large messages over real TCP: the connecting side reads into one reused buffer and reuses a
 * large straddling message's buffer for the next (a handler's message is its own until it
 * returns), and `transfer` writes a large payload as it is behind the message's head. Every
 * byte arrives as sent; the caller's handed-over bytes are written as they are, never copied
 * and never recycled; a payload under 4 KiB is copied; a traced message in two parts is traced
 * whole; a message held before the session is up keeps its bytes.
 */
import t, { type Test } from 'tap';
import { encodeMessage, decodeClientMessage, toHex, type MessageInput } from '../../codec/src/index.js';
import { KkcmPeer, type PeerEvent } from '../src/index.js';

const HOST = '127.0.0.1';

/** A payload whose every byte says which message it belongs to. */
const payload = (index: number, size: number): Uint8Array => {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (index * 7 + i) & 0xff;
  return p;
};

const packet = (handle: number, data: Uint8Array): MessageInput => ({
  name: 'prl.packet',
  body: { handle, direction: 1, ifIndex: 2, timestampNs: 5n, packet: data },
});

async function tcpPair(t: Test): Promise<{ master: KkcmPeer; backup: KkcmPeer }> {
  const master = new KkcmPeer({ role: 'master', listen: { host: HOST, port: 0 }, nodeName: 're0' });
  await master.configure();
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: HOST, port: master.listenAddress!.port },
    nodeName: 're1',
  });
  const up = (p: KkcmPeer): Promise<PeerEvent> => p.waitFor((e) => e.event === 'session-up');
  const ups = Promise.all([up(master), up(backup)]);
  await backup.configure();
  await ups;
  t.teardown(async () => {
    await backup.stop();
    await master.stop();
  });
  return { master, backup };
}

/** Resolves once `n` PACKETs reached the backup's PRL handler, checking each one there. */
function receive(backup: KkcmPeer, n: number, check: (handle: number, data: Uint8Array) => void): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    if (backup.status().clients.includes('prl')) backup.unregister('prl');
    backup.register('prl', {
      message: (raw) => {
        const msg = decodeClientMessage(raw);
        if (msg.name !== 'prl.packet') return;
        // Checked here: the bytes are the handler's until it returns.
        check(msg.body.handle, msg.body.packet);
        if (++got === n) resolve();
      },
    });
  });
}

t.test('large messages, copied and handed over, arrive intact through the reused read buffers', async (t) => {
  const { master, backup } = await tcpPair(t);
  const sizes = [65536 - 36, 9000, 70000, 4096, 100, 200000, 65500];
  const count = 120;
  const bad: string[] = [];
  const done = receive(backup, count, (handle, data) => {
    const size = sizes[handle % sizes.length]!;
    if (toHex(data) !== toHex(payload(handle, size))) bad.push(`message ${handle} (${size} bytes)`);
  });
  for (let i = 0; i < count; i++)
    await master.send('prl', packet(i, payload(i, sizes[i % sizes.length]!)), { wait: true, transfer: i % 2 === 0 });
  await done;
  t.same(bad, [], `${count} messages of up to 200,000 bytes, every byte as sent`);
});

t.test("transfer: the caller's large payload is written as it is; a small one is copied", async (t) => {
  const { master, backup } = await tcpPair(t);
  const seen: string[] = [];
  const done = receive(backup, 4, (_handle, data) => seen.push(toHex(data.subarray(0, 4))));
  const large = payload(1, 8192);
  const small = payload(2, 1000);
  const largeCopied = payload(3, 8192);
  // Changed right after the call, before the link's flush (an immediate) wrote anything: a
  // payload handed over shows the change, a copied one does not. (A real caller never changes
  // what it handed over: this only shows whether the peer copied.)
  t.ok(master.trySend('prl', packet(1, large), { transfer: true }));
  t.ok(master.trySend('prl', packet(2, small), { transfer: true }));
  t.ok(master.trySend('prl', packet(3, largeCopied)));
  await master.send('prl', packet(4, payload(4, 16)), { transfer: true });
  large.fill(0xaa, 0, 4);
  small.fill(0xbb, 0, 4);
  largeCopied.fill(0xcc, 0, 4);
  await done;
  t.same(
    seen,
    ['aaaaaaaa', toHex(payload(2, 4)), toHex(payload(3, 4)), toHex(payload(4, 4))],
    '8 KiB handed over: written as it is; 1000 bytes with transfer and 8 KiB without: copied at the call',
  );
});

t.test('a handed-over payload is never recycled into another message', async (t) => {
  const { master, backup } = await tcpPair(t);
  const handedOver = Array.from({ length: 6 }, (_, i) => payload(100 + i, 65536));
  const before = handedOver.map((p) => toHex(p));
  let n = 0;
  const first = receive(backup, 6, () => n++);
  for (let i = 0; i < 6; i++) await master.send('prl', packet(i, handedOver[i]!), { wait: true, transfer: true });
  await first;
  // The transport drained: buffers written before it are the recycler's again. Copying sends
  // of the same size now take recycled buffers: never one of the caller's.
  const second = receive(backup, 12, () => n++);
  for (let i = 0; i < 12; i++) await master.send('prl', packet(i, payload(200 + i, 65536 - 36)), { wait: true });
  await second;
  t.equal(n, 18);
  t.same(
    handedOver.map((p) => toHex(p)),
    before,
    'the handed-over payloads are as they were',
  );
});

t.test('a message in two parts is traced whole', async (t) => {
  const { master, backup } = await tcpPair(t);
  const frames: string[] = [];
  master.on('frame', (_channel, direction, frame) => {
    if (direction === 'tx' && frame[6] === 0x20) frames.push(toHex(frame));
  });
  const msg = packet(7, payload(7, 10000));
  const done = receive(backup, 1, () => undefined);
  await master.send('prl', msg, { transfer: true });
  await done;
  const expected = Buffer.from(encodeMessage(msg));
  t.equal(frames.length, 1, 'one frame event');
  // The sequence number and version are stamped by the link: compare the rest.
  const got = Buffer.from(frames[0]!, 'hex');
  t.equal(got.byteLength, expected.byteLength, 'the whole message');
  t.equal(toHex(got.subarray(16)), toHex(expected.subarray(16)), 'its body, payload included');
});
