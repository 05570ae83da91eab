/**
 * The admin interface of a running peer: a line protocol over TCP or a Unix socket that
 * `kkcm ctl` (and tests) use to read the status and counters and to drive the triggers of
 * design 6.2.1 — switchover, peer down/up, NSR deconfigured/configured — from outside.
 *
 * Protocol: one JSON request per line, `{"cmd": "status", "id"?: any}`; one JSON response
 * line per request, in order: `{"ok": true, "result": …}` or
 * `{"ok": false, "error": {"code", "message"}}`, with the request's `id` echoed when given.
 * 64-bit integers are written as decimal strings, bytes as hex. A bad request never closes
 * the connection.
 *
 * One concept, kept whole (about 530 lines): the admin line protocol, both of its ends. The
 * request and response shapes, the error codes, the line limit and the address syntax are
 * what the server and `adminRequest` must agree on, and they change together; the server
 * part is short once those are counted. If the server grows (more commands, auth), it is the
 * part to move to an admin-server.ts, with the protocol types staying here.
 *
 * @module
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import {
  messageFromJson,
  stringify,
  type ChannelName,
  type ClientName,
  type MessageInput,
} from '../../codec/src/index.js';
import type { KkcmPeer, SendOptions } from './peer.js';

/** Where an admin server listens: a TCP host and port, or a Unix socket path. */
export type AdminEndpoint =
  | {
      /** TCP host. */
      readonly host: string;
      /** TCP port (0: any free port). */
      readonly port: number;
    }
  | {
      /** Unix socket path. */
      readonly path: string;
    };

/**
 * Codes of the admin protocol's own errors. Errors raised by the peer (`ERR_NO_SESSION`…)
 * and the codec (`ERR_INVALID_VALUE`…) keep their own codes.
 */
export type AdminErrorCode =
  /** The request line is not JSON. */
  | 'ERR_ADMIN_BAD_JSON'
  /** The request is JSON but not a request: no `cmd`, or bad arguments. */
  | 'ERR_ADMIN_BAD_REQUEST'
  /** `cmd` names no command. */
  | 'ERR_ADMIN_UNKNOWN_COMMAND'
  /** The request line exceeds the line limit; it was discarded up to its newline. */
  | 'ERR_ADMIN_LINE_TOO_LONG'
  /** The server already serves its maximum of connections; this one is closed. */
  | 'ERR_ADMIN_TOO_MANY_CONNECTIONS'
  /** A command failed without a coded error. */
  | 'ERR_ADMIN_INTERNAL'
  /** Client side: the server could not be reached or hung up before answering. */
  | 'ERR_ADMIN_UNREACHABLE'
  /** Client side: no answer within the timeout. */
  | 'ERR_ADMIN_TIMEOUT'
  /** Client side: the answer is not a response line. */
  | 'ERR_ADMIN_BAD_RESPONSE';

/**
 * What each {@link AdminErrorCode} means, in one line: `kkcm ctl --help` (and so
 * docs/cli.md) lists them.
 */
export const ADMIN_ERRORS: Readonly<Record<AdminErrorCode, string>> = {
  ERR_ADMIN_BAD_JSON: 'the request line is not JSON',
  ERR_ADMIN_BAD_REQUEST: 'the request is JSON but not a request: no `cmd`, or bad arguments',
  ERR_ADMIN_UNKNOWN_COMMAND: '`cmd` names no command',
  ERR_ADMIN_LINE_TOO_LONG: 'the request line exceeds the line limit; it was discarded up to its newline',
  ERR_ADMIN_TOO_MANY_CONNECTIONS: 'the server already serves its maximum of connections; this one is closed',
  ERR_ADMIN_INTERNAL: 'a command failed without a coded error',
  ERR_ADMIN_UNREACHABLE: 'client side: the server could not be reached or hung up before answering',
  ERR_ADMIN_TIMEOUT: 'client side: no answer within the timeout',
  ERR_ADMIN_BAD_RESPONSE: 'client side: the answer is not a response line',
};

/** An error of the admin protocol, on either side. */
export class AdminError extends Error {
  /** What went wrong. */
  readonly code: AdminErrorCode;

  constructor(code: AdminErrorCode, message: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
  }
}

/** Commands every admin server understands. */
export const ADMIN_COMMANDS = [
  'status',
  'stats',
  'switchover',
  'deconfigure',
  'configure',
  'peer-down',
  'peer-up',
  'send',
] as const;

