/**
 * Input and dispatch of a {@link KkcmPeer} (design 7.2.e): a whole message goes to the handler
 * registered for its type, its body uninterpreted (the client's business, KKCM-DISP-3), an
 * ackRequested one is confirmed (KKCM-CTL-4), messages the connector receives before both its
 * channels are bound are held, and every client handler runs isolated: what it throws, or a
 * refusal, is counted and traced, never propagated. At session-up the init routines run, then
 * the registered clients' init handlers (design 7.2.b.3).
 *
 * @module
 */
import {
  CodecError,
  Flags,
  Limits,
  type ChannelName,
  type ClientMessage,
  type IgnoredMessage,
} from '../../codec/src/index.js';
import type { Link } from './link.js';
import type { PeerCore } from './peer-core.js';
import type { DeliveryContext } from './registry.js';
import type { Session } from './session.js';

/** The client handlers a peer calls. */
export type HandlerName = 'message' | 'periodic' | 'cleanup' | 'init';

/** What a message handler learns of a delivery: one object per channel, not one per message. */
const DELIVERY_CONTEXT: Readonly<Record<ChannelName, DeliveryContext>> = {
  send: Object.freeze({ channel: 'send' }),
  receive: Object.freeze({ channel: 'receive' }),
};

/** Hands messages and lifecycle calls to the registered clients. */
export class Dispatcher {
  constructor(private readonly core: PeerCore) {}

  /** A message arrived on a bound link: dispatched, held until the session is up, or refused. */
  onMessage(link: Link, msg: ClientMessage): void {
    const core = this.core;
    const session = core.current;
    if (session === undefined || (session.links.send !== link && session.links.receive !== link)) {
      const pending = core.pending;
      const fits =
        pending !== undefined &&
        pending.early.length < (core.options.queueMessages ?? Limits.defaultQueueMessages) &&
        pending.earlyBytes + msg.header.length <= (core.options.queueBytes ?? Limits.defaultQueueBytes);
      if (pending !== undefined && fits && link.state === 'bound' && !core.listens) {
        // The master may send as soon as it bound both channels; hold until ours are. A copy:
        // the bytes are the input's only until this call returns (the link reuses them).
        pending.early.push({ link, msg: { ...msg, body: msg.body.slice() } });
        pending.earlyBytes += msg.header.length;
        return;
      }
      // The message passed every check but the state's: the ERROR names it [KKCM-CTL-2].
      link.violation(new CodecError('ERR_UNEXPECTED_MESSAGE', `${msg.name} before the session is up`), msg.header);
      return;
    }
    this.dispatch(link, msg);
  }

  /** The session is up: the messages held for it are dispatched, in arrival order. */
  deliverEarly(session: Session): void {
    for (const { link, msg } of session.early.splice(0)) this.dispatch(link, msg);
  }

  /**
   * A session came up (design 7.2.b.3): every init routine is called (each registers its
   * client, again after a cleanup that unregistered it), then every registered client's
   * init handler; all before any message of the session is delivered.
   */
  initClients(sessionId: bigint): void {
    const registry = this.core.registry;
    for (const [client, routine] of registry.initRoutines()) this.call(client, 'init', () => routine(sessionId));
    for (const [client, h] of registry.entries())
      if (h.init !== undefined) this.call(client, 'init', () => h.init!(sessionId));
  }

  /** An unknown message was skipped under mayIgnore: counted and reported. */
  onIgnored(link: Link, msg: IgnoredMessage): void {
    this.core.stats.ignored++;
    this.core.emitEvent({
      event: 'ignored',
      channel: link.channel!,
      type: msg.header.type,
      subtype: msg.header.subtype,
      seq: msg.header.seq,
    });
  }

  /**
   * Hands a whole message to the handler registered for its type (design 7.2.e), then
   * confirms an ackRequested one: ACK when the handler accepted it, NACK when it refused it
   * (threw or returned false) or no client is registered (KKCM-CTL-4). A refusal is the
   * client's answer to its own data, never a protocol error: the session stays up. [KKCM-DISP-3]
   */
  private dispatch(link: Link, msg: ClientMessage): void {
    const client = msg.client;
    const handler = this.core.registry.get(client)?.message;
    const confirm = (msg.header.flags & Flags.ackRequested) !== 0;
    if (handler === undefined) {
      this.core.stats.undelivered++;
      this.core.emitEvent({
        event: 'undelivered',
        channel: link.channel!,
        name: msg.name ?? `${msg.header.type}.${msg.header.subtype}`,
        client,
      });
      if (confirm) link.sendNack(msg.header.seq, 'ERR_NO_HANDLER');
      return;
    }
    // Not through call(): no closure per message. The context is one frozen object per channel.
    let accepted = true;
    try {
      if (handler(msg, DELIVERY_CONTEXT[link.channel!]) === false) {
        accepted = false;
        this.handlerThrew(client, 'message', new Error(`refused ${msg.name ?? `subtype ${msg.header.subtype}`}`));
      }
    } catch (err) {
      accepted = false;
      this.handlerThrew(client, 'message', err);
    }
    const faults = this.core.options.faults;
    if (!accepted && faults?.refusalEndsSession === true) {
      link.violation(new CodecError('ERR_HANDLER_FAILED', `the ${client} handler refused the message`), msg.header);
      return;
    }
    if (!confirm) return;
    if (accepted || faults?.ackRefusedMessages === true) link.scheduleAck(msg.header.seq);
    else link.sendNack(msg.header.seq, 'ERR_HANDLER_FAILED');
  }

  /** Calls a client handler, isolating its exception (counted and traced). @returns false when it threw. */
  call(client: string, handler: HandlerName, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (err) {
      this.handlerThrew(client, handler, err);
      return false;
    }
  }

  /** A client handler threw: counted and traced, never propagated. */
  private handlerThrew(client: string, handler: HandlerName, err: unknown): void {
    this.core.stats.handlerErrors++;
    // `throw undefined` is possible too: reading its message must not throw in turn.
    const message = (err as { message?: unknown } | null | undefined)?.message;
    this.core.emitEvent({
      event: 'handler-error',
      client,
      handler,
      error: typeof message === 'string' ? message : String(err),
    });
  }
}
