/**
 * The {@link Transport} over TCP (Node's `net`), with Nagle off and keep-alive on.
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Connection, ConnectionHandlers, Listener, Transport } from './transport.js';

const KEEPALIVE_MS = 5000;

/**
 * Size of the buffer a connecting socket reads into, reused for every read (Node's `onread`):
 * large enough for several 64 KiB messages per read, so that most of them arrive whole and
 * are handed over where they lie.
 */
const READ_BUFFER_BYTES = 256 * 1024;

class TcpConnection implements Connection {
  readonly remote: string;
  readonly remoteHost: string;
  private handlers: ConnectionHandlers | undefined;
  private closed = false;
  private failure: Error | undefined;

  /**
   * @param reusedBuffer the socket reads into one buffer of ours (Node's `onread`, given at
   *   its creation), which calls {@link TcpConnection.received}; else it emits `data`.
   */
  constructor(
    private readonly socket: Socket,
    reusedBuffer = false,
  ) {
    this.remoteHost = socket.remoteAddress ?? '?';
    this.remote = `${this.remoteHost}:${String(socket.remotePort ?? '?')}`;
    socket.pause();
    if (!reusedBuffer) socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    if (this.closed) {
      handlers.close(this.failure);
      return;
    }
    // Here, not at accept: a connection shed by a flood defence costs no setsockopt.
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, KEEPALIVE_MS);
    this.socket.resume();
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.closed || this.socket.destroyed) return false;
    if (chunks.length === 1) return this.socket.write(chunks[0]!);
    this.socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.socket.write(c);
    this.socket.uncork();
    return ok;
  }

  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.handlers?.data(chunk);
  };

  /**
   * `bytes` bytes were read into `buffer`, which the next read overwrites: the handler reads
   * them before it returns (the link decodes and dispatches at once; what it keeps, it copies).
   */
  received(bytes: number, buffer: Uint8Array): boolean {
    this.handlers?.data(new Uint8Array(buffer.buffer, buffer.byteOffset, bytes));
    return true;
  }

  private readonly onDrain = (): void => {
    this.handlers?.drain();
  };

  private readonly onError = (err: Error): void => {
    this.failure ??= err;
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('data', this.onData);
    this.socket.off('drain', this.onDrain);
    this.handlers?.close(this.failure);
  };
}

class TcpListener implements Listener {
  constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
    });
  }
}

/** TCP transport. */
export const tcpTransport: Transport = {
  listen(host, port, onConnection) {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true }, (socket) => onConnection(new TcpConnection(socket)));
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        const bound = typeof addr === 'object' && addr !== null ? addr : { address: host, port };
        resolve(new TcpListener(server, bound.address, bound.port));
      });
    });
  },
  connect(host, port) {
    return new Promise((resolve, reject) => {
      // Reads go into one buffer of the connection's instead of a fresh one per read: at full
      // speed, a 64 KiB buffer allocated and freed per read is memory the allocator returns to
      // the kernel and maps in again, page faults that made a receiver's cost per message move
      // between 20 and 250 µs from run to run (docs/performance.md). Node offers this for
      // connecting sockets only: an accepted socket reads as Node does by default.
      let connection: TcpConnection | undefined;
      const socket = createConnection({
        host,
        port,
        onread: {
          buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
          callback: (bytes: number, buffer: Uint8Array) => connection?.received(bytes, buffer) ?? true,
        },
      });
      const fail = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        connection = new TcpConnection(socket, true);
        resolve(connection);
      });
    });
  },
};
