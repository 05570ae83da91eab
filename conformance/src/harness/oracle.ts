/**
 * The continuous wire oracle: every message the suite receives, in every case (and in the
 * health probe between cases), is checked against every rule of the spec the suite can see
 * on the wire, whatever the case was looking for. A broken rule is a *violation* named by
 * the requirement it breaks; the runner turns any violation into a fail of that requirement.
 *
 * What it checks, per connection:
 * - sequence numbers of the peer's messages: from 0, +1 per message (KKCM-SEQ-1);
 * - the channel of each known message type (KKCM-CHAN-1);
 * - the header version: the negotiated one after the handshake (KKCM-HDR-4); HELLO-REJECT
 *   in the HELLO's highest version, anything else in the handshake in a version of the spec;
 * - bytes that are not a message: magic and byte order (KKCM-HDR-1), length (KKCM-HDR-2),
 *   the limit the suite advertised (KKCM-SESS-11), reserved bits (KKCM-HDR-3), body layout
 *   (KKCM-FRM-7);
 * - ECHO-REPLY (and PROBE-ECHO-REPLY): a token asked on this connection, payload exactly
 *   the one sent, length and bytes (KKCM-CTL-1, KKCM-PROBE-2);
 * - ACK `upTo`: exactly the sequence number of an ackRequested message the suite sent on
 *   this connection, never backwards; NACK: for such a message, with ERR_HANDLER_FAILED or
 *   ERR_NO_HANDLER, never after an ACK that covers it (KKCM-CTL-4);
 * - ERROR: a code the spec lets travel on the wire, and the offending sequence number,
 *   type and subtype of the message the suite sent (KKCM-CTL-2).
 *
 * @module
 */
import {
  ERROR_CODES,
  HEADER_SIZE,
  Limits,
  MAGIC,
  MESSAGES,
  PROTOCOL_VERSIONS,
  WIRE_ERROR_CODES,
  type ChannelName,
  type CodecError,
  type DecodedMessage,
  Flags,
} from '../../../codec/src/index.js';

/** A rule of the spec the peer broke, seen on the wire. */
export interface Violation {
  /** The requirement it breaks (`KKCM-SEQ-1`). */
  readonly requirement: string;
  /** What the spec requires. */
  readonly expected: string;
  /** What the peer did. */
  readonly observed: string;
}

/** Where violations go: the case that owns the connection. */
export type ViolationSink = (v: Violation) => void;

/** Header fields of a message the suite sent, read back from its bytes. */
interface Sent {
  readonly seq: number;
  readonly type: number;
  readonly subtype: number;
  readonly flags: number;
}

/**
 * ERROR codes that may name no offending message (0xFFFFFFFF, 0, 0): a header fault, found
 * before the message was taken as one, or a timeout no message caused. When such an ERROR
 * names a message, it must be exactly the offending one. Every other code names it.
 */
const NO_OFFENDER_CODES: ReadonlySet<string> = new Set([
  'ERR_BAD_MAGIC',
  'ERR_LENGTH_TOO_SMALL',
  'ERR_FRAME_TOO_LARGE',
  'ERR_RESERVED_FLAG',
  'ERR_UNSUPPORTED_VERSION',
  'ERR_HANDSHAKE_TIMEOUT',
]);

/** Codes a NACK may carry (KKCM-CTL-4). */
const NACK_CODES: ReadonlySet<string> = new Set(['ERR_HANDLER_FAILED', 'ERR_NO_HANDLER']);

const hex = (n: number): string => `0x${n.toString(16)}`;

