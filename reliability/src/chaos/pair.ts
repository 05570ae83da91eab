/**
 * One proxied connection of the fault proxy, a *pair*: the connector leg and the listener
 * leg, a {@link Direction} each way, the HELLO that names its channel and session, and how
 * it ends (first cause kept, the other leg given `lingerMs` to follow).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { ChannelId, decodeMessage, type ChannelName } from '../../../codec/src/index.js';
import { Timer, type Clock } from '../../../reference-impl/src/index.js';
import { Direction, HEADER_OPTIONS, type DirectionOwner } from './direction.js';
import type { PairEnd, ProxyConnectionInfo, ProxyFault, Toward } from './proxy-faults.js';

/** What a pair asks of the proxy that holds it. */
export interface PairOwner {
  /** Order of a HELLO among all the proxy's pairs (from 1). */
  nextHelloSerial(): number;
  /** Both legs of the pair are closed. */
  pairClosed(pair: Pair): void;
}

/** One proxied connection. */
export class Pair implements DirectionOwner {
  readonly toListener: Direction;
  readonly toConnector: Direction;
  channel: ChannelName | null = null;
  sessionId: string | null = null;
  /** Order of the HELLO among all pairs (0: not seen). */
  helloSerial = 0;
  state: ProxyConnectionInfo['state'] = 'connecting';
  endCause: PairEnd | undefined;
  private readonly bytes = { listener: 0, connector: 0 };
  private readonly lingerTimer: Timer;
  private closedLegs = 0;
  private readonly target: string;

  constructor(
    private readonly proxy: PairOwner,
    readonly id: number,
    readonly listener: string,
    readonly connectorSocket: Socket,
    readonly listenerSocket: Socket,
    targetHost: string,
    targetPort: number,
    private readonly lingerMs: number,
    clock: Clock,
  ) {
    this.target = `${targetHost}:${targetPort}`;
    this.lingerTimer = new Timer(clock);
    this.toListener = new Direction('listener', this, connectorSocket, listenerSocket, clock, (frame) =>
      this.onFirstMessage(frame),
    );
    this.toConnector = new Direction('connector', this, listenerSocket, connectorSocket, clock);
    for (const [socket, side] of [
      [connectorSocket, 'connector'],
      [listenerSocket, 'listener'],
    ] as const) {
      socket.on('error', (err: NodeJS.ErrnoException) => this.onLegError(side, err));
      socket.once('close', () => this.onLegClose(side));
    }
    listenerSocket.once('connect', () => this.onTargetConnected());
  }

  get connectorAddress(): string {
    return `${this.connectorSocket.remoteAddress ?? '?'}:${String(this.connectorSocket.remotePort ?? '?')}`;
  }

  direction(toward: Toward): Direction {
    return toward === 'listener' ? this.toListener : this.toConnector;
  }

  info(): ProxyConnectionInfo {
    return {
      id: this.id,
      listener: this.listener,
      channel: this.channel,
      sessionId: this.sessionId,
      connector: this.connectorAddress,
      target: this.target,
      bytes: { towardListener: this.bytes.listener, towardConnector: this.bytes.connector },
      messages: {
        towardListener: this.toListener.tracker.messages,
        towardConnector: this.toConnector.tracker.messages,
      },
      tracking: {
        towardListener: this.toListener.tracker.lostAt === undefined,
        towardConnector: this.toConnector.tracker.lostAt === undefined,
      },
      stalled: { towardListener: this.toListener.stalled, towardConnector: this.toConnector.stalled },
      state: this.state,
    };
  }

  countBytes(toward: Toward, n: number): void {
    this.bytes[toward] += n;
  }

  /** A leg sent FIN (the first one names the clean end's side). */
  noteEnd(side: Toward): void {
    this.endCause ??= { cause: 'end', side, fault: null, error: null };
  }

  /** A fault that does not close the pair at once (half-close) still names its end. */
  noteFault(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
  }

  /** RST on both legs, as a fault. */
  reset(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
    this.state = 'closing';
    this.destroyBoth(true);
  }

  /** FIN on both legs; they are destroyed if they have not closed within the linger time. */
  finish(kind: ProxyFault['kind']): void {
    this.endCause ??= { cause: 'fault', side: null, fault: kind, error: null };
    this.state = 'closing';
    this.toListener.endSink();
    this.toConnector.endSink();
    this.lingerTimer.start(this.lingerMs, () => this.destroyBoth(false));
  }

  /** Destroys both legs at once (proxy closing). */
  abort(): void {
    this.endCause ??= { cause: 'proxy-closed', side: null, fault: null, error: null };
    this.state = 'closing';
    this.destroyBoth(false);
  }

  private destroyBoth(rst: boolean): void {
    for (const s of [this.connectorSocket, this.listenerSocket]) {
      // resetAndDestroy needs a connected TCP handle; a leg still connecting is just destroyed.
      if (rst && !s.destroyed && !s.connecting) s.resetAndDestroy();
      else s.destroy();
    }
  }

  private onTargetConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    for (const s of [this.connectorSocket, this.listenerSocket]) s.setNoDelay(true);
    for (const d of [this.toListener, this.toConnector]) {
      d.source.on('data', d.onData);
      d.source.on('end', d.onEnd);
      d.sink.on('drain', d.onDrain);
    }
    this.connectorSocket.resume();
  }

  private onFirstMessage(frame: Uint8Array): void {
    try {
      const msg = decodeMessage(frame, HEADER_OPTIONS);
      if (msg.name !== 'control.hello') return;
      this.channel =
        msg.body.channel === ChannelId.send ? 'send' : msg.body.channel === ChannelId.receive ? 'receive' : null;
      this.sessionId = msg.body.sessionId.toString();
      this.helloSerial = this.proxy.nextHelloSerial();
    } catch {
      // Not a well-formed message: the pair stays unnamed and is never a fault's target.
    }
  }

  private onLegError(side: Toward, err: NodeJS.ErrnoException): void {
    if (this.state === 'connecting' && side === 'listener') {
      this.endCause ??= { cause: 'connect-failed', side, fault: null, error: err.code ?? err.message };
      this.state = 'closing';
      this.destroyBoth(true);
      return;
    }
    this.endCause ??= { cause: 'reset', side, fault: null, error: err.code ?? err.message };
    this.state = 'closing';
    // Propagate the failure as what it is: an RST.
    this.destroyBoth(true);
  }

  private onLegClose(side: Toward): void {
    this.closedLegs++;
    if (this.closedLegs === 2) {
      this.lingerTimer.stop();
      this.toListener.stop();
      this.toConnector.stop();
      this.proxy.pairClosed(this);
      return;
    }
    // The other leg gets the linger time to finish its own close.
    this.endCause ??= { cause: 'end', side, fault: null, error: null };
    this.state = 'closing';
    this.lingerTimer.start(this.lingerMs, () => this.destroyBoth(false));
  }
}
