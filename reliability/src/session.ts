/**
 * A live session for the reliability tools: a master and a backup reference peer in this
 * process, over real loopback sockets, exchanging echo traffic. The master sends
 * IHA ASYNC-NOTIFY carrying a token on the send channel; the backup's IHA client answers
 * with PRL OPAQUE carrying the same token on the receive channel. An echo therefore crosses
 * both peers, both channels and both dispatch paths: when it comes back, the session works.
 *
 * @module
 */
import { decodeClientMessage } from '../../codec/src/index.js';
import { KkcmPeer, type PeerEvent, type PeerOptions, type Transport } from '../../reference-impl/src/index.js';

/** Settings of {@link LiveSession.start}. */
export interface LiveSessionOptions {
  /** Loopback address the master listens on (default 127.0.0.1, port chosen by the system). */
  readonly host?: string;
  readonly master?: Partial<PeerOptions>;
  readonly backup?: Partial<PeerOptions>;
  /** Transports of each side (default TCP). */
  readonly masterTransport?: Transport;
  readonly backupTransport?: Transport;
  /** How long the session may take to come up, ms (default 10000). */
  readonly upTimeoutMs?: number;
}

/** Events worth keeping (not the per-message `tx`/`rx`). */
const KEPT = new Set<PeerEvent['event']>([
  'session-up',
  'session-down',
  'error',
  'refused',
  'rejected',
  'accepted',
  'connect-failed',
  'cleanup',
  'handler-error',
]);

/** Resolves with the first event matching `predicate`, or rejects after `ms`. */
export function nextEvent(
  peer: KkcmPeer,
  predicate: (e: PeerEvent) => boolean,
  ms: number,
  what = 'an event',
): Promise<PeerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      peer.off('event', listener);
      reject(new Error(`no ${what} within ${ms} ms`));
    }, ms);
    function listener(e: PeerEvent): void {
      if (!predicate(e)) return;
      clearTimeout(timer);
      peer.off('event', listener);
      resolve(e);
    }
    peer.on('event', listener);
  });
}

/** Two peers holding one session, with an echo service and a traffic pump. */
export class LiveSession {
  /** Events of each side, `tx`/`rx` excepted, in order. */
  readonly events: { master: PeerEvent[]; backup: PeerEvent[] } = { master: [], backup: [] };
  /** Echoes that came back since the start. */
  delivered = 0;
  /** The first error the pump met (a send refused, the session gone). */
  pumpError: Error | undefined;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private sessionIdValue = 0n;
  private nextToken = 1;
  private pumping = false;
  private inFlight = 0;
  private pumpIdle: (() => void) | undefined;

  private constructor(
    readonly master: KkcmPeer,
    readonly backup: KkcmPeer,
  ) {}

  /** Id of the session both peers started with. */
  get sessionId(): bigint {
    return this.sessionIdValue;
  }

  /**
   * Starts both peers and waits for the session.
   *
   * @throws Error when the session is not up within `upTimeoutMs` (both peers are stopped).
   */
  static async start(options: LiveSessionOptions = {}): Promise<LiveSession> {
    const host = options.host ?? '127.0.0.1';
    const master = new KkcmPeer({
      role: 'master',
      listen: { host, port: 0 },
      nodeName: 'reliability-master',
      ...(options.masterTransport !== undefined ? { transport: options.masterTransport } : {}),
      ...options.master,
    });
    let backup: KkcmPeer | undefined;
    try {
      await master.configure();
      const port = master.listenAddress!.port;
      backup = new KkcmPeer({
        role: 'backup',
        connect: { host, port },
        nodeName: 'reliability-backup',
        ...(options.backupTransport !== undefined ? { transport: options.backupTransport } : {}),
        ...options.backup,
      });
      const ms = options.upTimeoutMs ?? 10000;
      const up = Promise.all([
        nextEvent(master, (e) => e.event === 'session-up', ms, 'session-up on the master'),
        nextEvent(backup, (e) => e.event === 'session-up', ms, 'session-up on the backup'),
      ]);
      const session = new LiveSession(master, backup);
      session.record();
      await backup.configure();
      await up;
      session.sessionIdValue = master.sessionId!;
      return session;
    } catch (err) {
      await backup?.stop();
      await master.stop();
      throw err;
    }
  }

