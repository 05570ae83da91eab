/**
 * The two nodes of `kkcm demo` and the traffic between them: each node is a reference peer
 * on a DemoTransport with the four illustrative clients counting what they receive; the
 * master's application side replicates sockets (IHA, SDRL, PSRM, PRL) to the backup.
 *
 * @module
 */
import {
  Direction,
  IpProtocol,
  TcpState,
  TeardownReason,
  type ClientName,
  type KnownMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import { KkcmPeer, tcpTransport } from '../../reference-impl/src/index.js';
import { registerCountingClients, type ClientCounterSet, type IllustrativeClient } from './clients.js';
import { DemoTransport, type PortDirectory } from './demo-transport.js';

/** Logical addresses of the two nodes, as on a router (see DemoTransport). */
const LOGICAL_PORTS = [7000, 7001] as const;
const HOST = '127.0.0.1';
/** How often the master's application side sends a round of traffic. */
const TRAFFIC_INTERVAL_MS = 20;

/** What a node's application side sent through its peer. */
export interface SentCounters {
  messages: number;
  failed: number;
  confirmRequested: number;
  confirmed: number;
}

/** One node of the demo router. */
export interface DemoNode {
  readonly name: string;
  readonly peer: KkcmPeer;
  readonly transport: DemoTransport;
  readonly counters: ClientCounterSet;
  readonly sent: SentCounters;
  /** Cleanups seen by each client during the current step: `reason (detail)`. */
  step: Partial<Record<IllustrativeClient, string>>;
}

/** Sends through a node's peer and counts the outcome (a failed send is a session that went down). */
function sendFrom(node: DemoNode, client: ClientName, msg: MessageInput, confirm = false): void {
  node.sent.messages++;
  if (confirm) node.sent.confirmRequested++;
  node.peer.send(client, msg, { confirm }).then(
    () => {
      if (confirm) node.sent.confirmed++;
    },
    // A send fails when the session went down under it: that is what the demo shows.
    () => {
      node.sent.failed++;
    },
  );
}

/** The application side of the master: replicated sockets coming and going. */
export class Traffic {
  private timer: ReturnType<typeof setInterval> | undefined;
  private round = 0;
  private nextHandle = 1;
  private readonly open: number[] = [];
  private offset = 0n;

  constructor(private readonly nodes: readonly DemoNode[]) {}

  start(): void {
    this.timer ??= setInterval(this.tick, TRAFFIC_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const from = this.nodes.find((n) => n.peer.role === 'master' && n.peer.sessionUp);
    if (from === undefined) return;
    this.round++;
    // IHA: a new replicated socket every 10 rounds; the oldest goes when more than 4 are open.
    if (this.open.length === 0 || this.round % 10 === 0) {
      const handle = this.nextHandle++;
      this.open.push(handle);
      sendFrom(from, 'iha', {
        name: 'iha.handleSetupV4',
        body: {
          handle,
          protocol: IpProtocol.tcp,
          localPort: 179,
          remotePort: 30000 + handle,
          localAddress: '192.0.2.1',
          remoteAddress: `198.51.100.${handle % 250}`,
          appName: 'rpd',
        },
      });
    }
    if (this.open.length > 4)
      sendFrom(from, 'iha', {
        name: 'iha.handleTeardown',
        body: { handle: this.open.shift()!, reason: TeardownReason.closed },
      });
    const handle = this.open[this.round % this.open.length]!;
    const data = new Uint8Array(64 + (this.round % 8) * 32).fill(this.round & 0xff);
    sendFrom(from, 'sdrl', { name: 'sdrl.socketData', body: { handle, streamOffset: this.offset, data } });
    this.offset += BigInt(data.byteLength);
    sendFrom(from, 'psrm', {
      name: 'psrm.tcpState',
      body: {
        handle,
        state: TcpState.established,
        windowScale: 7,
        mss: 1460,
        sndUna: this.round * 100,
        sndNxt: this.round * 100 + 64,
        rcvNxt: this.round * 50,
        rcvWindow: 65535,
        tsRecent: this.round,
        rttMicros: 850,
      },
    });
    const packet = new Uint8Array(60);
    packet[0] = 0x45;
    // PRL: every fourth packet asks for delivery confirmation.
    sendFrom(
      from,
      'prl',
      {
        name: 'prl.packet',
        body: {
          handle,
          direction: Direction.inbound,
          ifIndex: 3,
          timestampNs: BigInt(Date.now()) * 1_000_000n,
          packet,
        },
      },
      this.round % 4 === 0,
    );
  };
}

/**
 * A node of the demo, the RE in slot `index` of a dual-RE chassis (design 7.2.b.2): master
 * for index 0, backup for 1 at start. RE0 listens on its logical port and RE1 connects to it,
 * whatever their roles, through every switchover; so RE0 has no connect address, RE1 no
 * listen address.
 */
export function makeNode(name: string, index: 0 | 1, directory: PortDirectory): DemoNode {
  const transport = new DemoTransport(tcpTransport, directory);
  const peer = new KkcmPeer({
    role: index === 0 ? 'master' : 'backup',
    topology: 'dual-re',
    slot: index,
    ...(index === 0
      ? { listen: { host: HOST, port: LOGICAL_PORTS[0] } }
      : { connect: { host: HOST, port: LOGICAL_PORTS[0] } }),
    nodeName: name,
    transport,
    periodicMs: 200,
    lingerMs: 500,
    handshakeTimeoutMs: 2000,
    backoff: { initialMs: 50, maxMs: 400 },
  });
  const sent: SentCounters = { messages: 0, failed: 0, confirmRequested: 0, confirmed: 0 };
  const node: DemoNode = {
    name,
    peer,
    transport,
    sent,
    step: {},
    counters: registerCountingClients(peer, {
      onMessage: (client, msg: KnownMessage) => {
        // The backup's SDRL confirms what it stored, on the same channel.
        if (client === 'sdrl' && msg.name === 'sdrl.socketData') {
          sendFrom(node, 'sdrl', {
            name: 'sdrl.socketDataAck',
            body: { handle: msg.body.handle, streamOffset: msg.body.streamOffset + BigInt(msg.body.data.byteLength) },
          });
        }
      },
      onCleanup: (client, info) => {
        node.step[client] = `${info.reason} (${info.detail})`;
      },
    }),
  };
  return node;
}