/** Name of an admin command. */
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

/** One request line. `client`, `message` and `options` belong to `send`; `to` to `switchover`. */
export interface AdminRequest {
  /** The command (one of {@link ADMIN_COMMANDS}). */
  readonly cmd: string;
  /** Echoed in the response, to match answers to requests. */
  readonly id?: unknown;
  /**
   * `switchover`: the role the trigger leads to (design 6.2.1.c: `backup` relinquishes,
   * `master` acquires; a role already held does nothing). Absent: swap whatever the role is.
   */
  readonly to?: 'master' | 'backup';
  /** `send`: the sending client. */
  readonly client?: string;
  /** A message in the JSON form `kkcm encode` takes (named messages only). */
  readonly message?: unknown;
  /** `send`: the {@link SendOptions}. */
  readonly options?: {
    /** Wait for room when the queue is full. */
    readonly wait?: boolean;
    /** Wait for the other side's delivery confirmation. */
    readonly confirm?: boolean;
    /** Channel, for types that travel on both. */
    readonly channel?: ChannelName;
  };
}

/** One response line. */
export type AdminResponse =
  | {
      /** The command succeeded. */
      readonly ok: true;
      /** What it returned (`status()`, `stats()`…). */
      readonly result: unknown;
      /** The request's id. */
      readonly id?: unknown;
    }
  | {
      /** The command failed. */
      readonly ok: false;
      /** Why. */
      readonly error: {
        /** Error code (`ERR_NO_SESSION`, `ERR_ADMIN_BAD_REQUEST`…). */
        readonly code: string;
        /** What happened, for people. */
        readonly message: string;
      };
      /** The request's id. */
      readonly id?: unknown;
    };

/** Settings of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** Longest request line, in bytes, newline excluded (default 65536). */
  readonly maxLineBytes?: number;
  /** Most connections served at once (default 16); more are answered with an error and closed. */
  readonly maxConnections?: number;
  /** Extra counters merged into the `stats` result (the CLI adds its clients' counters). */
  readonly extraStats?: () => Record<string, unknown>;
}

/** A running admin server. */
export interface AdminServer {
  /** Where it listens; for TCP the port is resolved when 0 was asked. */
  readonly endpoint: AdminEndpoint;
  /** The same as text: `host:port` (IPv6 hosts in brackets) or the socket path. */
  readonly address: string;
  /** Stops listening and closes every admin connection. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_MAX_LINE = 64 * 1024;
const DEFAULT_MAX_CONNECTIONS = 16;
/** Requests a connection may have waiting for their answer before it stops reading. */
const MAX_PENDING_REQUESTS = 32;
const NEWLINE = 0x0a;

/**
 * Parses `HOST:PORT` (`[v6]:PORT` for IPv6) into a TCP endpoint; anything else is taken as
 * a Unix socket path.
 *
 * @throws AdminError ERR_ADMIN_BAD_REQUEST for an empty address or a port above 65535.
 */
export function parseAdminAddress(text: string): AdminEndpoint {
  if (text === '') throw new AdminError('ERR_ADMIN_BAD_REQUEST', 'empty admin address');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^/:[\]]+):(\d+)$/.exec(text);
  if (m === null) return { path: text };
  const port = Number(m[2]);
  if (port > 65535) throw new AdminError('ERR_ADMIN_BAD_REQUEST', `port ${port} out of range in ${text}`);
  return { host: m[1]!, port };
}