  /** `session-down` events on either side since the start. */
  get sessionDrops(): number {
    return (
      this.events.master.filter((e) => e.event === 'session-down').length +
      this.events.backup.filter((e) => e.event === 'session-down').length
    );
  }

  /** True when both sides still hold the session they started with. */
  get intact(): boolean {
    return (
      this.master.sessionUp &&
      this.backup.sessionUp &&
      this.master.sessionId === this.sessionId &&
      this.backup.sessionId === this.sessionId
    );
  }

  private record(): void {
    this.master.on('event', (e) => {
      if (KEPT.has(e.event)) this.events.master.push(e);
    });
    this.backup.on('event', (e) => {
      if (KEPT.has(e.event)) this.events.backup.push(e);
    });
    this.master.register('prl', {
      message: (raw) => {
        const msg = decodeClientMessage(raw);
        if (msg.name !== 'prl.opaque' || msg.body.data.byteLength !== 4) return;
        const token = new DataView(msg.body.data.buffer, msg.body.data.byteOffset, 4).getUint32(0);
        const waiter = this.waiting.get(token);
        this.waiting.delete(token);
        waiter?.resolve();
      },
    });
    this.backup.register('iha', {
      message: (raw) => {
        const msg = decodeClientMessage(raw);
        if (msg.name !== 'iha.asyncNotify') return;
        const data = new Uint8Array(4);
        new DataView(data.buffer).setUint32(0, msg.body.handle);
        this.backup.send('prl', { name: 'prl.opaque', body: { data } }, { wait: true }).catch(() => undefined);
      },
    });
  }

  /**
   * One echo through both peers.
   *
   * @returns the round trip, ms.
   * @throws Error when the echo does not come back within `ms`, or PeerError when it
   *   cannot be sent (no session).
   */
  async echo(ms = 5000): Promise<number> {
    const token = this.nextToken;
    this.nextToken = (this.nextToken % 0xffffffff) + 1;
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const back = new Promise<void>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject });
      timer = setTimeout(() => {
        this.waiting.delete(token);
        reject(new Error(`echo ${token} did not come back within ${ms} ms`));
      }, ms);
    });
    try {
      await this.master.send(
        'iha',
        { name: 'iha.asyncNotify', body: { handle: token, event: 1, value: 0n } },
        { wait: true },
      );
      await back;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(token);
    }
    return performance.now() - started;
  }

  /** Keeps `window` echoes in flight until {@link stopPump}; `delivered` counts them. */
  startPump(window = 16): void {
    if (this.pumping) return;
    this.pumping = true;
    for (let i = 0; i < window; i++) this.pumpOne();
  }

  private pumpOne(): void {
    if (!this.pumping) return;
    this.inFlight++;
    this.echo(30000).then(
      () => {
        this.delivered++;
        this.inFlight--;
        this.pumpOne();
        this.checkIdle();
      },
      (err: Error) => {
        this.pumpError ??= err;
        this.pumping = false;
        this.inFlight--;
        this.checkIdle();
      },
    );
  }

  private checkIdle(): void {
    if (this.inFlight === 0) this.pumpIdle?.();
  }

  /** Stops the pump and waits for the echoes in flight. */
  async stopPump(): Promise<void> {
    this.pumping = false;
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      this.pumpIdle = resolve;
    });
    this.pumpIdle = undefined;
  }

  /** Echoes delivered during `ms` of wall time, the pump running. */
  async deliveredDuring(
    ms: number,
    during: () => Promise<unknown> = () => Promise.resolve(),
  ): Promise<{ delivered: number; ms: number }> {
    const before = this.delivered;
    const started = performance.now();
    await Promise.all([during(), new Promise((r) => setTimeout(r, ms))]);
    return { delivered: this.delivered - before, ms: performance.now() - started };
  }

  /** Stops the pump and both peers; echoes still out fail at once. Safe twice. */
  async stop(): Promise<void> {
    this.pumping = false;
    await this.backup.stop();
    await this.master.stop();
    for (const w of this.waiting.values()) w.reject(new Error('the session was stopped'));
    this.waiting.clear();
    await this.stopPump();
  }
}
