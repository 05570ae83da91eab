/**
 * One session of a {@link KkcmPeer}: its two links, what the connector held back before both
 * channels were bound, outstanding delivery confirmations and sends waiting for room.
 *
 * @module
 */
import type { ChannelName, ClientMessage } from '../../codec/src/index.js';
import type { PeerError } from './errors.js';
import type { Link } from './link.js';

export interface Confirmation {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (err: PeerError) => void;
}

/** A message encoded by `send` with `wait`, waiting for room in its channel's queue. */
export interface WaitingSend {
  /** The message, or its head when its payload was handed over (`transfer`): then `tail`. */
  readonly bytes: Uint8Array;
  readonly tail: Uint8Array | undefined;
  readonly confirm: boolean;
  readonly resolve: () => void;
  readonly reject: (err: PeerError) => void;
}

/** One session: two links bound to the same session id. */
export class Session {
  readonly links: Partial<Record<ChannelName, Link>> = {};
  up = false;
  version = 0;
  features = 0;
  peerNode = '';
  /** Messages that arrived on a bound channel before the other one was bound (connector). */
  readonly early: { link: Link; msg: ClientMessage }[] = [];
  /** Bytes of `early`, held within the output queue's byte bound. */
  earlyBytes = 0;
  readonly confirmations: Record<ChannelName, Confirmation[]> = { send: [], receive: [] };
  /** Sends with `wait` that found the queue full, in call order: nothing overtakes them. */
  readonly waiting: Record<ChannelName, WaitingSend[]> = { send: [], receive: [] };
  constructor(readonly id: bigint) {}

  allLinks(): Link[] {
    return [this.links.send, this.links.receive].filter((l): l is Link => l !== undefined);
  }
}