const readU32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** The requirement that undecodable bytes from the peer break. */
export function garbageViolation(error: CodecError, bytes: Uint8Array | undefined, advertised: number): Violation {
  const observed = `undecodable bytes (${error.code}: ${error.message})`;
  switch (error.code) {
    case 'ERR_BAD_MAGIC':
      return { requirement: 'KKCM-HDR-1', expected: `the magic value ${hex(MAGIC)} first in every header`, observed };
    case 'ERR_FRAME_TOO_LARGE': {
      const length = bytes !== undefined && bytes.byteLength >= 12 ? readU32(bytes, 8) : undefined;
      const swapped =
        length === undefined
          ? undefined
          : ((length & 0xff) << 24) | ((length & 0xff00) << 8) | ((length >>> 8) & 0xff00) | (length >>> 24);
      if (swapped !== undefined && swapped >>> 0 >= HEADER_SIZE && swapped >>> 0 <= advertised)
        return {
          requirement: 'KKCM-HDR-1',
          expected: 'the header in network byte order',
          observed: `a length field of ${length} bytes that reads ${swapped >>> 0} in little-endian order`,
        };
      if (length !== undefined && length > Limits.absoluteMaxMessage)
        return {
          requirement: 'KKCM-HDR-2',
          expected: 'the total message length in the length field',
          observed: `a length of ${length} bytes, above the absolute limit`,
        };
      return {
        requirement: 'KKCM-SESS-11',
        expected: `no message larger than the ${advertised} bytes the suite advertised`,
        observed: length === undefined ? observed : `a message of ${length} bytes`,
      };
    }
    case 'ERR_LENGTH_TOO_SMALL':
      return { requirement: 'KKCM-HDR-2', expected: 'a length of at least the header size', observed };
    case 'ERR_RESERVED_FLAG':
    case 'ERR_RESERVED_NONZERO':
      return { requirement: 'KKCM-HDR-3', expected: 'reserved bits and fields sent as zero', observed };
    default:
      return { requirement: 'KKCM-FRM-7', expected: 'a body that matches its layout', observed };
  }
}

/** The oracle of one connection. Fed by its {@link Wire}. */
export class WireOracle {
  /** The negotiated version, once the handshake completed. */
  negotiated: number | undefined;
  /** The highest version of the HELLO the suite sent on this connection. */
  helloMaxVersion: number | undefined;
  /** The message a case sent to provoke an ERROR: the ERROR must name exactly it. */
  private offender: Sent | undefined;
  private nextSeq = 0;
  private readonly sent = new Map<number, Sent>();
  private readonly echoes = new Map<string, Map<number, Uint8Array[]>>();
  private readonly ackRequested = new Set<number>();
  private ackedUpTo: number | undefined;
  private readonly nacked = new Set<number>();

  /**
   * @param sink - where violations go.
   * @param channel - the connection's channel, once known.
   */
  constructor(
    private readonly sink: ViolationSink,
    private readonly channel: () => ChannelName | null,
  ) {}

  /** Records the header of a message the suite sent (its body may not be sent yet). */
  sentHeader(bytes: Uint8Array): void {
    const s: Sent = { seq: readU32(bytes, 12), type: bytes[6]!, subtype: bytes[7]!, flags: bytes[5]! };
    this.sent.set(s.seq, s);
    if ((s.flags & Flags.ackRequested) !== 0) this.ackRequested.add(s.seq);
  }

  /** Records a whole message the suite sent (decoded, when it decodes). */
  sentBytes(bytes: Uint8Array, message?: DecodedMessage): void {
    if (bytes.byteLength < HEADER_SIZE) return;
    const s: Sent = { seq: readU32(bytes, 12), type: bytes[6]!, subtype: bytes[7]!, flags: bytes[5]! };
    this.sent.set(s.seq, s);
    if ((s.flags & Flags.ackRequested) !== 0) this.ackRequested.add(s.seq);
    // Read as the peer might: a peer that wrongly accepts a broken message (a bad magic, a
    // reserved bit) answers it, and that answer is judged by the case, not taken for a stray.
    const echo =
      bytes[6] === 1 && bytes[7] === 4
        ? 'control.echoReply'
        : bytes[6] === 0x7f && bytes[7] === 1
          ? 'probe.echoReply'
          : undefined;
    if (echo === undefined || bytes.byteLength < HEADER_SIZE + 8) return;
    const body = message?.body as { token: number; payload: Uint8Array } | undefined;
    const token = body?.token ?? readU32(bytes, HEADER_SIZE);
    const payload = body?.payload ?? bytes.subarray(HEADER_SIZE + 8, HEADER_SIZE + 8 + readU32(bytes, HEADER_SIZE + 4));
    const byToken = this.echoes.get(echo) ?? new Map<number, Uint8Array[]>();
    this.echoes.set(echo, byToken);
    byToken.set(token, [...(byToken.get(token) ?? []), Uint8Array.from(payload)]);
  }