/** Text form of an endpoint: `host:port`, `[v6]:port`, or the path. */
export function formatAdminAddress(endpoint: AdminEndpoint): string {
  if ('path' in endpoint) return endpoint.path;
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function badRequest(message: string): never {
  throw new AdminError('ERR_ADMIN_BAD_REQUEST', message);
}

function sendOptions(v: unknown): SendOptions {
  if (v === undefined) return {};
  if (!isRecord(v)) return badRequest('options must be an object');
  for (const key of ['wait', 'confirm'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'boolean') badRequest(`options.${key} must be a boolean`);
  }
  if (v.channel !== undefined && v.channel !== 'send' && v.channel !== 'receive')
    badRequest('options.channel must be "send" or "receive"');
  return {
    wait: v.wait as boolean | undefined,
    confirm: v.confirm as boolean | undefined,
    channel: v.channel as ChannelName | undefined,
  };
}

/** Runs one command against the peer. Throws coded errors for the response. */
async function execute(peer: KkcmPeer, req: Record<string, unknown>, options: AdminServerOptions): Promise<unknown> {
  switch (req.cmd) {
    case 'status':
      return peer.status();
    case 'stats':
      return { ...peer.stats(), ...(options.extraStats?.() ?? {}) };
    case 'switchover': {
      if (req.to !== undefined && req.to !== 'master' && req.to !== 'backup')
        return badRequest('switchover "to" must be "master" or "backup"');
      const changed = await peer.switchover(req.to === undefined ? {} : { to: req.to });
      return { ...peer.status(), changed };
    }
    case 'deconfigure':
      await peer.deconfigure();
      return peer.status();
    case 'configure':
      await peer.configure();
      return peer.status();
    case 'peer-down':
      await peer.peerDown();
      return peer.status();
    case 'peer-up':
      peer.peerUp();
      return peer.status();
    case 'send': {
      if (typeof req.client !== 'string') return badRequest('send needs a "client" string');
      const opts = sendOptions(req.options);
      const msg = messageFromJson(req.message);
      if (!('name' in msg)) return badRequest('send needs a named message, not a raw one');
      await peer.send(req.client as ClientName, msg as MessageInput, opts);
      return { sent: true, confirmed: opts.confirm === true };
    }
    default:
      throw new AdminError(
        'ERR_ADMIN_UNKNOWN_COMMAND',
        `unknown command ${JSON.stringify(req.cmd)}; known: ${ADMIN_COMMANDS.join(', ')}`,
      );
  }
}

function errorResponse(err: unknown, id: unknown): AdminResponse {
  const code = (err as { code?: unknown }).code;
  const coded = typeof code === 'string' && /^ERR_[A-Z0-9_]+$/.test(code);
  const message = err instanceof Error ? err.message : String(err);
  return withId({ ok: false, error: { code: coded ? code : 'ERR_ADMIN_INTERNAL', message } }, id);
}

function withId<T extends AdminResponse>(response: T, id: unknown): T {
  return id === undefined ? response : { ...response, id };
}

/** Answers one request line. Never throws. */
async function answer(peer: KkcmPeer, line: string, options: AdminServerOptions): Promise<AdminResponse> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch (err) {
    return errorResponse(
      new AdminError('ERR_ADMIN_BAD_JSON', `request is not JSON: ${(err as Error).message}`),
      undefined,
    );
  }
  const id = isRecord(req) ? req.id : undefined;
  try {
    if (!isRecord(req) || typeof req.cmd !== 'string') return badRequest('a request is an object with a "cmd" string');
    return withId({ ok: true, result: await execute(peer, req, options) }, id);
  } catch (err) {
    return errorResponse(err, id);
  }
}

/** One admin connection: splits lines, answers them one at a time, in order. */
class AdminConnection {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** True while discarding the rest of an over-long line. */
  private skipping = false;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly peer: KkcmPeer,
    private readonly options: AdminServerOptions,
    private readonly maxLine: number,
  ) {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.take(chunk.subarray(start, nl), true);
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start), false);
  };

  /** Adds a piece of a line; `complete` when the piece ended at a newline. */
  private take(piece: Buffer, complete: boolean): void {
    if (!this.skipping) {
      if (this.bufferedBytes + piece.length > this.maxLine) {
        // Answer at once and drop the line, without buffering it: memory stays bounded.
        this.buffered = [];
        this.bufferedBytes = 0;
        this.skipping = true;
        this.enqueue(async () =>
          errorResponse(
            new AdminError('ERR_ADMIN_LINE_TOO_LONG', `request line longer than ${this.maxLine} bytes`),
            undefined,
          ),
        );
      } else {
        this.buffered.push(piece);
        this.bufferedBytes += piece.length;
      }
    }
    if (!complete) return;
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    const line = Buffer.concat(this.buffered).toString('utf8').trim();
    this.buffered = [];
    this.bufferedBytes = 0;
    if (line !== '') this.enqueue(() => answer(this.peer, line, this.options));
  }

  private enqueue(work: () => Promise<AdminResponse>): void {
    // A client that sends without reading the answers is paused, not buffered without bound.
    if (++this.pending === MAX_PENDING_REQUESTS) this.socket.pause();
    this.queue = this.queue.then(async () => {
      const response = await work();
      if (this.closed) return;
      this.socket.write(`${stringify(response)}\n`);
      if (this.pending-- === MAX_PENDING_REQUESTS) this.socket.resume();
    });
  }

  private readonly onError = (): void => {
    // The close event follows; a broken admin connection concerns nobody else.
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.socket.off('data', this.onData);
  };
}

