/**
 * The conformance probe client (KKCM-PROBE-1/2): a registered client that answers the
 * suite's probe requests through the ordinary dispatch and send paths, so that dispatch,
 * cleanup reasons, periodic ticks and output ordering are observable over the wire. Like any
 * client it gets its messages' bodies uninterpreted and decodes them itself (KKCM-DISP-3): a
 * probe message whose body does not fit the spec's probe layout is refused by the probe
 * (NACK ERR_HANDLER_FAILED when confirmation was asked), not by KKCM.
 *
 * @module
 */
import {
  CleanupDetail,
  CleanupReason,
  ChannelId,
  decodeClientMessage,
  Limits,
  type ChannelName,
  type ClientMessage,
  type MessageInput,
} from '../../codec/src/index.js';
import type { ClientHandlers, CleanupInfo } from './registry.js';

/** The slice of the peer the probe needs. */
export interface ProbeHost {
  send(client: 'probe', msg: MessageInput, options: { wait?: boolean; channel?: ChannelName }): Promise<void>;
}

/** Largest burst a probe request may ask for, in payload bytes. */
const MAX_BURST_BYTES = 64 * 1024 * 1024;

/** State and handlers of the probe client. */
export class ProbeClient {
  private lastCleanup: CleanupInfo | undefined;
  private cleanups = 0;
  private ticks = 0;
  /** Handlers to register under the `probe` client type. */
  readonly handlers: ClientHandlers;

  constructor(
    private readonly host: ProbeHost,
    private readonly periodicMs: number,
  ) {
    this.handlers = {
      init: () => {
        this.ticks = 0;
      },
      message: (msg, ctx) => this.onMessage(msg, ctx?.channel ?? 'send'),
      periodic: () => {
        this.ticks++;
      },
      cleanup: (info) => {
        this.lastCleanup = info;
        this.cleanups++;
      },
    };
  }

  private reply(msg: MessageInput, channel: ChannelName): void {
    // A failed reply (session gone, queue full) is the peer's business: nothing to do here.
    this.host.send('probe', msg, { channel, wait: true }).catch(() => undefined);
  }

  /** @throws CodecError for a body that does not fit the probe layout (the refusal). */
  private onMessage(raw: ClientMessage, channel: ChannelName): void {
    const msg = decodeClientMessage(raw);
    switch (msg.name) {
      case 'probe.echo':
        this.reply(
          { name: 'probe.echoReply', body: { token: msg.body.token, payload: Uint8Array.from(msg.body.payload) } },
          channel,
        );
        return;
      case 'probe.queryCleanup': {
        const c = this.lastCleanup;
        this.reply(
          {
            name: 'probe.cleanupReport',
            body: {
              token: msg.body.token,
              reason: c?.reasonValue ?? CleanupReason.none,
              detail: c === undefined ? 0 : ((CleanupDetail as Record<string, number>)[c.detail] ?? 0),
              cleanups: this.cleanups,
              sessionId: c?.sessionId ?? 0n,
            },
          },
          channel,
        );
        return;
      }
      case 'probe.queryTicks':
        this.reply(
          {
            name: 'probe.ticksReport',
            body: { token: msg.body.token, ticks: this.ticks >>> 0, periodicMs: this.periodicMs },
          },
          channel,
        );
        return;
      case 'probe.burst':
        void this.burst(msg.body.token, msg.body.channel, msg.body.count, msg.body.itemSize, channel);
        return;
      default:
        // Replies and items are for the suite, not for a peer: ignore them.
        return;
    }
  }

  private async burst(
    token: number,
    channelId: number,
    count: number,
    itemSize: number,
    requestChannel: ChannelName,
  ): Promise<void> {
    const channel: ChannelName | undefined =
      channelId === ChannelId.send ? 'send' : channelId === ChannelId.receive ? 'receive' : undefined;
    // Items as large as asked: the send path, not the probe, must keep them within the
    // peer's advertised limit (KKCM-SESS-11); a refused item ends the burst early.
    const size = Math.min(itemSize, Limits.absoluteMaxMessage);
    if (channel === undefined || count * size > MAX_BURST_BYTES) {
      this.reply({ name: 'probe.burstDone', body: { token, count: 0 } }, requestChannel);
      return;
    }
    let sent = 0;
    try {
      for (let index = 0; index < count; index++) {
        const payload = new Uint8Array(size);
        for (let i = 0; i < size; i++) payload[i] = (index + i) & 0xff;
        await this.host.send(
          'probe',
          { name: 'probe.burstItem', body: { token, index, payload } },
          { channel, wait: true },
        );
        sent++;
      }
    } catch {
      // A refused item (too large for the peer, session gone) ends the burst; DONE says how far it got.
    } finally {
      this.reply({ name: 'probe.burstDone', body: { token, count: sent } }, channel);
    }
  }
}