  /** Marks the last message sent as the one that must be named by the peer's ERROR. */
  expectOffender(bytes: Uint8Array): void {
    if (bytes.byteLength < HEADER_SIZE) return;
    this.offender = { seq: readU32(bytes, 12), type: bytes[6]!, subtype: bytes[7]!, flags: bytes[5]! };
  }

  /** Checks a message the peer sent. */
  received(m: DecodedMessage): void {
    const h = m.header;
    const label = m.name ?? `type ${hex(h.type)} subtype ${hex(h.subtype)}`;
    if (h.seq !== this.nextSeq)
      this.violate('KKCM-SEQ-1', `${label} numbered ${this.nextSeq} on this connection`, `sequence number ${h.seq}`);
    this.nextSeq = (h.seq + 1) >>> 0;
    const channel = this.channel();
    if (m.name !== null && channel !== null) {
      const meta = (MESSAGES as Record<string, { channels: readonly string[] }>)[m.name];
      if (meta !== undefined && !meta.channels.includes(channel))
        this.violate(
          'KKCM-CHAN-1',
          `${m.name} only on the ${meta.channels.join('/')} channel`,
          `on the ${channel} channel`,
        );
    }
    this.checkVersion(m, label);
    switch (m.name) {
      case 'control.echoReply':
      case 'probe.echoReply':
        this.checkEcho(m.name, m.body);
        break;
      case 'control.ack':
        this.checkAck(m.body.upTo);
        break;
      case 'control.nack':
        this.checkNack(m.body.seq, m.body.code);
        break;
      case 'control.error':
        this.checkError(m.body);
        break;
      default:
        break;
    }
  }

  /** Checks bytes the peer sent that are not a message. */
  garbage(error: CodecError, bytes: Uint8Array | undefined, advertised: number): void {
    this.sink(garbageViolation(error, bytes, advertised));
  }

  private violate(requirement: string, expected: string, observed: string): void {
    this.sink({ requirement, expected, observed });
  }

  private checkVersion(m: DecodedMessage, label: string): void {
    const v = m.header.version;
    if (this.negotiated !== undefined) {
      if (v !== this.negotiated && m.name !== 'control.helloReject')
        this.violate('KKCM-HDR-4', `${label} in the negotiated version ${this.negotiated}`, `header version ${v}`);
      return;
    }
    if (m.name === 'control.helloReject') {
      if (this.helloMaxVersion !== undefined && v !== this.helloMaxVersion)
        this.violate(
          'KKCM-SESS-3',
          `HELLO-REJECT written in the HELLO's highest version ${this.helloMaxVersion}`,
          `header version ${v}`,
        );
      return;
    }
    if (m.name === 'control.hello') return; // written in the sender's highest version, whatever it is
    if (v < PROTOCOL_VERSIONS.min || v > PROTOCOL_VERSIONS.max)
      this.violate(
        'KKCM-HDR-4',
        `${label} in a version of the spec (${PROTOCOL_VERSIONS.min}..${PROTOCOL_VERSIONS.max})`,
        `header version ${v}`,
      );
  }

  private checkEcho(name: 'control.echoReply' | 'probe.echoReply', body: { token: number; payload: Uint8Array }): void {
    const requirement = name === 'control.echoReply' ? 'KKCM-CTL-1' : 'KKCM-PROBE-2';
    const asked = this.echoes.get(name)?.get(body.token);
    const label = name === 'control.echoReply' ? 'ECHO-REPLY' : 'PROBE-ECHO-REPLY';
    if (asked === undefined || asked.length === 0) {
      this.violate(
        requirement,
        `${label} only for a token asked on this (${this.channel() ?? '?'}) channel`,
        `${label} token ${body.token}, never asked on this channel`,
      );
      return;
    }
    const i = asked.findIndex((p) => sameBytes(p, body.payload));
    if (i < 0) {
      const want = asked[0]!;
      const at = want.findIndex((x, k) => x !== body.payload[k]);
      this.violate(
        requirement,
        `${label} token ${body.token} with exactly the ${want.byteLength}-byte payload sent`,
        want.byteLength !== body.payload.byteLength
          ? `a ${body.payload.byteLength}-byte payload`
          : `a payload that differs at byte ${at}`,
      );
      asked.shift();
      return;
    }
    asked.splice(i, 1);
  }

