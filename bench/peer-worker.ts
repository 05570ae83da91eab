/**
 * One reference peer in its own process, for the end-to-end benchmark, driven over IPC by
 * `e2e.ts` (see `workload.ts` for the commands). Side `a` is the master (it listens, sends
 * and pings); side `b` is the backup (it connects, receives and echoes).
 *
 * Every client type the benchmark sends to is registered with a handler that counts the
 * message and reads its handle, as a client would. PRL OPAQUE is the echo: side `b`'s PRL
 * handler sends the data back in a new OPAQUE, side `a`'s handler takes it as the answer to
 * the ping whose token its first four bytes carry.
 *
 * The clients send as the raw baseline's do: synchronously while the queue has room
 * (`trySend`), and with a promise that waits for room once it is full (`send` with `wait`).
 * A load with `promise` set sends every message with `await send(…, { wait: true })`
 * instead, to measure what the promise costs. Started by `e2e.ts` (through `workers.ts`)
 * under `node --import tsx --expose-gc` and the heap options of `e2e.ts`.
 *
 * @module
 */
import { decodeClientMessage, HEADER_SIZE, type ClientMessage, type MessageInput } from '../codec/src/index.js';
import { KkcmPeer, type PeerEvent } from '../reference-impl/src/index.js';
import {
  kindIndex,
  messageInput,
  payloadOf,
  serveCommands,
  type BenchEndpoint,
  type EndpointSink,
  type InitCommand,
  type Kind,
} from './workload.js';

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
const WAIT_TRANSFER = { wait: true, transfer: true } as const;
const TRANSFER = { transfer: true } as const;

async function start(init: InitCommand, sink: EndpointSink): Promise<BenchEndpoint> {
  const common = { nodeName: `bench-${init.side}`, deadConnectionMs: init.deadConnectionMs };
  const peer =
    init.side === 'a'
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

  /**
   * Sends a ping or an echo: at once while there is room, else once there is. A failure is
   * dropped, as the ping's answer then never comes: the orchestrator's timeout reports it.
   */
  const offer = (client: 'prl', msg: MessageInput): void => {
    try {
      if (peer.trySend(client, msg)) return;
    } catch {
      return;
    }
    peer.send(client, msg, WAIT).catch(() => undefined);
  };

  // A client reads its own body: KKCM hands it over undecoded (design 7.2.e).
  const count = (raw: ClientMessage): void => {
    const msg = decodeClientMessage(raw);
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
      // An OPAQUE's body is its data: read as it is, as the raw client reads its bytes.
      const data = msg.body;
      if (echo) {
        // A view into the peer's input, the handler's until it returns: the peer copies it as
        // it encodes, at once.
        offer('prl', { name: 'prl.opaque', body: { data } });
      } else {
        sink.pong(((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0);
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
    send(load, i) {
      const client = CLIENT_OF[load.kind];
      const msg = messageInput(load, i);
      // The payload is handed over (never changed: one shared buffer per size), as the raw
      // client writes it behind the head, unless the load copies.
      const transfer = load.copy !== true;
      if (load.promise !== true && peer.trySend(client, msg, transfer ? TRANSFER : undefined)) return undefined;
      return peer.send(client, msg, transfer ? WAIT_TRANSFER : WAIT);
    },
    ping(token, size) {
      // As the raw baseline: the payload copied, the token written over its first four bytes.
      const data = payloadOf(size - HEADER_SIZE).slice();
      data[0] = token >>> 24;
      data[1] = token >>> 16;
      data[2] = token >>> 8;
      data[3] = token;
      offer('prl', { name: 'prl.opaque', body: { data } });
    },
    queuedBytes() {
      const q = peer.status().queues;
      return q.send.bytes + q.receive.bytes;
    },
    close: () => peer.stop(),
  };
}

serveCommands(start);
