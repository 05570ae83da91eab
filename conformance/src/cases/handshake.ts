/**
 * Handshake, version negotiation and session binding cases.
 *
 * @module
 */
import {
  ChannelId,
  ERROR_CODES,
  Feature,
  Limits,
  PROTOCOL_VERSIONS,
  RejectReason,
  type ControlHelloAckBody,
  type ControlHelloRejectBody,
} from '../../../codec/src/index.js';
import { CaseFailure, describe, type CaseContext } from '../harness/context.js';
import type { Wire } from '../harness/wire.js';
import { BOTH, CHANNELS, CONNECTING, defineCase, LISTENING, type ConformanceCase } from './case.js';

const rejectName = (v: number): string => Object.entries(RejectReason).find(([, x]) => x === v)?.[0] ?? `reason ${v}`;

/** Sends a HELLO on a new connection and returns the wire and the peer's first answer. */
async function helloOn(
  ctx: CaseContext,
  channel: 'send' | 'receive',
  id: bigint,
  extra: Parameters<CaseContext['hello']>[2] = {},
): Promise<{ wire: Wire; answer: Awaited<ReturnType<Wire['next']>> }> {
  const wire = await ctx.connection(channel);
  wire.send({
    name: 'control.hello',
    body: ctx.hello(channel, id, extra),
    version: extra.maxVersion ?? PROTOCOL_VERSIONS.max,
  });
  return { wire, answer: await wire.next(ctx.expectMs, 'HELLO-ACK or HELLO-REJECT') };
}

async function expectReject(
  ctx: CaseContext,
  wire: Wire,
  answer: Awaited<ReturnType<Wire['next']>>,
  reason: keyof typeof RejectReason,
): Promise<ControlHelloRejectBody> {
  const expected = `HELLO-REJECT ${reason}, then the connection closes`;
  if (answer.kind !== 'message' || answer.message.name !== 'control.helloReject')
    throw new CaseFailure(expected, describe(answer));
  const body = answer.message.body;
  if (body.reason !== RejectReason[reason]) throw new CaseFailure(expected, `HELLO-REJECT ${rejectName(body.reason)}`);
  await ctx.expectClosed(wire, expected);
  return body;
}

/**
 * Takes the connecting peer's next HELLO of an attempt not refused yet (the other channel of
 * a refused attempt may still arrive: it closes with its session), answers it with a
 * HELLO-ACK changed by `fault`, and expects ERROR ERR_BAD_HELLO, then the close.
 */
async function refuseHelloAck(
  ctx: CaseContext,
  refused: Set<bigint>,
  what: string,
  fault: (sessionId: bigint) => Partial<ControlHelloAckBody>,
): Promise<void> {
  let wire: Wire;
  let hello: { sessionId: bigint; channel: number; maxVersion: number };
  for (;;) {
    ({ wire, hello } = await ctx.helloConnection('HELLO'));
    if (!refused.has(hello.sessionId)) break;
    wire.destroy();
  }
  refused.add(hello.sessionId);
  const version = Math.min(hello.maxVersion, PROTOCOL_VERSIONS.max);
  wire.send({
    name: 'control.helloAck',
    version,
    body: {
      version,
      role: ctx.suiteRoleValue,
      channel: hello.channel,
      features: 0,
      nodeId: 0,
      maxMessage: Limits.defaultMaxMessage,
      sessionId: hello.sessionId,
      nodeName: 'kkcm-conformance',
      ...fault(hello.sessionId),
    },
  });
  const expected = `ERROR ERR_BAD_HELLO for a HELLO-ACK with ${what}, then the connection closes`;
  const e = await wire.expectMessage('control.error', ctx.expectMs);
  if (e.found === undefined) throw new CaseFailure(expected, describe(e.other));
  const code = ERROR_CODES[e.found.body.code] ?? `code ${e.found.body.code}`;
  if (code !== 'ERR_BAD_HELLO') throw new CaseFailure(expected, `ERROR ${code}`);
  await ctx.expectClosed(wire, expected);
}

/**
 * Waits for the peer to close a connection at its handshake timeout, measured from `since`.
 * Beyond the tolerance (1.5x the timeout the suite assumes, + 1 s) the suite keeps watching up
 * to 2.5x the tolerance, so that a peer configured with a longer timeout is told apart from one that never
 * closes: the failure gives the observed time and the flag that says it.
 */
