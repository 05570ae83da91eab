/**
 * Tracing glue of a {@link KkcmPeer}: while anyone listens to its `frame` or `event` events,
 * the links hand it every message they write or read, and it emits the message's bytes
 * (`frame`) and its `tx`/`rx` event. Nobody listening costs nothing per message.
 *
 * @module
 */
import type { RoutedMessage } from '../../codec/src/index.js';
import type { Link } from './link.js';
import type { PeerCore } from './peer-core.js';

/** True while someone listens to the peer's frames or events. */
export function tracing(core: PeerCore): boolean {
  return core.emitter.listenerCount('frame') > 0 || core.emitter.listenerCount('event') > 0;
}

/** Frame and traffic events of one message (the link counted it already). */
export function trace(
  core: PeerCore,
  link: Link,
  direction: 'tx' | 'rx',
  msg: RoutedMessage | undefined,
  frame: Uint8Array,
): void {
  const channel = link.channel;
  if (channel === undefined) return;
  const emitter = core.emitter;
  const type = frame[6]!;
  const subtype = frame[7]!;
  const name = msg !== undefined ? msg.name : core.nameOf(type, subtype);
  if (emitter.listenerCount('frame') > 0) emitter.emit('frame', channel, direction, frame, link.connection.remote);
  if (emitter.listenerCount('event') > 0) {
    const seq = ((frame[12]! << 24) | (frame[13]! << 16) | (frame[14]! << 8) | frame[15]!) >>> 0;
    emitter.emit('event', { event: direction, channel, type, subtype, seq, length: frame.byteLength, name });
  }
}
