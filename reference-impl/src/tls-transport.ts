/**
 * The {@link Transport} over TLS with mutual authentication (Node's `tls`): each side shows
 * a certificate signed by the configured CA and refuses a side that does not. A listener
 * refuses cleartext: a connection whose first byte does not open a TLS handshake record is
 * closed before any of its bytes is read as KKCM (ERR_TLS_REQUIRED).
 *
 * An accepted connection is handed to the peer at once, before its TLS handshake: the peer's
 * limit on connections that have not finished their handshake and its handshake timeout
 * then cover the TLS handshake too, and a failed one reaches the peer as a connection
 * closed with a coded error (ERR_TLS_REQUIRED, ERR_TLS_HANDSHAKE), which it reports as an
 * `error` event.
 *
 * @module
 */
import { createServer, isIP, type Server, type Socket } from 'node:net';
import {
  checkServerIdentity,
  connect as tlsConnect,
  createServer as createTlsServer,
  type PeerCertificate,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import type { ErrorCode } from '../../codec/src/index.js';
import type { Connection, ConnectionHandlers, Listener, Transport } from './transport.js';

/** Settings of a {@link TlsTransport}. Certificates and keys are PEM text or bytes. */
export interface TlsTransportOptions {
  /** CA certificate(s) that sign the other side's certificate: the only ones trusted. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /** This side's certificate (shown as server when listening, as client when connecting). */
  readonly cert: string | Buffer;
  /** This side's private key. */
  readonly key: string | Buffer;
  /**
   * Name the master's certificate must carry when connecting (its SAN). Default: the host
   * connected to, as a DNS name or an IP address (the certificate then needs an IP SAN).
   */
  readonly serverName?: string;
  /**
   * Replaces the check of the master's name (Node's `tls.checkServerIdentity`), for
   * deployments that identify peers by their CA alone: return an Error to refuse.
   */
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
  /**
   * Time a TLS handshake may take, ms (default 5000). The peer's own handshake timeout runs
   * from the TCP accept as well and usually fires first.
   */
  readonly handshakeTimeoutMs?: number;
}

/** First byte of a TLS record that carries a handshake message (a ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;
const KEEPALIVE_MS = 5000;
/** Idle handshake servers kept for reuse (each costs the parsing of the PEM text). */
const IDLE_SERVERS = 16;

/** An Error with a spec code: the peer reports it in an `error` event. */
function codedError(code: ErrorCode, message: string, cause?: unknown): Error & { code: ErrorCode } {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** True for errors raised by the TLS layer (OpenSSL, or Node's certificate checks). */
function isTlsFailure(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /CERT|VERIFY|SELF_SIGNED|ISSUER/.test(code);
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  // OpenSSL messages end with a source location; the first line is the reason.
  return `${typeof code === 'string' ? `${code}: ` : ''}${err.message.split('\n')[0]!.replace(/^[0-9A-F]+:error:[0-9A-F]+:/, '')}`;
}

/**
 * One TLS connection. An accepted one goes through three phases: `peek` (waiting for the
 * first byte), `handshake` (given to a TLS server), `open`; a connected one starts open.
 * Writes before `open` are dropped: nothing leaves in cleartext.
 */
class TlsConnection implements Connection {
  readonly remote: string;
  readonly remoteHost: string;
  private handlers: ConnectionHandlers | undefined;
  private secure: TLSSocket | undefined;
  private closed = false;
  private failure: Error | undefined;
  /** A TLS failure before any application byte: reported with ERR_TLS_HANDSHAKE. */
  private received = false;

  constructor(
    private readonly raw: Socket,
    private readonly hub: HandshakeServers | undefined,
    secure?: TLSSocket,
  ) {
    this.remoteHost = raw.remoteAddress ?? '?';
    this.remote = `${this.remoteHost}:${String(raw.remotePort ?? '?')}`;
    raw.setNoDelay(true);
    raw.setKeepAlive(true, KEEPALIVE_MS);
    if (secure !== undefined) {
      this.adopt(secure);
    } else {
      raw.on('error', this.onRawError);
      raw.on('close', this.onRawClose);
    }
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    if (this.closed) {
      handlers.close(this.failure);
    } else if (this.secure !== undefined) {
      this.secure.resume();
    } else {
      this.raw.once('data', this.onFirstChunk);
      this.raw.resume();
    }
  }

  write(chunks: readonly Uint8Array[]): boolean {
    const s = this.secure;
    if (s === undefined) return !this.closed;
    if (this.closed || s.destroyed) return false;
    if (chunks.length === 1) return s.write(chunks[0]!);
    s.cork();
    let ok = true;
    for (const c of chunks) ok = s.write(c);
    s.uncork();
    return ok;
  }

  end(): void {
    // Before the handshake there is nothing of ours to flush.
    if (this.secure === undefined) this.raw.destroy();
    else if (!this.secure.destroyed) this.secure.end();
  }

  destroy(): void {
    if (this.secure !== undefined) this.secure.destroy();
    this.raw.destroy();
  }

  /** The first bytes decide: a TLS handshake record goes to a TLS server, anything else is refused. */
  private readonly onFirstChunk = (chunk: Buffer): void => {
    this.raw.pause();
    if (chunk[0] !== TLS_HANDSHAKE_RECORD) {
      this.fail(
        codedError(
          'ERR_TLS_REQUIRED',
          `${this.remote} sent cleartext (first byte 0x${chunk[0]!.toString(16).padStart(2, '0')}) to a peer that requires TLS`,
        ),
      );
      this.raw.destroy();
      return;
    }
    this.raw.unshift(chunk);
    // From here the TLS socket owns the raw one and reports its end.
    this.raw.off('close', this.onRawClose);
    this.hub!.handshake(this.raw, (err, secure) => {
      if (err !== undefined) {
        this.fail(codedError('ERR_TLS_HANDSHAKE', `TLS handshake with ${this.remote} failed: ${describe(err)}`, err));
        this.raw.destroy();
        this.finish();
      } else if (this.closed) {
        secure!.destroy();
      } else {
        this.adopt(secure!);
        secure!.resume();
      }
    });
  };

  private adopt(secure: TLSSocket): void {
    this.secure = secure;
    this.raw.off('error', this.onRawError);
    secure.pause();
    secure.on('data', this.onData);
    secure.on('drain', this.onDrain);
    secure.on('error', this.onSecureError);
    secure.on('close', this.finish);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received = true;
    this.handlers?.data(chunk);
  };

  private readonly onDrain = (): void => {
    this.handlers?.drain();
  };

  private readonly onSecureError = (err: Error): void => {
    // The other side refusing our certificate arrives after our handshake ended (TLS 1.3).
    this.fail(
      !this.received && isTlsFailure(err)
        ? codedError('ERR_TLS_HANDSHAKE', `TLS with ${this.remote} failed: ${describe(err)}`, err)
        : err,
    );
  };

  private readonly onRawError = (err: Error): void => {
    this.fail(err);
  };

  private readonly onRawClose = (): void => {
    this.finish();
  };

  private fail(err: Error): void {
    this.failure ??= err;
  }

  private readonly finish = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.raw.off('data', this.onFirstChunk);
    this.secure?.off('data', this.onData);
    this.secure?.off('drain', this.onDrain);
    this.handlers?.close(this.failure);
  };
}

/** Outcome of one server-side TLS handshake. */
type HandshakeDone = (err: Error | undefined, secure?: TLSSocket) => void;

/**
 * TLS servers that never listen: each is given one raw socket at a time and reports that
 * socket's one outcome (`secureConnection` or `tlsClientError`), so that every outcome
 * belongs to a known connection without reaching into Node's internals. Idle ones are kept,
 * since making one parses the certificates again.
 */
class HandshakeServers {
  private readonly idle: TlsServer[] = [];

  constructor(private readonly options: TlsTransportOptions) {}

  handshake(raw: Socket, done: HandshakeDone): void {
    const server = this.idle.pop() ?? this.make();
    const port = raw.remotePort;
    const address = raw.remoteAddress;
    let settled = false;
    const settle = (err: Error | undefined, secure?: TLSSocket): void => {
      if (settled) return;
      settled = true;
      server.off('secureConnection', onSecure);
      server.off('tlsClientError', onError);
      if (this.idle.length < IDLE_SERVERS) this.idle.push(server);
      done(err, secure);
    };
    // Guards against a late event of an earlier socket: it would name another address.
    const ours = (s: TLSSocket): boolean =>
      s.remotePort === undefined || (s.remotePort === port && s.remoteAddress === address);
    function onSecure(s: TLSSocket): void {
      if (ours(s)) settle(undefined, s);
    }
    function onError(err: Error, s: TLSSocket): void {
      if (ours(s)) settle(err);
    }
    server.on('secureConnection', onSecure);
    server.on('tlsClientError', onError);
    // The documented way to give a server a connection it did not accept itself.
    server.emit('connection', raw);
  }

  private make(): TlsServer {
    const o = this.options;
    return createTlsServer({
      ca: o.ca as string | Buffer | (string | Buffer)[],
      cert: o.cert,
      key: o.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: o.handshakeTimeoutMs ?? 5000,
    });
  }
}

class TlsListener implements Listener {
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

/**
 * TLS transport with mutual authentication: `rejectUnauthorized` both ways, the other side's
 * certificate must be signed by `ca`, and a listener refuses cleartext.
 *
 * Failures come out coded: `connect` rejects with ERR_TLS_HANDSHAKE when the master's
 * certificate is refused (the peer emits an `error` event and `connect-failed`); an
 * accepted connection that sent cleartext closes with ERR_TLS_REQUIRED, one whose client
 * certificate is missing or refused with ERR_TLS_HANDSHAKE (the peer emits an `error`
 * event). Other failures (ECONNREFUSED…) are Node's errors, as with TCP.
 */
export class TlsTransport implements Transport {
  private readonly servers: HandshakeServers;

  constructor(private readonly options: TlsTransportOptions) {
    this.servers = new HandshakeServers(options);
  }

  listen(host: string, port: number, onConnection: (c: Connection) => void): Promise<Listener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true }, (socket) =>
        onConnection(new TlsConnection(socket, this.servers)),
      );
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        const bound = typeof addr === 'object' && addr !== null ? addr : { address: host, port };
        resolve(new TlsListener(server, bound.address, bound.port));
      });
    });
  }

  connect(host: string, port: number): Promise<Connection> {
    const o = this.options;
    return new Promise((resolve, reject) => {
      const servername = o.serverName ?? (isIP(host) === 0 ? host : undefined);
      const socket = tlsConnect({
        host,
        port,
        ca: o.ca as string | Buffer | (string | Buffer)[],
        cert: o.cert,
        key: o.key,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        ...(servername !== undefined ? { servername } : {}),
        // Without a name to check, Node checks the host connected to (an IP SAN for an address).
        checkServerIdentity: (h, cert) =>
          o.checkServerIdentity !== undefined
            ? o.checkServerIdentity(o.serverName ?? h, cert)
            : checkServerIdentity(o.serverName ?? host, cert),
      });
      socket.setTimeout(o.handshakeTimeoutMs ?? 5000);
      const fail = (err: Error): void => {
        socket.destroy();
        reject(
          isTlsFailure(err)
            ? codedError('ERR_TLS_HANDSHAKE', `TLS handshake with ${host}:${port} failed: ${describe(err)}`, err)
            : err,
        );
      };
      const timeout = (): void => fail(codedError('ERR_TLS_HANDSHAKE', `TLS handshake with ${host}:${port} timed out`));
      socket.once('error', fail);
      socket.once('timeout', timeout);
      socket.once('secureConnect', () => {
        socket.off('error', fail);
        socket.off('timeout', timeout);
        socket.setTimeout(0);
        resolve(new TlsConnection(socket, undefined, socket));
      });
    });
  }
}
