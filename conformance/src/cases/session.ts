/**
 * Session, control, cleanup, dispatch and periodic cases (cleanup, periodic and most dispatch
 * cases observed through the conformance probe).
 *
 * @module
 */
import {
  ChannelId,
  CleanupDetail,
  CleanupReason,
  encodeMessage,
  encodeRaw,
  ERROR_CODES,
  Flags,
  HEADER_SIZE,
  type DecodedMessage,
  type ProbeCleanupReportBody,
} from '../../../codec/src/index.js';
import { CaseFailure, CaseSkip, describe, type CaseContext, type SuiteSession } from '../harness/context.js';
import type { Wire } from '../harness/wire.js';
import { BOTH, CHANNELS, CONNECTING, defineCase, type ConformanceCase } from './case.js';

const detailName = (v: number): string => Object.entries(CleanupDetail).find(([, x]) => x === v)?.[0] ?? `detail ${v}`;

const reasonName = (v: number): string => Object.entries(CleanupReason).find(([, x]) => x === v)?.[0] ?? `reason ${v}`;

/** `n` bytes of a fixed pseudo-random sequence (a linear congruential generator seeded with `seed`). */
function arbitrary(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Asks the probe for its last cleanup. */
async function queryCleanup(ctx: CaseContext, w: Wire): Promise<ProbeCleanupReportBody> {
  const token = ctx.nextToken();
  w.send({ name: 'probe.queryCleanup', body: { token } });
  const r = await w.expectMessage(
    'probe.cleanupReport',
    ctx.expectMs,
    (m) => (m.body as { token: number }).token === token,
  );
  if (r.found === undefined) throw new CaseFailure('PROBE-CLEANUP-REPORT', describe(r.other));
  return r.found.body;
}

/** Ends a session with `end`, starts the next one, and checks the cleanup the probe saw. */
async function cleanupAfter(
  ctx: CaseContext,
  end: (s: SuiteSession) => void,
  reason: keyof typeof CleanupReason,
  detail?: keyof typeof CleanupDetail,
): Promise<void> {
  const first = await ctx.session();
  const before = await queryCleanup(ctx, first.send);
  end(first);
  // The next HELLO travels on another connection than the SHUTDOWN (or the close): wait until
  // the peer closed the old session, so that it does not rightly refuse the next one as busy.
  await ctx.sessionOver(first);
  const next = await ctx.session();
  const after = await queryCleanup(ctx, next.send);
  if (after.reason !== CleanupReason[reason])
    throw new CaseFailure(`cleanup reason ${reason}`, `cleanup reason ${reasonName(after.reason)}`);
  if (detail !== undefined && after.detail !== CleanupDetail[detail])
    throw new CaseFailure(
      `cleanup detail ${detail}, as the SHUTDOWN carried it (KKCM-CLN-2)`,
      `cleanup detail ${detailName(after.detail)}`,
    );
  if (after.cleanups !== before.cleanups + 1)
    throw new CaseFailure(
      'exactly one cleanup call for the ended session (KKCM-CLN-1)',
      `${after.cleanups - before.cleanups} calls`,
    );
  if (after.sessionId !== first.id)
    throw new CaseFailure(`the cleanup was for session ${first.id}`, `session ${after.sessionId}`);
  ctx.endSession(next);
}

/**
 * Waits until the peer answered every ackRequested message in `seqs` (an ACK covering it,
 * or a NACK for it); the oracle checks each ACK and NACK as it arrives.
 *
 * @returns the outcome of each message, in order.
 */
async function confirmations(ctx: CaseContext, w: Wire, seqs: readonly number[]): Promise<('ack' | 'nack')[]> {
  const deadline = performance.now() + ctx.expectMs;
  while (seqs.some((q) => w.oracle.outcome(q) === undefined)) {
    const left = deadline - performance.now();
    const r = await w
      .until((m) => m.name === 'control.ack' || m.name === 'control.nack', Math.max(1, left), 'ACK or NACK')
      .catch(() => ({ found: undefined, other: undefined }));
    if (r.found === undefined) {
      const open = seqs.filter((q) => w.oracle.outcome(q) === undefined);
      throw new CaseFailure(
        `an ACK covering, or a NACK for, seq ${open.join(', ')} on the ${w.channel ?? ''} channel`,
        r.other !== undefined ? describe(r.other) : 'neither in time',
      );
    }
  }
  return seqs.map((q) => w.oracle.outcome(q)!);
}

/** Intervals the periodic case watches: enough that 2x too slow or too fast is outside the tolerance. */
const PERIODIC_WINDOW = 12;

const isToken =
  (token: number) =>
  (m: DecodedMessage): boolean =>
    (m.body as { token?: number }).token === token;

export const sessionCases: readonly ConformanceCase[] = [
  defineCase({
    id: 'control.echo.exact',
    title: 'ECHO-REQUEST is answered on the same channel with the same token and exactly the payload',
    requirements: ['KKCM-CTL-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['control', 'echo'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        for (const size of [0, 1, 1000]) {
          const token = ctx.nextToken();
          const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
          w.send({ name: 'control.echoRequest', body: { token, payload } });
          const r = await w.expectMessage('control.echoReply', ctx.expectMs, isToken(token));
          if (r.found === undefined)
            throw new CaseFailure(`ECHO-REPLY token ${token} on the ${w.channel ?? ''} channel`, describe(r.other));
          if (Buffer.compare(Buffer.from(r.found.body.payload), Buffer.from(payload)) !== 0)
            throw new CaseFailure(`the ${size}-byte payload returned exactly`, 'a different payload');
        }
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'control.error.names-offender',
    provokes: ['ERR_UNKNOWN_TYPE'],
    title: 'ERROR names the offending sequence number and type',
    requirements: ['KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['control', 'negative'],
    allowedOutcomes: [
      "ERROR ERR_UNKNOWN_TYPE with offendingSeq = the message's seq and offendingType 0x5e, then close",
    ],
    async run(ctx) {
      const s = await ctx.session();
      const { encodeRaw } = await import('../../../codec/src/index.js');
      const seq = s.send.seq++;
      s.send.sendBytes(
        encodeRaw({ type: 0x5e, subtype: 3, seq, version: s.send.version, body: new Uint8Array(0) }),
        'unknown type 0x5e',
      );
      const r = await s.send.expectMessage('control.error', ctx.expectMs);
      if (r.found === undefined) throw new CaseFailure('ERROR', describe(r.other));
      const b = r.found.body;
      if (ERROR_CODES[b.code] !== 'ERR_UNKNOWN_TYPE' || b.offendingSeq !== seq || b.offendingType !== 0x5e) {
        throw new CaseFailure(
          `ERROR ERR_UNKNOWN_TYPE, offendingSeq ${seq}, offendingType 0x5e`,
          `ERROR ${ERROR_CODES[b.code] ?? b.code}, offendingSeq ${b.offendingSeq}, offendingType 0x${b.offendingType.toString(16)}`,
        );
      }
      await ctx.expectClosed(s.send);
    },
  }),
  defineCase({
    id: 'control.ack.cumulative',
    title:
      'Every ackRequested client message is answered on its channel: covered by a cumulative ACK, or NACKed (no handler, or the handler threw)',
    requirements: ['KKCM-CTL-4'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['control', 'delivery'],
    needs: ['deliveryAck'],
    provokes: ['ERR_NO_HANDLER'],
    allowedOutcomes: [
      'for each message: an ACK whose upTo covers it, or a NACK ERR_NO_HANDLER or ERR_HANDLER_FAILED for it before any ACK covering it',
    ],
    async run(ctx) {
      const s = await ctx.session();
      // Client messages of each channel's own types: every peer must take them in (KKCM-CHAN-1)
      // and hand them to a registered client, or NACK them with ERR_NO_HANDLER when it has none.
      const messages = {
        send: [
          { name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } },
          { name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 9n } },
          { name: 'iha.handleTeardown', body: { handle: 2, reason: 2 } },
        ],
        receive: [
          { name: 'prl.packetDrop', body: { handle: 1, count: 1 } },
          { name: 'prl.packetDrop', body: { handle: 2, count: 2 } },
          { name: 'prl.packetDrop', body: { handle: 3, count: 3 } },
        ],
      } as const;
      for (const w of [s.send, s.receive]) {
        const seqs: number[] = [];
        for (const m of messages[w.channel as 'send' | 'receive']) {
          seqs.push(w.seq);
          w.send({ ...m, flags: Flags.ackRequested } as Parameters<Wire['send']>[0]);
        }
        await confirmations(ctx, w, seqs);
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'control.ack.after-acceptance',
    title: 'A message the registered client accepted is confirmed by ACK, never NACKed',
    requirements: ['KKCM-CTL-4', 'KKCM-PROBE-2'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['control', 'delivery', 'probe'],
    needs: ['deliveryAck', 'conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        const seqs: number[] = [];
        for (let i = 0; i < 3; i++) {
          seqs.push(w.seq);
          w.send({
            name: 'probe.echo',
            flags: Flags.ackRequested,
            body: { token: ctx.nextToken(), payload: Uint8Array.of(i) },
          });
        }
        const outcomes = await confirmations(ctx, w, seqs);
        const nacked = seqs.filter((_, i) => outcomes[i] === 'nack');
        if (nacked.length > 0)
          throw new CaseFailure(
            `ACK for the PROBE-ECHO messages the probe client accepted (seq ${seqs.join(', ')})`,
            `NACK for seq ${nacked.join(', ')}`,
          );
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'control.nack.handler-refused',
    title:
      'A client message its handler refuses is NACKed with ERR_HANDLER_FAILED naming it, and the session stays up (the probe refuses a body it cannot read)',
    requirements: ['KKCM-CTL-4', 'KKCM-DISP-3', 'KKCM-PROBE-3'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['control', 'delivery', 'dispatch', 'probe'],
    needs: ['deliveryAck', 'conformanceProbe'],
    provokes: ['ERR_HANDLER_FAILED'],
    allowedOutcomes: [
      "NACK ERR_HANDLER_FAILED for the undecodable PROBE-ECHO's seq, never an ACK covering it; then a PROBE-ECHO-REPLY to a good PROBE-ECHO on the same connection",
    ],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        // A PROBE-ECHO whose 2-byte body cannot hold its token: KKCM hands it to the probe
        // client (client bodies are opaque, KKCM-DISP-3), which refuses it (KKCM-PROBE-3).
        const good = encodeMessage({
          name: 'probe.echo',
          seq: 0,
          version: w.version,
          body: { token: 0, payload: new Uint8Array(0) },
        });
        const seq = w.seq++;
        w.sendBytes(
          encodeRaw({
            type: good[6]!,
            subtype: good[7]!,
            flags: Flags.ackRequested,
            seq,
            version: w.version,
            body: Uint8Array.of(0x4b, 0x4b),
          }),
          'PROBE-ECHO with a 2-byte body (ackRequested)',
        );
        const r = await w
          .until(
            (m) => m.name === 'control.nack' || (m.name === 'control.ack' && m.body.upTo === seq),
            ctx.expectMs,
            'NACK',
          )
          .catch(() => ({ found: undefined, other: undefined }));
        if (r.found?.name === 'control.ack')
          throw new CaseFailure(
            `NACK ERR_HANDLER_FAILED for seq ${seq}, whose handler refused it`,
            `an ACK covering seq ${seq}`,
            'KKCM-CTL-4',
          );
        if (r.found === undefined)
          throw new CaseFailure(
            `NACK ERR_HANDLER_FAILED for seq ${seq} on the ${w.channel ?? ''} channel, the session kept up`,
            describe(r.other),
            r.other?.kind === 'closed' ? 'KKCM-DISP-3' : undefined,
          );
        const nack = r.found.body as { seq: number; code: number };
        if (nack.seq !== seq || ERROR_CODES[nack.code] !== 'ERR_HANDLER_FAILED')
          throw new CaseFailure(
            `NACK ERR_HANDLER_FAILED for seq ${seq}`,
            `NACK ${ERROR_CODES[nack.code] ?? nack.code} for seq ${nack.seq}`,
            'KKCM-CTL-4',
          );
        // The refusal is the client's: the session is still up and serves the next request.
        const token = ctx.nextToken();
        w.send({ name: 'probe.echo', body: { token, payload: Uint8Array.of(1, 2, 3) } });
        const reply = await w.expectMessage('probe.echoReply', ctx.expectMs, isToken(token));
        if (reply.found === undefined)
          throw new CaseFailure(
            `PROBE-ECHO-REPLY token ${token}: the session stays up after a refusal`,
            describe(reply.other),
            'KKCM-DISP-3',
          );
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'session.backup.reconnects',
    title: 'The backup starts a new session after a session ended by SHUTDOWN and after one lost without it',
    requirements: ['KKCM-SESS-14'],
    level: 'MUST',
    roles: ['backup'],
    sides: CONNECTING,
    channels: CHANNELS,
    tags: ['session', 'reconnect', 'backup', 'connecting'],
    async run(ctx) {
      const ends: readonly [string, (s: SuiteSession) => void][] = [
        ['ended by SHUTDOWN peerDown', (s) => ctx.endSession(s, 'peerDown', 'backupOffline')],
        [
          'lost without SHUTDOWN',
          (s) => {
            s.send.destroy();
            s.receive.destroy();
          },
        ],
      ];
      let s = await ctx.session();
      for (const [how, end] of ends) {
        await ctx.barrier(s.send);
        end(s);
        const ended = performance.now();
        // ctx.session() fails KKCM-SESS-14 itself when no connection comes within the bound.
        s = await ctx.session();
        const took = Math.round(performance.now() - ended);
        if (took > ctx.reconnectMs)
          throw new CaseFailure(`a new session within ${ctx.reconnectMs} ms after a session ${how}`, `${took} ms`);
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'session.one-channel-lost',
    title: 'When one channel fails the peer takes the whole session down',
    requirements: ['KKCM-SESS-7'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['session'],
    async run(ctx) {
      const s = await ctx.session();
      s.send.destroy();
      await ctx.expectClosed(s.receive, 'the receive channel closes too');
    },
  }),
  defineCase({
    id: 'cleanup.connection-lost',
    title: 'A session lost without SHUTDOWN is cleaned up once with socketIoError',
    requirements: ['KKCM-CLN-3', 'KKCM-CLN-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['cleanup', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      await cleanupAfter(
        ctx,
        (s) => {
          s.send.destroy();
          s.receive.destroy();
        },
        'socketIoError',
      );
    },
  }),
  defineCase({
    id: 'cleanup.shutdown.peer-down',
    title: 'SHUTDOWN peerDown makes every client clean up with peerDown',
    requirements: ['KKCM-CLN-2', 'KKCM-CLN-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['cleanup', 'shutdown', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      await cleanupAfter(ctx, (s) => ctx.endSession(s, 'peerDown', 'backupOffline'), 'peerDown', 'backupOffline');
    },
  }),
  defineCase({
    id: 'cleanup.shutdown.nsr-deconfigured',
    title: 'SHUTDOWN nsrDeconfigured makes every client clean up with nsrDeconfigured',
    requirements: ['KKCM-CLN-2'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['cleanup', 'shutdown', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      await cleanupAfter(ctx, (s) => ctx.endSession(s, 'nsrDeconfigured', 'none'), 'nsrDeconfigured', 'none');
    },
  }),
  defineCase({
    id: 'cleanup.shutdown.socket-io-error',
    title: 'SHUTDOWN socketIoError makes every client clean up with socketIoError and the detail it carries',
    requirements: ['KKCM-CLN-2'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['cleanup', 'shutdown', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      await cleanupAfter(
        ctx,
        (s) => ctx.endSession(s, 'socketIoError', 'connectionReset'),
        'socketIoError',
        'connectionReset',
      );
    },
  }),
  defineCase({
    id: 'cleanup.protocol-error',
    title: 'A session ended by a protocol error is cleaned up with socketIoError',
    requirements: ['KKCM-CLN-1', 'KKCM-CLN-3'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['cleanup', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      await cleanupAfter(
        ctx,
        (s) => {
          s.send.seq += 3;
          s.send.send({ name: 'control.echoRequest', body: { token: 1, payload: new Uint8Array(0) } });
        },
        'socketIoError',
      );
    },
  }),
  defineCase({
    id: 'control.shutdown.on-deliberate-close',
    title: 'Before a deliberate close the peer sends SHUTDOWN on both channels',
    requirements: ['KKCM-CTL-3'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['control', 'shutdown', 'restart'],
    needs: ['deliberateStop'],
    async run(ctx) {
      const s = await ctx.session();
      await ctx.barrier(s.send);
      if (!(await ctx.closePeerDeliberately()))
        throw new CaseSkip('this target cannot ask the peer to stop (use the embedded target or --exec)');
      for (const w of [s.send, s.receive]) {
        const r = await w.expectMessage('control.shutdown', ctx.ms(5000));
        if (r.found === undefined)
          throw new CaseFailure(`SHUTDOWN on the ${w.channel ?? ''} channel before the close`, describe(r.other));
        const b = r.found.body;
        if (b.reason !== CleanupReason.peerDown || b.detail !== CleanupDetail.peerShutdown)
          throw new CaseFailure(
            'SHUTDOWN reason peerDown, detail peerShutdown (the peer stops)',
            `SHUTDOWN reason ${reasonName(b.reason)}, detail ${detailName(b.detail)}`,
          );
      }
    },
  }),
  defineCase({
    id: 'dispatch.client-body.opaque',
    title:
      'Client messages with any body (empty, random, longer than the illustrative layout, a subtype the spec does not list) are accepted and the session stays up',
    requirements: ['KKCM-DISP-3'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['dispatch', 'clients'],
    async run(ctx) {
      const s = await ctx.session();
      const ack = encodeMessage({ name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 5n } });
      const onSend: [number, number, Uint8Array, string][] = [
        [
          0x11,
          0x02,
          Uint8Array.of(...ack.subarray(HEADER_SIZE), 0xaa, 0xbb, 0xcc),
          'SDRL SOCKET-DATA-ACK, 3 bytes past its layout',
        ],
        [0x10, 0x01, arbitrary(37, 7), 'IHA HANDLE-SETUP-V4 with 37 random bytes'],
        [0x12, 0x02, new Uint8Array(0), 'PSRM STATE-BATCH with an empty body'],
        [0x10, 0x77, arbitrary(5, 9), 'IHA subtype 0x77 (not in the spec), no mayIgnore'],
      ];
      for (const [type, subtype, body, what] of onSend)
        s.send.sendBytes(encodeRaw({ type, subtype, seq: s.send.seq++, version: s.send.version, body }), what);
      s.receive.sendBytes(
        encodeRaw({
          type: 0x20,
          subtype: 0x01,
          seq: s.receive.seq++,
          version: s.receive.version,
          body: arbitrary(3, 11),
        }),
        'PRL PACKET with 3 random bytes',
      );
      await ctx.barrier(s.send, 'ECHO-REPLY after client messages with arbitrary bodies (no ERROR, no close)');
      await ctx.barrier(s.receive, 'ECHO-REPLY after a PRL message with an arbitrary body (no ERROR, no close)');
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'dispatch.probe.echo',
    title: 'A whole message reaches the registered client and its answer comes back on the same channel',
    requirements: ['KKCM-DISP-1', 'KKCM-PROBE-2', 'KKCM-FRM-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['dispatch', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        const token = ctx.nextToken();
        const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);
        const { encodeMessage } = await import('../../../codec/src/index.js');
        const bytes = encodeMessage({ name: 'probe.echo', seq: w.seq++, version: w.version, body: { token, payload } });
        await w.sendInPieces(bytes, 97, 'PROBE-ECHO of 3000 bytes');
        const r = await w.expectMessage('probe.echoReply', ctx.expectMs, isToken(token));
        if (r.found === undefined)
          throw new CaseFailure(`PROBE-ECHO-REPLY on the ${w.channel ?? ''} channel`, describe(r.other));
        if (Buffer.compare(Buffer.from(r.found.body.payload), Buffer.from(payload)) !== 0)
          throw new CaseFailure('the whole payload, unchanged', 'a different payload');
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'dispatch.probe.burst-order',
    title: 'Messages a client sends go out on their channel in the order they were sent',
    requirements: ['KKCM-DISP-2', 'KKCM-PROBE-2'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['dispatch', 'probe', 'ordering'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session();
      for (const [w, channel] of [
        [s.send, 'send'],
        [s.receive, 'receive'],
      ] as const) {
        const token = ctx.nextToken();
        const count = 200;
        w.send({ name: 'probe.burst', body: { token, channel: ChannelId[channel], count, itemSize: 16 } });
        const r = await w.expectMessage('probe.burstDone', ctx.ms(5000), isToken(token));
        if (r.found === undefined) throw new CaseFailure('PROBE-BURST-DONE', describe(r.other));
        const items = r.skipped
          .filter((m) => m.name === 'probe.burstItem' && isToken(token)(m))
          .map((m) => m.body as { index: number; payload: Uint8Array });
        const indexes = items.map((i) => i.index);
        if (indexes.length !== count || indexes.some((v, i) => v !== i))
          throw new CaseFailure(
            `${count} items with indexes 0..${count - 1} in order on the ${channel} channel`,
            `${indexes.length} items: ${indexes.slice(0, 12).join(',')}…`,
          );
        const bad = items.find((it) => it.payload.some((b, i) => b !== ((it.index + i) & 0xff)));
        if (bad !== undefined)
          throw new CaseFailure('item payload byte i = (index + i) mod 256', `item ${bad.index} differs`);
        if (r.found.body.count !== count)
          throw new CaseFailure(`PROBE-BURST-DONE count ${count}`, `count ${r.found.body.count}`);
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'periodic.ticks',
    title: "Each registered client's periodic handler is called at the configured interval",
    requirements: ['KKCM-PER-1'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['periodic', 'probe', 'slow'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session();
      const query = async (): Promise<{ ticks: number; periodicMs: number }> => {
        const token = ctx.nextToken();
        s.send.send({ name: 'probe.queryTicks', body: { token } });
        const r = await s.send.expectMessage('probe.ticksReport', ctx.expectMs, isToken(token));
        if (r.found === undefined) throw new CaseFailure('PROBE-TICKS-REPORT', describe(r.other));
        return r.found.body;
      };
      const first = await query();
      if (first.periodicMs <= 0 || first.periodicMs > 10000)
        throw new CaseSkip(`the peer reports a periodic interval of ${first.periodicMs} ms`);
      const from = performance.now();
      await new Promise((r) => setTimeout(r, Math.max(ctx.ms(first.periodicMs * PERIODIC_WINDOW), 100)));
      const second = await query();
      // The window is measured, not assumed: a slow host stretches it for both sides.
      const elapsed = performance.now() - from;
      const due = elapsed / first.periodicMs;
      const gained = second.ticks - first.ticks;
      const low = Math.floor(due * 0.75) - 1;
      const high = Math.ceil(due * 1.5) + 1;
      if (gained < low || gained > high)
        throw new CaseFailure(
          `${low}..${high} periodic calls in ${Math.round(elapsed)} ms at a ${first.periodicMs} ms interval (75%..150% of ${due.toFixed(1)})`,
          `${gained} calls`,
        );
      ctx.endSession(s);
    },
  }),
];
