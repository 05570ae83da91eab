/**
 * Test helpers: a pair of peers over the memory transport, a raw scripted connection, a
 * transport whose connections can be stalled or cut.
 */
import {
  decodeClientMessage,
  decodeMessage,
  encodeMessage,
  Framer,
  type ClientMessage,
  type ControlHelloBody,
  type DecodedMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import {
  KkcmPeer,
  ManualClock,
  MemoryTransport,
  type PeerEvent,
  type PeerOptions,
  type Transport,
} from '../src/index.js';
import type { Connection, ConnectionHandlers, Listener } from '../src/transport.js';

/**
 * The handle field of a client message, decoded the way a client that uses the spec's
 * illustrative layouts decodes its own body (KKCM hands it over undecoded).
 */
export function handleOf(m: ClientMessage): number {
  return (decodeClientMessage(m).body as { handle: number }).handle;
}

/** Lets queued microtasks and immediates run (I/O of the memory transport, flushes). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A transport wrapper whose connections can be stalled (writes buffered) or cut. */
export class FaultyTransport implements Transport {
  readonly connections: FaultyConnection[] = [];
  constructor(private readonly inner: Transport) {}

  async listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
    return this.inner.listen(host, port, (c) => onConnection(this.wrap(c)));
  }

  async connect(host: string, port: number): Promise<Connection> {
    return this.wrap(await this.inner.connect(host, port));
  }

  private wrap(c: Connection): FaultyConnection {
    const f = new FaultyConnection(c);
    this.connections.push(f);
    return f;
  }
}

/** A connection that can refuse to write (stall) and release later. */
export class FaultyConnection implements Connection {
  stalled = false;
  private held: Uint8Array[] = [];
  private handlers: ConnectionHandlers | undefined;
  constructor(private readonly inner: Connection) {}
  get remote(): string {
    return this.inner.remote;
  }
  get remoteHost(): string {
    return this.inner.remoteHost;
  }
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    this.inner.attach(handlers);
  }
  write(chunks: readonly Uint8Array[]): boolean {
    if (this.stalled) {
      this.held.push(...chunks);
      return false;
    }
    return this.inner.write(chunks);
  }
  /** Writes what was held and signals drain. */
  release(): void {
    this.stalled = false;
    const held = this.held;
    this.held = [];
    if (held.length > 0) this.inner.write(held);
    this.handlers?.drain();
  }
  end(): void {
    this.inner.end();
  }
  destroy(): void {
    this.inner.destroy();
  }
}

/** Two peers over one memory transport with a manual clock, events recorded. */
export interface Pair {
  readonly clock: ManualClock;
  readonly transport: MemoryTransport;
  readonly master: KkcmPeer;
  readonly backup: KkcmPeer;
  readonly events: { master: PeerEvent[]; backup: PeerEvent[] };
}

/** Builds a master and a backup; `configure` both and bring the session up when `up`. */
export async function pair(
  options: { up?: boolean; master?: Partial<PeerOptions>; backup?: Partial<PeerOptions>; transport?: Transport } = {},
): Promise<Pair & { transportUsed: Transport }> {
  const clock = new ManualClock();
  const transport = new MemoryTransport();
  const used = options.transport ?? transport;
  const master = new KkcmPeer({
    role: 'master',
    listen: { host: 'm', port: 7000 },
    connect: { host: 'b', port: 7001 },
    transport: used,
    clock,
    nodeName: 're0',
    random: () => 0.5,
    ...options.master,
  });
  const backup = new KkcmPeer({
    role: 'backup',
    connect: { host: 'm', port: 7000 },
    listen: { host: 'b', port: 7001 },
    transport: used,
    clock,
    nodeName: 're1',
    random: () => 0.5,
    ...options.backup,
  });
  const events = { master: [] as PeerEvent[], backup: [] as PeerEvent[] };
  master.on('event', (e) => events.master.push(e));
  backup.on('event', (e) => events.backup.push(e));
  if (options.up !== false) {
    await master.configure();
    await backup.configure();
    clock.advance(0);
    await settle();
  }
  return { clock, transport, master, backup, events, transportUsed: used };
}

/** A scripted raw connection speaking bytes to a peer: for negative tests. */
export class RawClient {
  readonly received: DecodedMessage[] = [];
  readonly framer = new Framer({ maxMessage: 16 * 1024 * 1024, anyVersion: true });
  closed = false;
  closeError: Error | undefined;
  seq = 0;
  decodeError: unknown;

  private constructor(readonly connection: Connection) {
    connection.attach({
      data: (chunk) => {
        try {
          for (const f of this.framer.push(chunk))
            this.received.push(decodeMessage(f, { maxMessage: 16 * 1024 * 1024, anyVersion: true }));
        } catch (err) {
          this.decodeError = err;
        }
      },
      drain: () => undefined,
      close: (err) => {
        this.closed = true;
        this.closeError = err;
      },
    });
  }

  static async connect(transport: Transport, host = 'm', port = 7000): Promise<RawClient> {
    return new RawClient(await transport.connect(host, port));
  }

  /** Listens at host:port and resolves with the first connection made to it, as a raw client. */
  static async accept(
    transport: Transport,
    host: string,
    port: number,
  ): Promise<{ next: Promise<RawClient>; listener: Listener }> {
    let resolveNext!: (c: RawClient) => void;
    const next = new Promise<RawClient>((resolve) => (resolveNext = resolve));
    const listener = await transport.listen(host, port, (c) => resolveNext(new RawClient(c)));
    return { next, listener };
  }

  /** Sends a message with the next sequence number. */
  send(msg: MessageInput): void {
    this.connection.write([encodeMessage({ ...msg, seq: msg.seq ?? this.seq } as MessageInput)]);
    this.seq = (msg.seq ?? this.seq) + 1;
  }

  /** Sends raw bytes. */
  sendBytes(bytes: Uint8Array): void {
    this.connection.write([bytes]);
  }

  /** A HELLO body for a backup on `channel`. */
  static hello(
    channel: 'send' | 'receive',
    sessionId: bigint,
    extra: Partial<ControlHelloBody> = {},
  ): ControlHelloBody {
    return {
      minVersion: 1,
      maxVersion: 1,
      role: 2,
      channel: channel === 'send' ? 1 : 2,
      features: 3,
      nodeId: 9,
      maxMessage: 262144,
      sessionId,
      nodeName: 'raw',
      ...extra,
    };
  }

  names(): (string | null)[] {
    return this.received.map((m) => m.name);
  }

  last(): DecodedMessage | undefined {
    return this.received[this.received.length - 1];
  }
}
