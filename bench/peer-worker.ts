/**
 * One reference peer in its own process, for the end-to-end benchmark, driven over IPC by
 * `e2e.ts` (see `workload.ts` for the commands). Side `a` is the master (it listens, sends
 * and pings); side `b` is the backup (it connects, receives and echoes).
 *
 * Every client type the benchmark sends to is registered with a handler that counts the
 * message and reads its handle, as a client would. PRL OPAQUE is the echo: side `b`'s PRL
 * handler sends the data back in a new OPAQUE, side `a`'s handler takes it as the answer to
 * the ping whose token its first four bytes carry. Started by `e2e.ts` (through `workers.ts`)
 * under `node --import tsx --expose-gc` and the heap options of `e2e.ts`.
 *
 * @module
 */
import { HEADER_SIZE, type KnownMessage } from '../codec/src/index.js';
import { KkcmPeer, type PeerEvent } from '../reference-impl/src/index.js';
import { kindIndex, messageInput, payloadOf, serveCommands, type BenchEndpoint, type EndpointSink, type InitCommand, type Kind } from './workload.js';

const HOST = '127.0.0.1';

/** Client type of each kind. */
const CLIENT_OF: Readonly<Record<Kind, 'prl' | 'sdrl' | 'iha' | 'psrm'>> = {
  'prl.packet': 'prl',
  'sdrl.socketData': 'sdrl',
  'iha.asyncNotify': 'iha',
  'psrm.tcpState': 'psrm',
};

/** Options of every send: wait for room when the queue is full (one object, not one per message). */
const WAIT = { wait: true } as const;

async function start(init: InitCommand, sink: EndpointSink): Promise<BenchEndpoint> {
  const common = { nodeName: `bench-${init.side}`, deadConnectionMs: init.deadConnectionMs };
  const peer = init.side === 'a'
    ? new KkcmPeer({ role: 'master', listen: { host: HOST, port: 0 }, ...common })
    : new KkcmPeer({ role: 'backup', connect: { host: HOST, port: init.port ?? 0 }, ...common });
  // An `event` listener receives every message as a tx or rx event (one object each), so
  // this one is removed as soon as the session is up: a session that drops during a case
  // shows as a failed send (ERR_SESSION_DOWN, ERR_NO_SESSION), which stops the benchmark.
  const up = new Promise<void>((resolve) => {
    const onEvent = (e: PeerEvent): void => {
      if (e.event !== 'session-up') return;
      peer.off('event', onEvent);
      resolve();
    };
    peer.on('event', onEvent);
  });

  const count = (msg: KnownMessage): void => {
    const body = msg.body as { handle?: number };
    sink.received(kindIndex(msg.name), msg.header.length, body.handle ?? 0);
  };
  const echo = init.side === 'b';
  peer.register('prl', {
    message: (msg) => {
      if (msg.name !== 'prl.opaque') {
        count(msg);
        return;
      }
      const data = msg.body.data;
      if (echo) {
        // The data is a view into the socket's chunk; send copies it as it encodes.
        peer.send('prl', { name: 'prl.opaque', body: { data } }, WAIT).catch(() => undefined);
      } else {
        sink.pong(new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0));
      }
    },
  });
  peer.register('sdrl', { message: count });
  peer.register('iha', { message: count });
  peer.register('psrm', { message: count });

  await peer.configure();
  return {
    port: peer.listenAddress?.port ?? 0,
    ready: up,
    send: (load, i) => peer.send(CLIENT_OF[load.kind], messageInput(load, i), WAIT),
    ping(token, size) {
      const data = Uint8Array.from(payloadOf(size - HEADER_SIZE));
      new DataView(data.buffer).setUint32(0, token);
      peer.send('prl', { name: 'prl.opaque', body: { data } }, WAIT).catch(() => undefined);
    },
    queuedBytes() {
      const q = peer.status().queues;
      return q.send.bytes + q.receive.bytes;
    },
    close: () => peer.stop(),
  };
}

serveCommands(start);
