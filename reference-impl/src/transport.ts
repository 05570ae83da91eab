/**
 * The transport interface the protocol logic talks to. TCP, TLS and in-memory pipes all
 * implement it, so the session logic never touches `net.Socket`.
 *
 * @module
 */

/** What a connection reports to its owner. */
export interface ConnectionHandlers {
  /** Bytes arrived, in order. */
  data(chunk: Uint8Array): void;
  /** The write buffer drained after `write` returned false. */
  drain(): void;
  /** The connection is gone; `error` is set when it failed rather than ended. */
  close(error?: Error): void;
}

/** One byte-stream connection. */
export interface Connection {
  /** Remote address as `host:port`. */
  readonly remote: string;
  /** Remote host alone (for allow-lists). */
  readonly remoteHost: string;
  /** Installs the handlers; data is not read before this is called. */
  attach(handlers: ConnectionHandlers): void;
  /**
   * Writes chunks in order, as one batch where the transport can.
   *
   * @returns false when the transport's buffer is full: wait for `drain`.
   */
  write(chunks: readonly Uint8Array[]): boolean;
  /** Closes after the written bytes are flushed. */
  end(): void;
  /** Closes at once, discarding unsent bytes. */
  destroy(): void;
}

/** A listening endpoint. */
export interface Listener {
  /** Actual bound address (the port is resolved when 0 was asked). */
  readonly host: string;
  /** Actual bound port. */
  readonly port: number;
  /** Stops accepting; open connections are not touched. */
  close(): Promise<void>;
}

/** Factory of connections and listeners. */
export interface Transport {
  /** Listens; every accepted connection goes to `onConnection`. */
  listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener>;
  /** Connects; rejects with the system error when the connection cannot be made. */
  connect(host: string, port: number): Promise<Connection>;
}
