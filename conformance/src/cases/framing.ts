/**
 * Framing, header, sequence, channel-mapping and type cases, run on an established session
 * in either role.
 *
 * Why one file past ~500 lines: every case here is a framing or header rule judged the same way
 * (send one fault on an established session, expect ERROR and the close), sharing `violation` and
 * the header builders; split by rule it would repeat them.
 *
 * @module
 */
import { encodeMessage, encodeRaw, Flags, HEADER_SIZE, type ErrorCode } from '../../../codec/src/index.js';
import { CaseFailure, describe, type CaseContext, type SuiteSession } from '../harness/context.js';
import type { Wire } from '../harness/wire.js';
import { BOTH, CHANNELS, defineCase, type ConformanceCase } from './case.js';

/** Sends something on an established session and expects ERROR with one of `codes`, then the whole session closed. */
async function violation(
  ctx: CaseContext,
  codes: readonly ErrorCode[],
  act: (s: SuiteSession) => Wire | Promise<Wire>,
): Promise<void> {
  const s = await ctx.session();
  const wire = await act(s);
  if (wire.lastSent !== undefined) wire.oracle.expectOffender(wire.lastSent);
  const other = wire === s.send ? s.receive : s.send;
  await ctx.expectErrorAndClose(wire, codes, [other]);
}

/** Re-encodes a message with a header field patched. */
function patched(wire: Wire, name: 'control.echoRequest', patch: (b: Buffer) => void): Uint8Array {
  const b = Buffer.from(
    encodeMessage({
      name,
      seq: wire.seq,
      version: wire.version,
      body: { token: 1, payload: Uint8Array.of(1, 2, 3, 4) },
    }),
  );
  wire.seq++;
  patch(b);
  return b;
}

const negative = (codes: readonly string[]): readonly string[] => [
  `ERROR ${codes.join(' or ')}, then both connections close`,
];

