/**
 * Output of a {@link KkcmPeer} (design 7.2.c/d): a client's message is checked, encoded at
 * once and queued on its type's channel; a send that finds the queue full waits for room (in
 * call order, nothing overtakes it) or is refused; a send with `confirm` settles when the
 * peer's ACK or NACK for it arrives.
 *
 * @module
 */
import {
  CodecError,
  ERROR_CODES,
  Flags,
  HEADER_SIZE,
  MESSAGES,
  type ChannelName,
  type ClientName,
  type MessageInput,
} from '../../codec/src/index.js';
import { PeerError } from './errors.js';
import type { Link } from './link.js';
import type { PeerCore } from './peer-core.js';
import type { SendOptions } from './peer-options.js';
import type { Session } from './session.js';

/** What `send` returns for a message queued at once: one promise, always resolved. */
const RESOLVED: Promise<void> = Promise.resolve();

/** `send` without options. */
export const NO_SEND_OPTIONS: SendOptions = {};

const seqLte = (a: number, b: number): boolean => (b - a) >>> 0 < 0x80000000;

/** Queues clients' messages and settles their delivery confirmations. */
export class Sender {
  constructor(private readonly core: PeerCore) {}

  /** See {@link KkcmPeer.send}. */
  send(client: ClientName, msg: MessageInput, options: SendOptions): Promise<void> {
    // Not `async`: a message queued at once (the common case) costs no promise of its own
    // and no suspended function; it gets the one promise that is always resolved.
    try {
      const link = this.linkFor(client, msg, options.channel);
      const session = this.core.current!;
      const channel = link.channel!;
      // The caller's flags are encoded (and checked) as given; ackRequested is then set in the
      // header's flags byte. Not `{ ...msg, flags }`: the copy cost more than the encoding.
      const encoded = options.transfer === true ? link.encodeTransfer(msg) : link.encode(msg);
      const bytes = encoded instanceof Uint8Array ? encoded : encoded.head;
      const tail = encoded instanceof Uint8Array ? undefined : encoded.tail;
      const confirm = options.confirm === true;
      if (confirm) bytes[5] = bytes[5]! | Flags.ackRequested;
      // A message waiting for room goes first: a later one that would fit must not overtake it.
      const waiting = session.waiting[channel];
      if (waiting.length > 0 || !link.hasRoom(bytes.byteLength + (tail?.byteLength ?? 0))) {
        if (options.wait !== true) throw this.core.apiError('ERR_QUEUE_FULL', `the ${channel} queue is full`);
        return new Promise<void>((resolve, reject) => waiting.push({ bytes, tail, confirm, resolve, reject }));
      }
      const seq = link.enqueueFrame(bytes, tail);
      if (!confirm) return RESOLVED;
      return new Promise<void>((resolve, reject) => session.confirmations[channel].push({ seq, resolve, reject }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** See {@link KkcmPeer.trySend}. */
  trySend(client: ClientName, msg: MessageInput, channel: ChannelName | undefined, transfer = false): boolean {
    const link = this.linkFor(client, msg, channel);
    // Without room for even a header, not worth encoding.
    if (this.core.current!.waiting[link.channel!].length > 0 || !link.hasRoom(HEADER_SIZE)) return false;
    const encoded = transfer ? link.encodeTransfer(msg) : link.encode(msg);
    if (encoded instanceof Uint8Array) {
      if (!link.hasRoom(encoded.byteLength)) return false;
      link.enqueueFrame(encoded);
      return true;
    }
    if (!link.hasRoom(encoded.head.byteLength + encoded.tail.byteLength)) return false;
    link.enqueueFrame(encoded.head, encoded.tail);
    return true;
  }

  /** The peer confirmed delivery up to `upTo`: those confirmations resolve. */
  onAck(link: Link, upTo: number): void {
    const list = this.core.current?.confirmations[link.channel!];
    while (list !== undefined && list.length > 0 && seqLte(list[0]!.seq, upTo)) list.shift()!.resolve();
  }

  /** The peer did not accept message `seq`: its confirmation rejects with the peer's code. */
  onNack(link: Link, seq: number, code: number): void {
    const list = this.core.current?.confirmations[link.channel!];
    const i = list === undefined ? -1 : list.findIndex((c) => c.seq === seq);
    if (list === undefined || i < 0) return;
    const errorCode = ERROR_CODES[code] ?? 'ERR_HANDLER_FAILED';
    list.splice(i, 1)[0]!.reject(new PeerError(errorCode, `the peer did not accept message ${seq}: ${errorCode}`));
  }

  /** Bytes left a link's queue: the sends waiting for room on it may go. */
  onQueueSpace(link: Link): void {
    const s = this.core.current;
    const ch = link.channel;
    if (s === undefined || ch === undefined) return;
    if (s.links[ch] === link) this.admitWaiting(s, ch, link);
  }

  /**
   * The checks `send` and `trySend` share (client, channel, module configured, session up);
   * the bound link the message goes out on.
   *
   * @throws CodecError ERR_UNKNOWN_MESSAGE; PeerError ERR_WRONG_CLIENT, ERR_WRONG_CHANNEL,
   *   ERR_NOT_CONFIGURED, ERR_NO_SESSION.
   */
  private linkFor(client: ClientName, msg: MessageInput, channelAsked: ChannelName | undefined): Link {
    const core = this.core;
    const meta = MESSAGES[msg.name] as (typeof MESSAGES)[keyof typeof MESSAGES] | undefined;
    if (meta === undefined) throw new CodecError('ERR_UNKNOWN_MESSAGE', `no message named ${String(msg.name)}`);
    if (meta.client !== client)
      throw core.apiError('ERR_WRONG_CLIENT', `${msg.name} belongs to ${meta.client}, not ${client}`);
    const channel = channelAsked ?? meta.channels[0]!;
    if (channelAsked !== undefined && !meta.channels.includes(channelAsked))
      throw core.apiError('ERR_WRONG_CHANNEL', `${msg.name} does not travel on the ${channelAsked} channel`);
    const session = core.current;
    if (!core.configured) throw core.apiError('ERR_NOT_CONFIGURED', 'NSR is not configured');
    if (session === undefined || !session.up) throw core.apiError('ERR_NO_SESSION', 'no session is up');
    return session.links[channel]!;
  }

  /** Bytes left a queue: the sends waiting for room go in, in order, as far as they fit. */
  private admitWaiting(session: Session, channel: ChannelName, link: Link): void {
    const waiting = session.waiting[channel];
    let n = 0;
    while (n < waiting.length && link.hasRoom(waiting[n]!.bytes.byteLength + (waiting[n]!.tail?.byteLength ?? 0))) {
      const w = waiting[n++]!;
      const seq = link.enqueueFrame(w.bytes, w.tail);
      if (w.confirm) session.confirmations[channel].push({ seq, resolve: w.resolve, reject: w.reject });
      else w.resolve();
    }
    if (n > 0) waiting.splice(0, n);
  }
}