  private checkAck(upTo: number): void {
    if (!this.ackRequested.has(upTo)) {
      this.violate(
        'KKCM-CTL-4',
        'ACK upTo = the sequence number of an ackRequested message sent on this channel',
        `ACK upTo ${upTo} (ackRequested: ${[...this.ackRequested].join(',') || 'none'})`,
      );
      return;
    }
    if (this.ackedUpTo !== undefined && upTo <= this.ackedUpTo)
      this.violate('KKCM-CTL-4', `a cumulative ACK beyond the last one (upTo ${this.ackedUpTo})`, `ACK upTo ${upTo}`);
    this.ackedUpTo = Math.max(upTo, this.ackedUpTo ?? upTo);
  }

  private checkNack(seq: number, code: number): void {
    const name = ERROR_CODES[code] ?? `code ${code}`;
    if (!NACK_CODES.has(name)) this.violate('KKCM-CTL-4', 'NACK ERR_HANDLER_FAILED or ERR_NO_HANDLER', `NACK ${name}`);
    if (!this.ackRequested.has(seq))
      this.violate('KKCM-CTL-4', 'NACK only for an ackRequested message sent on this channel', `NACK seq ${seq}`);
    else if (this.ackedUpTo !== undefined && this.ackedUpTo >= seq)
      this.violate(
        'KKCM-CTL-4',
        `NACK of seq ${seq} before any ACK covering it`,
        `NACK after ACK upTo ${this.ackedUpTo} (the ACK claimed it was accepted)`,
      );
    if (this.nacked.has(seq)) this.violate('KKCM-CTL-4', `one NACK for seq ${seq}`, 'a second NACK');
    this.nacked.add(seq);
  }

  /** Whether the peer answered every ackRequested message up to `seq`: covered by an ACK, or NACKed. */
  confirmed(seq: number): boolean {
    return (this.ackedUpTo !== undefined && this.ackedUpTo >= seq) || this.nacked.has(seq);
  }

  /** How the peer answered an ackRequested message: `ack`, `nack` or undefined (not yet). */
  outcome(seq: number): 'ack' | 'nack' | undefined {
    if (this.nacked.has(seq)) return 'nack';
    return this.ackedUpTo !== undefined && this.ackedUpTo >= seq ? 'ack' : undefined;
  }

  private checkError(body: {
    code: number;
    offendingSeq: number;
    offendingType: number;
    offendingSubtype: number;
  }): void {
    const code = ERROR_CODES[body.code];
    if (code === undefined || !WIRE_ERROR_CODES.includes(code)) {
      this.violate(
        'KKCM-CTL-2',
        'ERROR with an error code the spec lets travel on the wire',
        `ERROR code ${body.code}`,
      );
      return;
    }
    const named = `offendingSeq ${body.offendingSeq}, type ${hex(body.offendingType)}, subtype ${hex(body.offendingSubtype)}`;
    const unknown = body.offendingSeq === 0xffffffff && body.offendingType === 0 && body.offendingSubtype === 0;
    if (NO_OFFENDER_CODES.has(code)) {
      const o = this.offender;
      const exact =
        o !== undefined &&
        body.offendingSeq === o.seq &&
        body.offendingType === o.type &&
        body.offendingSubtype === o.subtype;
      if (!unknown && !exact)
        this.violate(
          'KKCM-CTL-2',
          `ERROR ${code} naming no message (0xFFFFFFFF, 0, 0)${o !== undefined ? ' or the offending one' : ''}`,
          named,
        );
      return;
    }
    const want = this.offender ?? this.sent.get(body.offendingSeq);
    if (
      want === undefined ||
      body.offendingSeq !== want.seq ||
      body.offendingType !== want.type ||
      body.offendingSubtype !== want.subtype
    ) {
      const expected =
        want === undefined
          ? `ERROR ${code} naming a message the suite sent on this channel`
          : `ERROR ${code} naming the offending message: offendingSeq ${want.seq}, type ${hex(want.type)}, subtype ${hex(want.subtype)}`;
      this.violate('KKCM-CTL-2', expected, named);
    }
  }
}