export const framingCases: readonly ConformanceCase[] = [
  defineCase({
    id: 'framing.split.byte-by-byte',
    title: 'A message sent one byte per write is reassembled and handled whole',
    requirements: ['KKCM-FRM-1', 'KKCM-DISP-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['framing'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        const token = ctx.nextToken();
        const payload = Uint8Array.from({ length: 40 }, (_, i) => i);
        const bytes = encodeMessage({
          name: 'control.echoRequest',
          seq: w.seq++,
          version: w.version,
          body: { token, payload },
        });
        await w.sendInPieces(bytes, 1, 'ECHO-REQUEST');
        const r = await w.expectMessage(
          'control.echoReply',
          ctx.expectMs,
          (m) => (m.body as { token: number }).token === token,
        );
        if (r.found === undefined)
          throw new CaseFailure(
            `ECHO-REPLY to the split ECHO-REQUEST on the ${w.channel ?? ''} channel`,
            describe(r.other),
          );
        if (Buffer.compare(Buffer.from(r.found.body.payload), Buffer.from(payload)) !== 0)
          throw new CaseFailure('the payload returned exactly', 'a different payload');
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'framing.split.header-straddle',
    title: 'Messages cut inside the header and inside the body are reassembled',
    requirements: ['KKCM-FRM-1'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing'],
    async run(ctx) {
      const s = await ctx.session();
      const w = s.send;
      const a = encodeMessage({
        name: 'control.echoRequest',
        seq: w.seq++,
        version: w.version,
        body: { token: 101, payload: new Uint8Array(300).fill(7) },
      });
      const b = encodeMessage({
        name: 'control.echoRequest',
        seq: w.seq++,
        version: w.version,
        body: { token: 102, payload: new Uint8Array(10).fill(8) },
      });
      const all = Buffer.concat([a, b]);
      w.sendBytes(all.subarray(0, 7), 'first 7 bytes (inside the header)');
      await new Promise((r) => setTimeout(r, 5));
      w.sendBytes(all.subarray(7, a.byteLength + 5), 'the rest of the first message and 5 bytes of the second');
      await new Promise((r) => setTimeout(r, 5));
      w.sendBytes(all.subarray(a.byteLength + 5), 'the rest');
      for (const token of [101, 102]) {
        const r = await w.expectMessage(
          'control.echoReply',
          ctx.expectMs,
          (m) => (m.body as { token: number }).token === token,
        );
        if (r.found === undefined) throw new CaseFailure(`ECHO-REPLY token ${token}`, describe(r.other));
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'framing.coalesced.many-in-one-write',
    title: 'Many messages in one write are all handled, in order',
    requirements: ['KKCM-FRM-2', 'KKCM-DISP-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['framing'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        const frames: Uint8Array[] = [];
        for (let i = 0; i < 50; i++)
          frames.push(
            encodeMessage({
              name: 'control.echoRequest',
              seq: w.seq++,
              version: w.version,
              body: { token: 1000 + i, payload: Uint8Array.of(i) },
            }),
          );
        w.sendBytes(Buffer.concat(frames), '50 ECHO-REQUESTs in one write');
        const got: number[] = [];
        while (got.length < 50) {
          const r = await w.expectMessage('control.echoReply', ctx.expectMs);
          if (r.found === undefined)
            throw new CaseFailure('50 ECHO-REPLYs', `${got.length} and then ${describe(r.other)}`);
          got.push(r.found.body.token);
        }
        const want = Array.from({ length: 50 }, (_, i) => 1000 + i);
        if (got.join() !== want.join()) throw new CaseFailure('replies in request order', got.join(','));
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'framing.limit.largest-accepted',
    title: 'A message exactly as large as the peer advertised is accepted',
    requirements: ['KKCM-FRM-6'],
    level: 'MUST',
    roles: BOTH,
    channels: ['receive'],
    tags: ['framing', 'limits'],
    async run(ctx) {
      const s = await ctx.session();
      const w = s.receive;
      const size = s.peerMaxMessage;
      const payload = new Uint8Array(size - HEADER_SIZE - 8).fill(0x5a);
      w.send({ name: 'control.echoRequest', body: { token: 77, payload } });
      const r = await w.expectMessage(
        'control.echoReply',
        ctx.ms(5000),
        (m) => (m.body as { token: number }).token === 77,
      );
      if (r.found === undefined)
        throw new CaseFailure(`ECHO-REPLY to an ECHO-REQUEST of ${size} bytes`, describe(r.other));
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'framing.limit.too-large',
    title: 'A header announcing more than the advertised largest message is refused before its body arrives',
    requirements: ['KKCM-FRM-3', 'KKCM-CTL-2', 'KKCM-LIM-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'limits', 'negative'],
    allowedOutcomes: negative(['ERR_FRAME_TOO_LARGE']),
    provokes: ['ERR_FRAME_TOO_LARGE'],
    async run(ctx) {
      await violation(ctx, ['ERR_FRAME_TOO_LARGE'], (s) => {
        const b = patched(s.send, 'control.echoRequest', (x) => x.writeUInt32BE(s.peerMaxMessage + 1, 8));
        s.send.sendBytes(b.subarray(0, HEADER_SIZE), 'a header announcing maxMessage + 1 bytes, and no body');
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'framing.length.smaller-than-header',
    title: 'A length smaller than the header is refused',
    requirements: ['KKCM-FRM-4', 'KKCM-HDR-2', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_LENGTH_TOO_SMALL']),
    provokes: ['ERR_LENGTH_TOO_SMALL'],
    async run(ctx) {
      await violation(ctx, ['ERR_LENGTH_TOO_SMALL'], (s) => {
        s.send.sendBytes(
          patched(s.send, 'control.echoRequest', (x) => x.writeUInt32BE(HEADER_SIZE - 1, 8)),
          'length 15',
        );
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'framing.magic.bad',
    title: 'A header with a bad magic value is refused',
    requirements: ['KKCM-FRM-5', 'KKCM-HDR-1', 'KKCM-CTL-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['receive'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_BAD_MAGIC']),
    provokes: ['ERR_BAD_MAGIC'],
    async run(ctx) {
      await violation(ctx, ['ERR_BAD_MAGIC'], (s) => {
        s.receive.sendBytes(
          patched(s.receive, 'control.echoRequest', (x) => x.writeUInt32BE(0x4b4b434e, 0)),
          'magic 0x4b4b434e',
        );
        return s.receive;
      });
    },
  }),
  defineCase({
    id: 'framing.length.body-mismatch',
    title: 'A body longer than its layout is a protocol error',
    requirements: ['KKCM-FRM-7', 'KKCM-HDR-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_TRAILING_BYTES', 'ERR_BAD_LENGTH_FIELD']),
    provokes: ['ERR_TRAILING_BYTES'],
    async run(ctx) {
      await violation(ctx, ['ERR_TRAILING_BYTES', 'ERR_BAD_LENGTH_FIELD'], (s) => {
        const ack = Buffer.from(
          encodeMessage({ name: 'control.ack', seq: s.send.seq++, version: s.send.version, body: { upTo: 0 } }),
        );
        const longer = Buffer.concat([ack, Buffer.from([0, 0, 0, 0])]);
        longer.writeUInt32BE(longer.length, 8);
        s.send.sendBytes(longer, 'ACK with 4 extra body bytes');
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'framing.length.field-overrun',
    title: 'A length field announcing more bytes than the body holds is a protocol error',
    requirements: ['KKCM-FRM-7'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_BAD_LENGTH_FIELD']),
    provokes: ['ERR_BAD_LENGTH_FIELD'],
    async run(ctx) {
      await violation(ctx, ['ERR_BAD_LENGTH_FIELD'], (s) => {
        s.send.sendBytes(
          patched(s.send, 'control.echoRequest', (x) => x.writeUInt32BE(400, HEADER_SIZE + 4)),
          'ECHO-REQUEST with payloadLength 400 and 4 bytes',
        );
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'framing.body.truncated',
    title: 'A body shorter than its fixed layout is a protocol error',
    requirements: ['KKCM-FRM-7'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_TRUNCATED_BODY']),
    provokes: ['ERR_TRUNCATED_BODY'],
    async run(ctx) {
      await violation(ctx, ['ERR_TRUNCATED_BODY'], (s) => {
        const ack = Buffer.from(
          encodeMessage({ name: 'control.ack', seq: s.send.seq++, version: s.send.version, body: { upTo: 0 } }),
        );
        const shorter = Buffer.from(ack.subarray(0, HEADER_SIZE + 2));
        shorter.writeUInt32BE(shorter.length, 8);
        s.send.sendBytes(shorter, 'ACK with 2 of its 4 body bytes');
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'framing.string.bad-utf8',
    title: 'A string field of a control message that is not valid UTF-8 is a protocol error',
    requirements: ['KKCM-FRM-7'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['framing', 'negative'],
    allowedOutcomes: negative(['ERR_BAD_UTF8']),
    provokes: ['ERR_BAD_UTF8'],
    async run(ctx) {
      await violation(ctx, ['ERR_BAD_UTF8'], (s) => {
        const b = Buffer.from(
          encodeMessage({
            name: 'control.shutdown',
            seq: s.send.seq++,
            version: s.send.version,
            body: { reason: 0, detail: 0, text: 'ab' },
          }),
        );
        b[b.length - 2] = 0xc3; // a two-byte sequence cut by the next byte: not UTF-8
        b[b.length - 1] = 0x28;
        s.send.sendBytes(b, 'SHUTDOWN with text 0xc3 0x28');
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'header.flags.reserved-bit',
    title: 'A reserved flag bit set is a protocol error',
    requirements: ['KKCM-HDR-3'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['header', 'negative'],
    allowedOutcomes: negative(['ERR_RESERVED_FLAG']),
    provokes: ['ERR_RESERVED_FLAG'],
    async run(ctx) {
      await violation(ctx, ['ERR_RESERVED_FLAG'], (s) => {
        s.send.sendBytes(
          patched(s.send, 'control.echoRequest', (x) => {
            x[5] = 0x80;
          }),
          'flags 0x80',
        );
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'header.reserved-field.nonzero',
    title: 'A non-zero reserved field of a control message is a protocol error',
    requirements: ['KKCM-HDR-3', 'KKCM-FRM-7'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['header', 'negative'],
    allowedOutcomes: negative(['ERR_RESERVED_NONZERO']),
    provokes: ['ERR_RESERVED_NONZERO'],
    async run(ctx) {
      await violation(ctx, ['ERR_RESERVED_NONZERO'], (s) => {
        const b = Buffer.from(
          encodeMessage({
            name: 'control.nack',
            seq: s.send.seq++,
            version: s.send.version,
            body: { seq: 0, code: 36 },
          }),
        );
        b[HEADER_SIZE + 7] = 1;
        s.send.sendBytes(b, 'NACK with reserved = 0x0001');
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'header.version.not-negotiated',
    title: 'After the handshake, a message in another version is a protocol error',
    requirements: ['KKCM-HDR-4'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['header', 'version', 'negative'],
    allowedOutcomes: negative(['ERR_UNSUPPORTED_VERSION']),
    provokes: ['ERR_UNSUPPORTED_VERSION'],
    async run(ctx) {
      await violation(ctx, ['ERR_UNSUPPORTED_VERSION'], (s) => {
        s.send.sendBytes(
          patched(s.send, 'control.echoRequest', (x) => {
            x[4] = s.version + 1;
          }),
          `version ${s.version + 1}`,
        );
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'sequence.gap',
    title: 'A sequence gap is a protocol error',
    requirements: ['KKCM-SEQ-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['receive'],
    tags: ['sequence', 'negative'],
    allowedOutcomes: negative(['ERR_BAD_SEQUENCE']),
    provokes: ['ERR_BAD_SEQUENCE'],
    async run(ctx) {
      await violation(ctx, ['ERR_BAD_SEQUENCE'], (s) => {
        s.receive.seq += 5;
        s.receive.send({ name: 'control.echoRequest', body: { token: 1, payload: new Uint8Array(0) } });
        return s.receive;
      });
    },
  }),
  defineCase({
    id: 'sequence.repeat',
    title: 'A repeated sequence number is a protocol error',
    requirements: ['KKCM-SEQ-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['sequence', 'negative'],
    allowedOutcomes: negative(['ERR_BAD_SEQUENCE']),
    provokes: ['ERR_BAD_SEQUENCE'],
    async run(ctx) {
      await violation(ctx, ['ERR_BAD_SEQUENCE'], (s) => {
        s.send.send({ name: 'control.echoRequest', body: { token: 1, payload: new Uint8Array(0) } });
        s.send.seq--;
        s.send.send({ name: 'control.echoRequest', body: { token: 2, payload: new Uint8Array(0) } });
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'sequence.peer-numbering',
    title: 'The peer numbers its messages from 0 on each connection, +1 per message',
    requirements: ['KKCM-SEQ-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['sequence'],
    async run(ctx) {
      const s = await ctx.session();
      for (const w of [s.send, s.receive]) {
        for (let i = 0; i < 3; i++) await ctx.barrier(w);
        const seqs = ctx.transcript.entries
          .filter((e) => e.dir === 'in' && e.conn === w.number)
          .map((e) => (e.decoded as { header?: { seq: number } }).header?.seq);
        const want = seqs.map((_, i) => i);
        if (seqs.join() !== want.join())
          throw new CaseFailure(`sequence numbers ${want.join(',')} on the ${w.channel ?? ''} channel`, seqs.join(','));
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'channels.wrong.prl-on-send',
    title: 'A PRL message on the send channel is a protocol error',
    requirements: ['KKCM-CHAN-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['channels', 'negative'],
    allowedOutcomes: negative(['ERR_WRONG_CHANNEL']),
    provokes: ['ERR_WRONG_CHANNEL'],
    async run(ctx) {
      await violation(ctx, ['ERR_WRONG_CHANNEL'], (s) => {
        s.send.send({ name: 'prl.packetDrop', body: { handle: 1, count: 1 } });
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'channels.wrong.iha-on-receive',
    title: 'An IHA message on the receive channel is a protocol error',
    requirements: ['KKCM-CHAN-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['receive'],
    tags: ['channels', 'negative'],
    allowedOutcomes: negative(['ERR_WRONG_CHANNEL']),
    provokes: ['ERR_WRONG_CHANNEL'],
    async run(ctx) {
      await violation(ctx, ['ERR_WRONG_CHANNEL'], (s) => {
        s.receive.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 1 } });
        return s.receive;
      });
    },
  }),
  defineCase({
    id: 'channels.mapping.accepted',
    title: 'Messages on their own channel are accepted (IHA, SDRL, PSRM on send; PRL on receive)',
    requirements: ['KKCM-CHAN-1', 'KKCM-TYPE-3'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['channels'],
    async run(ctx) {
      const s = await ctx.session();
      s.send.send({ name: 'iha.handleTeardown', body: { handle: 1, reason: 999 } });
      s.send.send({ name: 'sdrl.socketDataAck', body: { handle: 1, streamOffset: 5n } });
      s.send.send({
        name: 'psrm.stateBatch',
        body: { entries: [{ handle: 1, state: 4, window: 1, sndNxt: 2, rcvNxt: 3 }] },
      });
      s.receive.send({ name: 'prl.packetDrop', body: { handle: 1, count: 2 } });
      await ctx.barrier(s.send, 'the session survives IHA, SDRL and PSRM messages (one with an unknown enum value)');
      await ctx.barrier(s.receive, 'the session survives a PRL message');
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'channels.mapping.peer-output',
    title: 'Every message the peer sends travels on a channel its type is mapped to',
    requirements: ['KKCM-CHAN-1'],
    level: 'MUST',
    roles: BOTH,
    channels: CHANNELS,
    tags: ['channels', 'probe'],
    needs: ['conformanceProbe'],
    async run(ctx) {
      const s = await ctx.session();
      for (const [w, id] of [
        [s.send, 1],
        [s.receive, 2],
      ] as const) {
        w.send({ name: 'probe.burst', body: { token: ctx.nextToken(), channel: id, count: 5, itemSize: 8 } });
        const r = await w.expectMessage('probe.burstDone', ctx.expectMs);
        if (r.found === undefined) throw new CaseFailure('PROBE-BURST-DONE', describe(r.other));
      }
      const { MESSAGES } = await import('../../../codec/src/index.js');
      for (const e of ctx.transcript.entries.filter((x) => x.dir === 'in')) {
        const name = (e.decoded as { name?: string }).name;
        const meta =
          name === undefined ? undefined : (MESSAGES as Record<string, { channels: readonly string[] }>)[name];
        if (meta !== undefined && e.channel !== null && !meta.channels.includes(e.channel))
          throw new CaseFailure(`${name ?? ''} only on ${meta.channels.join('/')}`, `on the ${e.channel} channel`);
      }
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'types.may-ignore.unknown-type',
    title: 'An unknown type with mayIgnore is skipped and the session stays up',
    requirements: ['KKCM-TYPE-1'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['types', 'may-ignore'],
    async run(ctx) {
      const s = await ctx.session();
      s.send.sendBytes(
        encodeRaw({
          type: 0x5e,
          subtype: 1,
          flags: Flags.mayIgnore,
          seq: s.send.seq++,
          version: s.send.version,
          body: Uint8Array.of(1, 2, 3),
        }),
        'unknown type 0x5e, mayIgnore',
      );
      await ctx.barrier(s.send, 'ECHO-REPLY after the skipped message');
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'types.may-ignore.unknown-subtype',
    title: 'An unknown control subtype with mayIgnore is skipped',
    requirements: ['KKCM-TYPE-1'],
    level: 'MUST',
    roles: BOTH,
    channels: ['receive'],
    tags: ['types', 'may-ignore'],
    async run(ctx) {
      const s = await ctx.session();
      s.receive.sendBytes(
        encodeRaw({
          type: 0x01,
          subtype: 0x77,
          flags: Flags.mayIgnore,
          seq: s.receive.seq++,
          version: s.receive.version,
          body: new Uint8Array(10),
        }),
        'control subtype 0x77, mayIgnore',
      );
      await ctx.barrier(s.receive, 'ECHO-REPLY after the skipped message');
      ctx.endSession(s);
    },
  }),
  defineCase({
    id: 'types.unknown-type.error',
    title: 'An unknown type without mayIgnore is a protocol error',
    requirements: ['KKCM-TYPE-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['types', 'negative'],
    allowedOutcomes: negative(['ERR_UNKNOWN_TYPE']),
    provokes: ['ERR_UNKNOWN_TYPE'],
    async run(ctx) {
      await violation(ctx, ['ERR_UNKNOWN_TYPE'], (s) => {
        s.send.sendBytes(
          encodeRaw({ type: 0x5e, subtype: 1, seq: s.send.seq++, version: s.send.version, body: new Uint8Array(0) }),
          'unknown type 0x5e',
        );
        return s.send;
      });
    },
  }),
  defineCase({
    id: 'types.unknown-subtype.error',
    title: 'An unknown control subtype without mayIgnore is a protocol error',
    requirements: ['KKCM-TYPE-2'],
    level: 'MUST',
    roles: BOTH,
    channels: ['send'],
    tags: ['types', 'negative'],
    allowedOutcomes: negative(['ERR_UNKNOWN_SUBTYPE']),
    provokes: ['ERR_UNKNOWN_SUBTYPE'],
    async run(ctx) {
      await violation(ctx, ['ERR_UNKNOWN_SUBTYPE'], (s) => {
        s.send.sendBytes(
          encodeRaw({ type: 0x01, subtype: 0x77, seq: s.send.seq++, version: s.send.version, body: new Uint8Array(0) }),
          'control subtype 0x77',
        );
        return s.send;
      });
    },
  }),
];