async function closedAtHandshakeTimeout(ctx: CaseContext, wire: Wire, since: number): Promise<void> {
  const assumed = ctx.facts.handshakeTimeoutMs;
  const limit = ctx.ms(assumed * 1.5 + 1000);
  const expected = `the connection closes within the handshake timeout (KKCM-SESS-8): the suite assumes ${assumed} ms, tolerance ${limit} ms`;
  const closed = await ctx.expectClosed(wire, expected, limit).then(
    () => true,
    () => false,
  );
  const took = Math.round(performance.now() - since);
  if (closed) {
    ctx.transcript.note(`closed after ${took} ms (the suite assumes a ${assumed} ms handshake timeout)`);
    return;
  }
  const later = await ctx.expectClosed(wire, expected, Math.round(limit * 1.5)).then(
    () => true,
    () => false,
  );
  const at = Math.round(performance.now() - since);
  throw new CaseFailure(
    expected,
    later
      ? `closed after ${at} ms: the peer's handshake timeout looks like ${at} ms; if it is configured so, run with --handshake-timeout ${at}`
      : `still open after ${at} ms (2.5x the tolerance)`,
  );
}

export const handshakeCases: readonly ConformanceCase[] = [
  defineCase({
    id: 'handshake.hello.compatible',
    title: 'A HELLO with a compatible version range gets HELLO-ACK echoing session id and channel',
    requirements: ['KKCM-SESS-1', 'KKCM-SESS-2'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: CHANNELS,
    tags: ['handshake', 'version'],
    async run(ctx) {
      const id = ctx.newSessionId();
      for (const channel of CHANNELS) {
        const { answer } = await helloOn(ctx, channel, id);
        if (answer.kind !== 'message' || answer.message.name !== 'control.helloAck')
          throw new CaseFailure(`HELLO-ACK on the ${channel} channel`, describe(answer));
        const ack = answer.message.body;
        if (ack.sessionId !== id) throw new CaseFailure(`session id ${id}`, `session id ${ack.sessionId}`);
        if (ack.channel !== ChannelId[channel])
          throw new CaseFailure(`channel ${ChannelId[channel]}`, `channel ${ack.channel}`);
        if (ack.version !== PROTOCOL_VERSIONS.max)
          throw new CaseFailure(`version ${PROTOCOL_VERSIONS.max} (the highest common)`, `version ${ack.version}`);
        if (ack.role !== ctx.peerRoleValue)
          throw new CaseFailure(`its own role, ${ctx.role} (${ctx.peerRoleValue})`, `role ${ack.role}`);
        if (answer.message.header.version !== ack.version)
          throw new CaseFailure(
            'the HELLO-ACK header written in the negotiated version',
            `header version ${answer.message.header.version}`,
          );
      }
    },
  }),
  defineCase({
    id: 'handshake.version.overlap',
    title: 'Overlapping version ranges negotiate the highest common version',
    requirements: ['KKCM-SESS-2'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'version'],
    async run(ctx) {
      const { answer } = await helloOn(ctx, 'send', ctx.newSessionId(), {
        minVersion: PROTOCOL_VERSIONS.min,
        maxVersion: 200,
      });
      if (answer.kind !== 'message' || answer.message.name !== 'control.helloAck')
        throw new CaseFailure('HELLO-ACK for the range 1..200', describe(answer));
      const v = answer.message.body.version;
      if (v < PROTOCOL_VERSIONS.max || v > 200)
        throw new CaseFailure(`a version in ${PROTOCOL_VERSIONS.max}..200 (the highest both speak)`, `version ${v}`);
    },
  }),
  defineCase({
    id: 'handshake.version.incompatible',
    title: 'A HELLO whose range does not overlap is refused with versionIncompatible, then closed',
    requirements: ['KKCM-SESS-3'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'version', 'negative'],
    provokes: ['versionIncompatible'],
    allowedOutcomes: ['HELLO-REJECT versionIncompatible, then close'],
    async run(ctx) {
      const { wire, answer } = await helloOn(ctx, 'send', ctx.newSessionId(), { minVersion: 200, maxVersion: 250 });
      const body = await expectReject(ctx, wire, answer, 'versionIncompatible');
      if (body.minVersion > body.maxVersion)
        throw new CaseFailure("the peer's own version range in the reject", `${body.minVersion}..${body.maxVersion}`);
    },
  }),
  defineCase({
    id: 'handshake.hello.inconsistent',
    title: 'A HELLO with min version above max version is a protocol error',
    requirements: ['KKCM-SESS-1', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'negative'],
    provokes: ['ERR_BAD_HELLO'],
    allowedOutcomes: ['ERROR ERR_BAD_HELLO, then close'],
    async run(ctx) {
      const wire = await ctx.connection('send');
      wire.send({
        name: 'control.hello',
        body: ctx.hello('send', ctx.newSessionId(), { minVersion: 1, maxVersion: 0 }),
      });
      await ctx.expectErrorAndClose(wire, ['ERR_BAD_HELLO']);
    },
  }),
  defineCase({
    id: 'handshake.limit.too-small',
    title: 'A HELLO advertising a largest message below the minimum is refused',
    requirements: ['KKCM-LIM-1'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'limits', 'negative'],
    provokes: ['messageLimitTooSmall'],
    allowedOutcomes: ['HELLO-REJECT messageLimitTooSmall, then close'],
    async run(ctx) {
      const { wire, answer } = await helloOn(ctx, 'send', ctx.newSessionId(), { maxMessage: Limits.minMaxMessage - 1 });
      await expectReject(ctx, wire, answer, 'messageLimitTooSmall');
    },
  }),
  defineCase({
    id: 'handshake.limit.advertised',
    title: 'The peer advertises a largest message between the protocol minimum and maximum',
    requirements: ['KKCM-LIM-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['handshake', 'limits'],
    async run(ctx) {
      const s = await ctx.session();
      const max = s.peerHello.maxMessage;
      if (max < Limits.minMaxMessage || max > Limits.absoluteMaxMessage)
        throw new CaseFailure(
          `maxMessage in ${Limits.minMaxMessage}..${Limits.absoluteMaxMessage}`,
          `maxMessage ${max}`,
        );
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'handshake.binding.two-channels',
    title: 'Two channels with one session id bind into one session that carries traffic',
    requirements: ['KKCM-SESS-4', 'KKCM-SESS-5'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['handshake', 'session'],
    async run(ctx) {
      const s = await ctx.session();
      await ctx.barrier(s.send);
      await ctx.barrier(s.receive);
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'handshake.binding.session-mismatch',
    title: 'A second channel with another session id is refused with sessionMismatch',
    requirements: ['KKCM-SESS-4'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: CHANNELS,
    tags: ['handshake', 'session', 'negative'],
    provokes: ['sessionMismatch'],
    allowedOutcomes: ['HELLO-REJECT sessionMismatch, then close'],
    async run(ctx) {
      const first = await helloOn(ctx, 'send', ctx.newSessionId());
      if (first.answer.kind !== 'message' || first.answer.message.name !== 'control.helloAck')
        throw new CaseFailure('HELLO-ACK on the first channel', describe(first.answer));
      const second = await helloOn(ctx, 'receive', ctx.newSessionId());
      await expectReject(ctx, second.wire, second.answer, 'sessionMismatch');
    },
  }),
  defineCase({
    id: 'handshake.second-session.refused',
    title: 'A HELLO for a second session while one is up is refused, and the first session keeps working',
    requirements: ['KKCM-SESS-6'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: CHANNELS,
    tags: ['handshake', 'session', 'negative'],
    provokes: ['sessionBusy'],
    allowedOutcomes: ['HELLO-REJECT sessionBusy, then close; the first session answers ECHO'],
    async run(ctx) {
      const s = await ctx.session();
      const other = await helloOn(ctx, 'send', ctx.newSessionId());
      await expectReject(ctx, other.wire, other.answer, 'sessionBusy');
      await ctx.barrier(s.send, 'the first session still answers ECHO on the send channel');
      await ctx.barrier(s.receive, 'the first session still answers ECHO on the receive channel');
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'handshake.client-message-first',
    title: 'A client message before HELLO is a protocol error',
    requirements: ['KKCM-SESS-9', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'negative'],
    provokes: ['ERR_UNEXPECTED_MESSAGE'],
    allowedOutcomes: ['ERROR ERR_UNEXPECTED_MESSAGE, then close'],
    async run(ctx) {
      const wire = await ctx.connection('send');
      wire.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } });
      await ctx.expectErrorAndClose(wire, ['ERR_UNEXPECTED_MESSAGE']);
    },
  }),
  defineCase({
    id: 'handshake.client-message-half-bound',
    title:
      'A client message on a bound channel before the other channel is bound is a protocol error, and the ERROR names it',
    requirements: ['KKCM-SESS-9', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'negative'],
    provokes: ['ERR_UNEXPECTED_MESSAGE'],
    allowedOutcomes: ["ERROR ERR_UNEXPECTED_MESSAGE naming the IHA message's seq, type and subtype, then close"],
    async run(ctx) {
      const { wire, answer } = await helloOn(ctx, 'send', ctx.newSessionId());
      if (answer.kind !== 'message' || answer.message.name !== 'control.helloAck')
        throw new CaseFailure('HELLO-ACK on the send channel', describe(answer));
      wire.bound(answer.message.body.version);
      // The session is not up (no receive channel): the oracle checks the ERROR names this message.
      wire.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } });
      await ctx.expectErrorAndClose(wire, ['ERR_UNEXPECTED_MESSAGE']);
    },
  }),
  defineCase({
    id: 'handshake.timeout.silent-connection',
    title: 'A connection that never sends HELLO is closed at the handshake timeout',
    requirements: ['KKCM-SESS-8'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'timeout', 'slow'],
    allowedOutcomes: [
      'the connection closes within the handshake timeout (ERROR ERR_HANDSHAKE_TIMEOUT before it is allowed)',
    ],
    async run(ctx) {
      const wire = await ctx.connection('send');
      await closedAtHandshakeTimeout(ctx, wire, performance.now());
    },
  }),
  defineCase({
    id: 'handshake.timeout.one-channel-bound',
    title: 'A session whose second channel never comes is abandoned at the handshake timeout, with ERROR',
    requirements: ['KKCM-SESS-12', 'KKCM-SESS-5'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'timeout', 'slow'],
    provokes: ['ERR_HANDSHAKE_TIMEOUT'],
    allowedOutcomes: ['ERROR ERR_HANDSHAKE_TIMEOUT on the bound channel, then close, within the handshake timeout'],
    async run(ctx) {
      const wire = await ctx.connection('send');
      wire.send({ name: 'control.hello', body: ctx.hello('send', ctx.newSessionId()) });
      const ack = await wire.expectMessage('control.helloAck', ctx.expectMs);
      if (ack.found === undefined) throw new CaseFailure('HELLO-ACK on the send channel', describe(ack.other));
      const expected = `ERROR ERR_HANDSHAKE_TIMEOUT within the handshake timeout (${ctx.facts.handshakeTimeoutMs} ms), then the connection closes`;
      const limit = ctx.ms(ctx.facts.handshakeTimeoutMs * 1.5 + 1000);
      const r = await wire.expectMessage('control.error', limit).catch(() => ({ found: undefined, other: undefined }));
      if (r.found === undefined)
        throw new CaseFailure(expected, r.other !== undefined ? describe(r.other) : 'no ERROR in time');
      const code = ERROR_CODES[r.found.body.code] ?? `code ${r.found.body.code}`;
      if (code !== 'ERR_HANDSHAKE_TIMEOUT') throw new CaseFailure(expected, `ERROR ${code}`);
      await ctx.expectClosed(wire, expected);
    },
  }),
  defineCase({
    id: 'handshake.backup.hello-first',
    title:
      'The connecting peer sends HELLO first on each connection, claiming its own protocol role, one per channel, one session id',
    requirements: ['KKCM-SESS-1', 'KKCM-SESS-4'],
    level: 'MUST',
    roles: BOTH,
    sides: CONNECTING,
    channels: CHANNELS,
    tags: ['handshake', 'connecting'],
    async run(ctx) {
      const s = await ctx.session();
      const hello = s.peerHello as {
        role: number;
        features: number;
        minVersion: number;
        maxVersion: number;
        sessionId: bigint;
      };
      if (hello.role !== ctx.peerRoleValue)
        throw new CaseFailure(`its own role, ${ctx.role} (${ctx.peerRoleValue}), in the HELLO`, `role ${hello.role}`);
      if (hello.sessionId === 0n) throw new CaseFailure('a non-zero session id', 'session id 0');
      if (hello.minVersion > hello.maxVersion)
        throw new CaseFailure('min version <= max version', `${hello.minVersion}..${hello.maxVersion}`);
      await ctx.barrier(s.send);
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'handshake.backup.timeout',
    title: 'A connecting peer whose HELLO is never answered closes at the handshake timeout',
    requirements: ['KKCM-SESS-8'],
    level: 'MUST',
    roles: BOTH,
    sides: CONNECTING,
    channels: ['send'],
    tags: ['handshake', 'timeout', 'connecting', 'slow'],
    async run(ctx) {
      // Measured from the HELLO: the peer's timer started at its connect, a moment earlier, so
      // the time measured is never longer than its timeout (the check is an upper bound).
      const { wire } = await ctx.helloConnection('HELLO', undefined);
      await closedAtHandshakeTimeout(ctx, wire, performance.now());
    },
  }),
  defineCase({
    id: 'handshake.role.conflict',
    title: "A HELLO claiming the listening peer's own protocol role is refused with roleConflict",
    requirements: ['KKCM-SESS-13'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'negative'],
    provokes: ['roleConflict'],
    allowedOutcomes: ['HELLO-REJECT roleConflict, then close'],
    async run(ctx) {
      const { wire, answer } = await helloOn(ctx, 'send', ctx.newSessionId(), { role: ctx.peerRoleValue });
      await expectReject(ctx, wire, answer, 'roleConflict');
    },
  }),
  defineCase({
    id: 'handshake.slot.conflict',
    title: 'In dual-re, the listening RE0 refuses a HELLO whose nodeId is not 1 (the slot of RE1) with slotConflict',
    requirements: ['KKCM-SESS-13'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    topologies: ['dual-re'],
    tags: ['handshake', 'negative', 'role', 'dual-re'],
    provokes: ['slotConflict'],
    allowedOutcomes: ['HELLO-REJECT slotConflict, then close'],
    async run(ctx) {
      for (const nodeId of [0, 2]) {
        const { wire, answer } = await helloOn(ctx, 'send', ctx.newSessionId(), { nodeId });
        await expectReject(ctx, wire, answer, 'slotConflict');
      }
    },
  }),
  defineCase({
    id: 'handshake.binding.channel-busy',
    title: 'A second HELLO for a channel of the pending session that is already bound is refused with channelBusy',
    requirements: ['KKCM-SESS-4'],
    level: 'MUST',
    roles: BOTH,
    sides: LISTENING,
    channels: ['send'],
    tags: ['handshake', 'session', 'negative'],
    provokes: ['channelBusy'],
    allowedOutcomes: ['HELLO-REJECT channelBusy, then close; the first connection stays bound'],
    async run(ctx) {
      const id = ctx.newSessionId();
      const first = await helloOn(ctx, 'send', id);
      if (first.answer.kind !== 'message' || first.answer.message.name !== 'control.helloAck')
        throw new CaseFailure('HELLO-ACK on the first send connection', describe(first.answer));
      const second = await helloOn(ctx, 'send', id);
      await expectReject(ctx, second.wire, second.answer, 'channelBusy');
    },
  }),
  defineCase({
    id: 'handshake.backup.honours-retry-after',
    title: 'A connecting peer refused with sessionBusy waits retryAfterMs before it connects again',
    requirements: ['KKCM-SESS-10'],
    level: 'SHOULD',
    roles: BOTH,
    sides: CONNECTING,
    channels: ['send'],
    tags: ['handshake', 'reconnect', 'connecting', 'slow'],
    async run(ctx) {
      const retryAfterMs = 1500;
      const { wire, hello } = await ctx.helloConnection('HELLO');
      wire.send({
        name: 'control.helloReject',
        version: hello.maxVersion,
        body: { reason: RejectReason.sessionBusy, minVersion: 1, maxVersion: 1, retryAfterMs, text: 'busy' },
      });
      const refused = performance.now();
      await ctx.expectClosed(wire, 'the refused connection closes');
      // The peer's other channel may have connected already: its attempt is the same one.
      const next = await ctx.nextAttempt(hello.sessionId, ctx.ms(retryAfterMs + 15000));
      const waited = Math.round(next - refused);
      if (waited < retryAfterMs * 0.9)
        throw new CaseFailure(`a new attempt no sooner than retryAfterMs (${retryAfterMs} ms)`, `after ${waited} ms`);
    },
  }),
  defineCase({
    id: 'handshake.backup.reconnect',
    title: 'After the session is lost the connecting peer reconnects with a new session',
    requirements: ['KKCM-SESS-10'],
    level: 'SHOULD',
    roles: BOTH,
    sides: CONNECTING,
    channels: CHANNELS,
    tags: ['handshake', 'reconnect', 'connecting'],
    async run(ctx) {
      const first = await ctx.session();
      first.send.destroy();
      first.receive.destroy();
      const second = await ctx.session();
      if (second.id === first.id)
        throw new CaseFailure('a new session id after reconnecting', `the same id ${first.id}`);
      await ctx.barrier(second.send);
      ctx.endSession(second);
    },
  }),
  defineCase({
    id: 'handshake.backup.respects-limit',
    title: 'The peer never sends a message larger than the largest message the suite advertised',
    requirements: ['KKCM-SESS-11'],
    level: 'MUST',
    roles: BOTH,
    sides: CONNECTING,
    channels: ['send'],
    tags: ['handshake', 'limits', 'probe', 'connecting'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session({ maxMessage: Limits.minMaxMessage });
      const token = ctx.nextToken();
      s.send.send({
        name: 'probe.burst',
        body: { token, channel: ChannelId.send, count: 4, itemSize: Limits.minMaxMessage },
      });
      const r = await s.send.expectMessage('probe.burstDone', ctx.expectMs);
      if (r.found === undefined) throw new CaseFailure('PROBE-BURST-DONE', describe(r.other));
      const tooBig = r.skipped.find((m) => m.header.length > Limits.minMaxMessage);
      if (tooBig !== undefined)
        throw new CaseFailure(
          `no message above ${Limits.minMaxMessage} bytes`,
          `a message of ${tooBig.header.length} bytes`,
        );
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'handshake.backup.checks-hello-ack',
    title:
      'The connecting peer refuses a HELLO-ACK with another session id, or advertising less than minMaxMessage, with ERROR ERR_BAD_HELLO',
    requirements: ['KKCM-SESS-4', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    sides: CONNECTING,
    channels: CHANNELS,
    tags: ['handshake', 'connecting', 'negative'],
    provokes: ['ERR_BAD_HELLO'],
    allowedOutcomes: ['ERROR ERR_BAD_HELLO naming the HELLO-ACK, then the connection closes'],
    async run(ctx) {
      const refused = new Set<bigint>();
      await refuseHelloAck(ctx, refused, 'another session id', (id) => ({ sessionId: id ^ 2n }));
      await refuseHelloAck(ctx, refused, `maxMessage ${Limits.minMaxMessage - 1}`, (id) => ({
        sessionId: id,
        maxMessage: Limits.minMaxMessage - 1,
      }));
    },
  }),
  defineCase({
    id: 'handshake.connecting.rejects-own-role',
    title:
      'The connecting peer refuses a HELLO-ACK claiming its own protocol role with ERROR ERR_BAD_HELLO, then closes',
    requirements: ['KKCM-SESS-13', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    sides: CONNECTING,
    channels: ['send'],
    tags: ['handshake', 'connecting', 'negative', 'role'],
    provokes: ['ERR_BAD_HELLO'],
    allowedOutcomes: ['ERROR ERR_BAD_HELLO, then the connection closes'],
    async run(ctx) {
      await refuseHelloAck(ctx, new Set(), `its own role, ${ctx.role}`, (id) => ({
        sessionId: id,
        role: ctx.peerRoleValue,
      }));
    },
  }),
  defineCase({
    id: 'handshake.features.probe-offered',
    title: 'The peer offers the conformance probe',
    requirements: ['KKCM-PROBE-1'],
    level: 'SHOULD',
    roles: BOTH,
    channels: ['send'],
    tags: ['handshake', 'probe'],
    async run(ctx) {
      const s = await ctx.session();
      if ((s.peerHello.features & Feature.conformanceProbe) === 0)
        throw new CaseFailure('feature conformanceProbe', `features 0x${s.peerHello.features.toString(16)}`);
      ctx.endSession(s);
    },
  }),
];