function listen(server: Server, endpoint: AdminEndpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in endpoint) server.listen(endpoint.path, done);
    else server.listen(endpoint.port, endpoint.host, done);
  });
}

/** True when `path` is a Unix socket nobody listens on (left by a process that died). */
function isStaleSocket(path: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isSocket()) return Promise.resolve(false);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * Starts an admin server for `peer` on a TCP `HOST:PORT` or a Unix socket path. A stale
 * Unix socket file (nobody listening) is replaced; any other existing file is an error.
 *
 * @param address `127.0.0.1:0` (port 0: any free port), `[::1]:7001`, or a path.
 * @throws AdminError ERR_ADMIN_BAD_REQUEST for a bad address; the system error (EADDRINUSE…)
 *   when it cannot listen.
 */
export async function startAdminServer(
  peer: KkcmPeer,
  address: string | AdminEndpoint,
  options: AdminServerOptions = {},
): Promise<AdminServer> {
  const endpoint = typeof address === 'string' ? parseAdminAddress(address) : address;
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const connections = new Set<AdminConnection>();
  /** Every open socket, served or being turned away, so that close() ends them all. */
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (connections.size >= maxConnections) {
      socket.on('error', () => undefined);
      socket.end(
        `${stringify(errorResponse(new AdminError('ERR_ADMIN_TOO_MANY_CONNECTIONS', `at most ${maxConnections} admin connections`), undefined))}\n`,
      );
      return;
    }
    const conn = new AdminConnection(socket, peer, options, maxLine);
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
  });
  try {
    await listen(server, endpoint);
  } catch (err) {
    if (
      !('path' in endpoint) ||
      (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' ||
      !(await isStaleSocket(endpoint.path))
    )
      throw err;
    unlinkSync(endpoint.path);
    await listen(server, endpoint);
  }
  const bound = server.address();
  const actual: AdminEndpoint =
    'path' in endpoint || bound === null || typeof bound === 'string'
      ? endpoint
      : { host: bound.address, port: bound.port };
  let closing: Promise<void> | undefined;
  return {
    endpoint: actual,
    address: formatAdminAddress(actual),
    close() {
      closing ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** Settings of {@link adminRequest}. */
export interface AdminRequestOptions {
  /** How long to wait for the connection and the answer, in ms (default 10000). */
  readonly timeoutMs?: number;
}

/**
 * Sends one request to an admin server and returns its response (which may be an error
 * response: check `ok`).
 *
 * @throws AdminError ERR_ADMIN_UNREACHABLE (cannot connect, or the server hung up),
 *   ERR_ADMIN_TIMEOUT, ERR_ADMIN_BAD_RESPONSE (the answer is not a response line).
 */
export function adminRequest(
  address: string | AdminEndpoint,
  request: AdminRequest,
  options: AdminRequestOptions = {},
): Promise<AdminResponse> {
  const endpoint = typeof address === 'string' ? parseAdminAddress(address) : address;
  const where = formatAdminAddress(endpoint);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket =
      'path' in endpoint
        ? createConnection(endpoint.path)
        : createConnection({ host: endpoint.host, port: endpoint.port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err: AdminError | undefined, response?: AdminResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(response!);
    };
    const timer = setTimeout(
      () => finish(new AdminError('ERR_ADMIN_TIMEOUT', `no answer from ${where} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(`${stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(NEWLINE);
      if (nl === -1) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(all.subarray(0, nl).toString('utf8'));
      } catch {
        finish(new AdminError('ERR_ADMIN_BAD_RESPONSE', `${where} answered something that is not JSON`));
        return;
      }
      if (!isRecord(parsed) || typeof parsed.ok !== 'boolean' || (parsed.ok === false && !isRecord(parsed.error))) {
        finish(new AdminError('ERR_ADMIN_BAD_RESPONSE', `${where} answered something that is not a response`));
        return;
      }
      finish(undefined, parsed as unknown as AdminResponse);
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(new AdminError('ERR_ADMIN_UNREACHABLE', `cannot reach ${where}: ${err.code ?? err.message}`)),
    );
    socket.on('close', () =>
      finish(new AdminError('ERR_ADMIN_UNREACHABLE', `${where} closed the connection without answering`)),
    );
  });
}
