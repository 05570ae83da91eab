/**
 * The Wireshark dissector over a real trace: two reference peers exchange every client
 * message a golden vector holds over loopback TCP, the master writes a pcapng trace, and
 * tshark with the dissector shows every message the master traced, on its channel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  decodeMessage,
  messageFromJson,
  messageToJson,
  type ChannelName,
  type ClientName,
  type KnownMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import {
  attachPcapng,
  KkcmPeer,
  PCAPNG_ENDPOINTS,
  PCAPNG_MAX_SEGMENT,
  type PeerEvent,
} from '../../reference-impl/src/index.js';
import { loadSpec, loadVectors, type VectorMessage } from '../../spec/src/index.js';
import { checkClean, compareStream, tshark, tsharkMissing } from './tshark.js';

const { valid } = loadVectors();
const skip = tsharkMissing();
const channelIds = Object.fromEntries(loadSpec().channels.map((c) => [c.name, c.id])) as Record<ChannelName, number>;
const dir = mkdtempSync(join(tmpdir(), 'kkcm-dissector-trace-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function sessionUp(peer: KkcmPeer): Promise<void> {
  return new Promise((resolve) => {
    const onEvent = (e: PeerEvent): void => {
      if (e.event !== 'session-up') return;
      peer.off('event', onEvent);
      resolve();
    };
    peer.on('event', onEvent);
  });
}

/** Registers the four clients; the promise resolves once `count` messages were delivered. */
function receiver(peer: KkcmPeer, count: number): Promise<void> {
  return new Promise((resolve) => {
    let received = 0;
    const message = (): void => {
      received++;
      if (received === count) resolve();
    };
    for (const client of ['iha', 'sdrl', 'psrm', 'prl'] as const) peer.register(client, { message });
  });
}

t.test(
  'tshark decodes the pcapng trace of two reference peers exchanging traffic over loopback TCP',
  { skip },
  async (t) => {
    // Every message of the four clients that a golden vector holds, sent by each side.
    const outgoing = valid
      .flatMap((v) => (v.expect as { messages: VectorMessage[] }).messages)
      .filter((m) => m.name !== null && ['iha', 'sdrl', 'psrm', 'prl'].includes(m.name.split('.')[0]!))
      .map((m) => ({
        client: m.name!.split('.')[0] as ClientName,
        input: messageFromJson({ name: m.name, body: m.body }) as MessageInput,
      }));
    t.same([...new Set(outgoing.map((o) => o.client))].sort(), ['iha', 'prl', 'psrm', 'sdrl'], 'the four clients send');
    // And one message larger than a trace segment (PCAPNG_MAX_SEGMENT): reassembled from several.
    outgoing.push({
      client: 'prl',
      input: {
        name: 'prl.opaque',
        body: { data: new Uint8Array(PCAPNG_MAX_SEGMENT + 1000).map((_, i) => i % 251) },
      } as MessageInput,
    });

    const master = new KkcmPeer({ role: 'master', listen: { host: '127.0.0.1', port: 0 }, nodeName: 're0' });
    const traced: { channel: ChannelName; direction: 'tx' | 'rx'; frame: Uint8Array }[] = [];
    master.on('frame', (channel, direction, frame) =>
      traced.push({ channel, direction, frame: Uint8Array.from(frame) }),
    );
    const writer = attachPcapng(master, join(dir, 'peers.pcapng'));
    const masterGot = receiver(master, outgoing.length);
    const up = [sessionUp(master)];
    await master.configure();
    const backup = new KkcmPeer({
      role: 'backup',
      connect: { host: '127.0.0.1', port: master.listenAddress?.port ?? 0 },
      nodeName: 're1',
    });
    const backupGot = receiver(backup, outgoing.length);
    up.push(sessionUp(backup));
    await backup.configure();
    await Promise.all(up);
    for (const o of outgoing) await master.send(o.client, o.input);
    // Half of the backup's messages ask for delivery confirmation: ACKs travel too.
    await Promise.all(outgoing.map((o, i) => backup.send(o.client, o.input, { confirm: i % 2 === 0 })));
    await Promise.all([masterGot, backupGot]);
    await backup.stop();
    await master.stop();
    await writer.close();
    t.equal(writer.dropped, 0, 'the trace dropped nothing');

    const run = tshark(join(dir, 'peers.pcapng'), [], PCAPNG_ENDPOINTS.master.port);
    checkClean(t, run, 'peer trace');
    const ports: Record<number, ChannelName> = {
      [PCAPNG_ENDPOINTS.firstPort.send]: 'send',
      [PCAPNG_ENDPOINTS.firstPort.receive]: 'receive',
    };
    for (const channel of ['send', 'receive'] as const) {
      for (const direction of ['tx', 'rx'] as const) {
        const frames = traced.filter((x) => x.channel === channel && x.direction === direction);
        const expected = frames.map((x) => ({
          id: `${channel} ${direction}`,
          msg: messageToJson(
            decodeMessage(x.frame, { anyVersion: true, maxMessage: 16 * 1024 * 1024 }) as KnownMessage,
          ) as VectorMessage,
          bytes: x.frame,
        }));
        // The master is the server in the trace: what it sent comes from the server side.
        const shown = run.messages.filter(
          (m) => ports[m.clientPort] === channel && m.fromClient === (direction === 'rx'),
        );
        t.ok(expected.length > 0, `${channel} ${direction}: the master traced messages`);
        compareStream(t, `peer trace ${channel} ${direction}`, shown, expected, () => []);
        t.ok(
          shown.every((d) => d.fields.get('jsripc.channel')?.[0] === String(channelIds[channel])),
          `${channel} ${direction}: every message is on the ${channel} channel`,
        );
      }
    }
    const names = new Set(run.messages.map((m) => m.fields.get('jsripc.msg')?.[0]));
    for (const name of [
      'control.hello',
      'control.helloAck',
      'control.ack',
      'control.shutdown',
      'iha.handleSetupV4',
      'sdrl.socketData',
      'psrm.stateBatch',
      'prl.packet',
    ])
      t.ok(names.has(name), `${name} is in the trace`);
  },
);
