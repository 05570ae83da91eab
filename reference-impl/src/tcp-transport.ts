/**
 * The {@link Transport} over TCP (Node's `net`), with Nagle off and keep-alive on.
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Connection, ConnectionHandlers, Listener, Transport } from './transport.js';

const KEEPALIVE_MS = 5000;

class TcpConnection implements Connection {
  readonly remote: string;
  readonly remoteHost: string;
  private handlers: ConnectionHandlers | undefined;
  private closed = false;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    this.remoteHost = socket.remoteAddress ?? '?';
    this.remote = `${this.remoteHost}:${String(socket.remotePort ?? '?')}`;
    socket.pause();
    socket.on('data', this.onData);
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
      const socket = createConnection({ host, port });
      const fail = (err: Error): void => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        resolve(new TcpConnection(socket));
      });
    });
  },
};
