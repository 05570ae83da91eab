/**
 * An in-memory {@link Transport}: listeners and connections inside one process, delivering
 * bytes on the microtask queue. For tests and the embedded demo; no sockets involved.
 *
 * @module
 */
import type { Connection, ConnectionHandlers, Listener, Transport } from './transport.js';

class MemoryConnection implements Connection {
  other: MemoryConnection | undefined;
  private handlers: ConnectionHandlers | undefined;
  private inbox: Uint8Array[] = [];
  private closed = false;
  private closeError: Error | undefined;
  private ending = false;

  constructor(
    readonly remote: string,
    readonly remoteHost: string,
  ) {}

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    this.flush();
  }

  write(chunks: readonly Uint8Array[]): boolean {
    const peer = this.other;
    if (this.closed || this.ending || peer === undefined) return false;
    // Copy: the writer may reuse its buffers once write returns.
    for (const c of chunks) peer.receive(Uint8Array.from(c));
    return true;
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    queueMicrotask(() => {
      this.other?.hangUp(undefined);
      this.hangUp(undefined);
    });
  }

  destroy(): void {
    if (this.closed) return;
    this.other?.hangUp(new Error('ECONNRESET'));
    this.hangUp(undefined);
  }

  private receive(chunk: Uint8Array): void {
    this.inbox.push(chunk);
    queueMicrotask(() => this.flush());
  }

  private hangUp(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const h = this.handlers;
    if (h === undefined) return;
    while (this.inbox.length > 0) h.data(this.inbox.shift()!);
    if (this.closed) {
      this.handlers = undefined;
      h.close(this.closeError);
    }
  }
}

/** An in-memory transport; `host` names are free-form, ports are allocated from 1. */
export class MemoryTransport implements Transport {
  private readonly listeners = new Map<string, (c: Connection) => void>();
  private nextPort = 40000;
  private nextClientPort = 50000;
  /** Connection attempts refused because nothing listened. */
  refused = 0;

  listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
    const actual = port === 0 ? this.nextPort++ : port;
    const key = `${host}:${actual}`;
    if (this.listeners.has(key))
      return Promise.reject(Object.assign(new Error(`EADDRINUSE ${key}`), { code: 'EADDRINUSE' }));
    this.listeners.set(key, onConnection);
    return Promise.resolve({
      host,
      port: actual,
      close: () => {
        this.listeners.delete(key);
        return Promise.resolve();
      },
    });
  }

  connect(host: string, port: number): Promise<Connection> {
    const accept = this.listeners.get(`${host}:${port}`);
    if (accept === undefined) {
      this.refused++;
      return Promise.reject(Object.assign(new Error(`ECONNREFUSED ${host}:${port}`), { code: 'ECONNREFUSED' }));
    }
    const clientPort = this.nextClientPort++;
    const client = new MemoryConnection(`${host}:${port}`, host);
    const server = new MemoryConnection(`memory:${clientPort}`, 'memory');
    client.other = server;
    server.other = client;
    accept(server);
    return Promise.resolve(client);
  }
}
