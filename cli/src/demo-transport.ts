/**
 * The demo's transport: real loopback TCP on ephemeral ports, behind fixed logical
 * endpoints, with a way to cut a connection.
 *
 * Both demo peers are configured as on a router, with fixed addresses (`127.0.0.1:7000`
 * for one node, `:7001` for the other) so that the roles can swap after a switchover. The
 * transport maps each logical port to the ephemeral port its listener actually got, so the
 * demo never needs a free fixed port. `cut()` breaks a connection the way a failing socket
 * does, for the socket-I/O-error step (design 6.2.1, JSR_CLEANUP_NSR_IO_ERR).
 *
 * @module
 */
import type { Connection, ConnectionHandlers, Listener, Transport } from '../../reference-impl/src/index.js';

/** Logical port → the ephemeral port listening for it. Shared by the demo's transports. */
export type PortDirectory = Map<number, number>;

/** A connection that the demo can break. */
class CuttableConnection implements Connection {
  private handlers: ConnectionHandlers | undefined;
  private cutDone = false;

  constructor(
    private readonly inner: Connection,
    private readonly onGone: (c: CuttableConnection) => void,
  ) {}

  get remote(): string {
    return this.inner.remote;
  }

  get remoteHost(): string {
    return this.inner.remoteHost;
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    this.inner.attach({
      data: (chunk) => handlers.data(chunk),
      drain: () => handlers.drain(),
      close: (error) => {
        this.onGone(this);
        if (!this.cutDone) handlers.close(error);
      },
    });
  }

  write(chunks: readonly Uint8Array[]): boolean {
    return this.cutDone ? false : this.inner.write(chunks);
  }

  end(): void {
    this.inner.end();
  }

  destroy(): void {
    this.onGone(this);
    this.inner.destroy();
  }

  /** Breaks the connection: the owner sees a reset, the other side an end of stream. */
  cut(): void {
    if (this.cutDone) return;
    this.cutDone = true;
    this.inner.destroy();
    this.handlers?.close(Object.assign(new Error('ECONNRESET (connection cut by the demo)'), { code: 'ECONNRESET' }));
  }
}

/** A {@link Transport} over another one (TCP) with logical ports and `cut()`. */
export class DemoTransport implements Transport {
  private readonly live = new Set<CuttableConnection>();

  /**
   * @param inner the real transport (the peer's TCP transport).
   * @param directory shared by every node of the demo.
   */
  constructor(
    private readonly inner: Transport,
    private readonly directory: PortDirectory,
  ) {}

  /** Listens on an ephemeral port and publishes it under the logical `port`. */
  async listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
    const listener = await this.inner.listen(host, 0, (c) => onConnection(this.track(c)));
    this.directory.set(port, listener.port);
    return {
      host: listener.host,
      port: listener.port,
      close: async () => {
        if (this.directory.get(port) === listener.port) this.directory.delete(port);
        await listener.close();
      },
    };
  }

  /**
   * Connects to whoever listens under the logical `port`.
   *
   * @throws an `ECONNREFUSED` error when nobody does.
   */
  async connect(host: string, port: number): Promise<Connection> {
    const actual = this.directory.get(port);
    if (actual === undefined)
      throw Object.assign(new Error(`connect ECONNREFUSED ${host}:${port} (nobody listens)`), { code: 'ECONNREFUSED' });
    return this.track(await this.inner.connect(host, actual));
  }

  /** Number of open connections made or accepted through this transport. */
  get connections(): number {
    return this.live.size;
  }

  /**
   * Cuts the oldest open connection.
   *
   * @returns false when there was none.
   */
  cut(): boolean {
    const first = this.live.values().next();
    if (first.done === true) return false;
    this.live.delete(first.value);
    first.value.cut();
    return true;
  }

  private track(c: Connection): CuttableConnection {
    const wrapped = new CuttableConnection(c, (gone) => this.live.delete(gone));
    this.live.add(wrapped);
    return wrapped;
  }
}
