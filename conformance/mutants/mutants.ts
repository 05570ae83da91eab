/**
 * Mutant peers: the reference peer with exactly one requirement broken, each with the
 * conformance case(s) that must fail it. Most break the wire behaviour through a transport
 * tap or a peer option, without touching the peer; the few that need a decision inside the
 * peer use its documented fault switches (`PeerOptions.faults`, reference-impl/src/faults.ts).
 *
 * Why one file past ~500 lines: it is a table, one entry per mutant with the requirement it
 * breaks; its length grows with the mutant set, not with its concepts.
 *
 * @module
 */
import {
  CleanupReason,
  ERROR_VALUES,
  Flags,
  FLAGS_RESERVED_MASK,
  HEADER_SIZE,
  Limits,
  MAGIC,
  type MessageBodies,
  type MessageName,
} from '../../codec/src/index.js';
import type { PeerFaults } from '../../reference-impl/src/faults.js';
import type { PeerOptions } from '../../reference-impl/src/peer.js';
import { tcpTransport } from '../../reference-impl/src/tcp-transport.js';
import type { Connection } from '../../reference-impl/src/transport.js';
import type { PeerCustomizer } from '../src/harness/target.js';
import type { PeerRole } from '../src/report.js';
import { frameName, Header, HeaderRewriter, readU32, rewriteBody, writeU32 } from './frames.js';
import { tapTransport, type Tap, type TapFactory } from './tap-transport.js';

/** One deliberately broken peer. */
export interface Mutant {
  /** Stable kebab-case name. */
  readonly name: string;
  /** The requirement it breaks (`KKCM-FRM-1`). */
  readonly breaks: string;
  /** How it breaks it, in one sentence. */
  readonly description: string;
  /** Case ids that must fail it (each of them). */
  readonly expectKilledBy: readonly string[];
  /** Roles the peer plays in the runs (those its killers run in). */
  readonly roles: readonly PeerRole[];
  /** Turns the embedded reference peer's options into the mutant's. */
  readonly customize: PeerCustomizer;
}

/** A customizer that routes the peer's connections through a tap. */
const tapped =
  (factory: (options: PeerOptions) => TapFactory): PeerCustomizer =>
  (options) => ({
    ...options,
    transport: tapTransport(options.transport ?? tcpTransport, factory(options)),
  });

/** A customizer that sets fault switches of the peer. */
const faulty =
  (faults: PeerFaults): PeerCustomizer =>
  (options) => ({ ...options, faults: { ...options.faults, ...faults } });

/** A tap that rewrites every header the peer reads. */
const readHeaders = (
  rewrite: (header: Uint8Array, index: number, tap: { lastWrittenVersion: number | undefined }) => void,
): PeerCustomizer =>
  tapped(() => () => {
    const state = { lastWrittenVersion: undefined as number | undefined };
    let index = 0;
    const rewriter = new HeaderRewriter((h) => rewrite(h, index++, state));
    return {
      read: (chunk) => rewriter.push(chunk),
      write: (frames) => {
        const last = frames[frames.length - 1];
        if (last !== undefined) state.lastWrittenVersion = last[Header.version];
        return frames;
      },
    };
  });

/** A tap that rewrites the frames the peer writes, one by one (null drops a frame). */
const writeFrames = (rewrite: (frame: Uint8Array) => Uint8Array | null, restamp?: number): PeerCustomizer =>
  tapped(() => () => ({
    write: (frames) => frames.map((f) => rewrite(f)).filter((f): f is Uint8Array => f !== null),
    ...(restamp !== undefined ? { restamp } : {}),
  }));

/** The peer's largest message (what it enforces). */
const enforced = (options: PeerOptions): number =>
  Math.min(options.maxMessage ?? Limits.defaultMaxMessage, Limits.absoluteMaxMessage);

/** A tap that advertises `advertised(enforced)` in HELLO and HELLO-ACK while the peer enforces its own limit. */
const advertise = (advertised: (enforcedLimit: number) => number): PeerCustomizer =>
  tapped((options) => () => ({
    write: (frames) =>
      frames.map((f) => {
        const name = frameName(f);
        if (name === 'control.hello')
          return rewriteBody(f, name, (b) => ({ ...b, maxMessage: advertised(enforced(options)) }));
        if (name === 'control.helloAck')
          return rewriteBody(f, name, (b) => ({ ...b, maxMessage: advertised(enforced(options)) }));
        return f;
      }),
  }));

/**
 * Reads each TCP chunk as if it held whole messages: a message cut at the end of a chunk is
 * dropped, so the next chunk starts in the middle of one. A fragment whose header already
 * announces more than the peer's limit is still handed on (the peer refuses it at once).
 */
const noReassembly: PeerCustomizer = tapped((options) => (): Tap => ({
  read(chunk) {
    let o = 0;
    while (chunk.byteLength - o >= HEADER_SIZE) {
      const length = readU32(chunk, o + Header.length);
      if (readU32(chunk, o) !== MAGIC || length < HEADER_SIZE) return [chunk];
      if (length > enforced(options)) return [chunk.subarray(0, o + HEADER_SIZE)];
      if (chunk.byteLength - o < length) break;
      o += length;
    }
    return [chunk.subarray(0, o)];
  },
}));

/**
 * When the other side closes one channel, the peer's request to close the other channel
 * (made while it handles that close) is ignored: the other channel stays open.
 */
const keepsOtherChannel: PeerCustomizer = tapped(() => {
  let closingNow: Connection | undefined;
  return (conn) => {
    let zombie = false;
    return {
      closing(deliver) {
        closingNow = conn;
        try {
          deliver();
        } finally {
          closingNow = undefined;
        }
      },
      closeRequested() {
        if (closingNow !== undefined && closingNow !== conn) zombie = true;
        return !zombie;
      },
    };
  };
});

/** Swaps neighbouring PROBE-BURST-ITEMs of each write (the numbering stays legal). */
const reordersBurst: PeerCustomizer = tapped(() => () => ({
  restamp: 0,
  write(frames) {
    const out = [...frames];
    for (let i = 0; i + 1 < out.length; i++) {
      if (frameName(out[i]!) === 'probe.burstItem' && frameName(out[i + 1]!) === 'probe.burstItem') {
        [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
        i++;
      }
    }
    return out;
  },
}));

const copy = (f: Uint8Array): Uint8Array => Uint8Array.from(f);

/** A tap that rewrites the body of every written frame named `name`. */
const rewriteWritten = <N extends MessageName>(
  name: N,
  change: (body: MessageBodies[N]) => MessageBodies[N],
  restamp?: number,
): PeerCustomizer => writeFrames((f) => (frameName(f) === name ? rewriteBody(f, name, change) : f), restamp);

/** A tap that writes every frame named `name` in header version `version(v)`. */
const restampVersion = (name: MessageName, version: (v: number) => number): PeerCustomizer =>
  writeFrames((f) => {
    if (frameName(f) !== name) return f;
    const b = copy(f);
    b[Header.version] = version(f[Header.version]!);
    return b;
  });

/** Numbers the frames it writes +1 per frame, but skips one number before each ACK. */
const skipsSeqAfterAck: PeerCustomizer = tapped(() => () => {
  let next = 0;
  return {
    write: (frames) =>
      frames.map((f) => {
        const b = copy(f);
        if (frameName(f) === 'control.ack') next = (next + 1) >>> 0;
        writeU32(b, Header.seq, next);
        next = (next + 1) >>> 0;
        return b;
      }),
  };
});

/** Every mutant, in requirement order. */
export const MUTANTS: readonly Mutant[] = [
  {
    name: 'length-little-endian',
    breaks: 'KKCM-HDR-1',
    description: 'writes the header length field in little-endian byte order',
    expectKilledBy: ['handshake.hello.compatible'],
    roles: ['master'],
    customize: writeFrames((f) => {
      const b = copy(f);
      b.set([f[11]!, f[10]!, f[9]!, f[8]!], Header.length);
      return b;
    }),
  },
  {
    name: 'ignores-reserved-flags',
    breaks: 'KKCM-HDR-3',
    description: 'clears reserved flag bits of what it reads instead of refusing them',
    expectKilledBy: ['header.flags.reserved-bit'],
    roles: ['master', 'backup'],
    customize: readHeaders((h) => {
      h[Header.flags] = h[Header.flags]! & ~FLAGS_RESERVED_MASK;
    }),
  },
  {
    name: 'accepts-any-version',
    breaks: 'KKCM-HDR-4',
    description: 'after the handshake, reads every header as if it carried the negotiated version',
    expectKilledBy: ['header.version.not-negotiated'],
    roles: ['master', 'backup'],
    customize: readHeaders((h, index, state) => {
      if (index > 0 && state.lastWrittenVersion !== undefined) h[Header.version] = state.lastWrittenVersion;
    }),
  },
  {
    name: 'no-reassembly',
    breaks: 'KKCM-FRM-1',
    description: 'reads each TCP chunk as whole messages and drops a message split across chunks',
    expectKilledBy: ['framing.split.byte-by-byte', 'framing.split.header-straddle'],
    roles: ['master', 'backup'],
    customize: noReassembly,
  },
  {
    name: 'accepts-more-than-advertised',
    breaks: 'KKCM-FRM-3',
    description: 'advertises 65536 bytes as its largest message but waits for the body of anything up to 262144',
    expectKilledBy: ['framing.limit.too-large'],
    roles: ['master', 'backup'],
    customize: advertise(() => 65536),
  },
  {
    name: 'no-magic-check',
    breaks: 'KKCM-FRM-5',
    description: 'reads any magic value as the right one',
    expectKilledBy: ['framing.magic.bad'],
    roles: ['master', 'backup'],
    customize: readHeaders((h) => writeU32(h, Header.magic, MAGIC)),
  },
  {
    name: 'limit-off-by-one',
    breaks: 'KKCM-FRM-6',
    description: 'advertises one byte more than the largest message it accepts',
    expectKilledBy: ['framing.limit.largest-accepted'],
    roles: ['master', 'backup'],
    customize: advertise((limit) => limit + 1),
  },
  {
    name: 'numbers-from-one',
    breaks: 'KKCM-SEQ-1',
    description: 'numbers the messages it sends on a connection from 1',
    expectKilledBy: ['handshake.binding.two-channels'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => f, 1),
  },
  {
    name: 'no-sequence-check',
    breaks: 'KKCM-SEQ-2',
    description: 'reads every message as if it carried the next sequence number',
    expectKilledBy: ['sequence.gap', 'sequence.repeat'],
    roles: ['master', 'backup'],
    customize: readHeaders((h, index) => writeU32(h, Header.seq, index)),
  },
  {
    name: 'accepts-wrong-channel',
    breaks: 'KKCM-CHAN-2',
    description: 'dispatches a message that arrived on a channel its type does not travel on',
    expectKilledBy: ['channels.wrong.prl-on-send', 'channels.wrong.iha-on-receive'],
    roles: ['master', 'backup'],
    customize: faulty({ acceptWrongChannel: true }),
  },
  {
    name: 'ignores-may-ignore',
    breaks: 'KKCM-TYPE-1',
    description: 'reads every message as if its mayIgnore flag were clear',
    expectKilledBy: ['types.may-ignore.unknown-type', 'types.may-ignore.unknown-subtype'],
    roles: ['master', 'backup'],
    customize: readHeaders((h) => {
      h[Header.flags] = h[Header.flags]! & ~Flags.mayIgnore;
    }),
  },
  {
    name: 'skips-unknown-types',
    breaks: 'KKCM-TYPE-2',
    description: 'skips every unknown type or subtype, as if mayIgnore were always set',
    expectKilledBy: ['types.unknown-type.error', 'types.unknown-subtype.error'],
    roles: ['master', 'backup'],
    customize: readHeaders((h) => {
      h[Header.flags] = h[Header.flags]! | Flags.mayIgnore;
    }),
  },
  {
    name: 'ignores-version-ranges',
    breaks: 'KKCM-SESS-3',
    description: 'accepts every HELLO with its own highest version, even when the ranges do not overlap',
    expectKilledBy: ['handshake.version.incompatible'],
    roles: ['master'],
    customize: faulty({ ignoreVersionRanges: true }),
  },
  {
    name: 'accepts-second-session',
    breaks: 'KKCM-SESS-6',
    description: 'accepts a HELLO for a second session while one is up',
    expectKilledBy: ['handshake.second-session.refused'],
    roles: ['master'],
    customize: faulty({ acceptSecondSession: true }),
  },
  {
    name: 'keeps-other-channel-open',
    breaks: 'KKCM-SESS-7',
    description: 'when one channel is lost, cleans up but leaves the other channel open',
    expectKilledBy: ['session.one-channel-lost'],
    roles: ['master', 'backup'],
    customize: keepsOtherChannel,
  },
  {
    name: 'no-handshake-timeout',
    breaks: 'KKCM-SESS-8',
    description: 'waits for a handshake for ever (a timeout of 10^9 ms)',
    expectKilledBy: ['handshake.timeout.silent-connection'],
    roles: ['master'],
    customize: (options) => ({ ...options, handshakeTimeoutMs: 1e9 }),
  },
  {
    name: 'keeps-half-bound-session',
    breaks: 'KKCM-SESS-12',
    description: 'keeps a session whose second channel never comes, its bound channel open for ever',
    expectKilledBy: ['handshake.timeout.one-channel-bound'],
    roles: ['master'],
    customize: faulty({ keepHalfBoundSession: true }),
  },
  {
    name: 'echo-payload-altered',
    breaks: 'KKCM-CTL-1',
    description: 'returns an ECHO payload with its last byte inverted',
    expectKilledBy: ['handshake.binding.two-channels'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => {
      if (frameName(f) !== 'control.echoReply' || f.byteLength <= HEADER_SIZE + 8) return f;
      const b = copy(f);
      b[b.byteLength - 1] = b[b.byteLength - 1]! ^ 0xff;
      return b;
    }),
  },
  {
    name: 'no-error-before-close',
    breaks: 'KKCM-CTL-2',
    description: 'closes on a protocol error without sending ERROR',
    expectKilledBy: ['control.error.names-offender'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => (frameName(f) === 'control.error' ? null : f), 0),
  },
  {
    name: 'no-shutdown-before-close',
    breaks: 'KKCM-CTL-3',
    description: 'closes deliberately without sending SHUTDOWN',
    expectKilledBy: ['control.shutdown.on-deliberate-close'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => (frameName(f) === 'control.shutdown' ? null : f), 0),
  },
  {
    name: 'ack-off-by-one',
    breaks: 'KKCM-CTL-4',
    description: 'confirms delivery only up to the message before the last one accepted',
    expectKilledBy: ['control.ack.after-acceptance'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => {
      if (frameName(f) !== 'control.ack') return f;
      const b = copy(f);
      writeU32(b, HEADER_SIZE, (readU32(f, HEADER_SIZE) - 1) >>> 0);
      return b;
    }),
  },
  {
    name: 'wrong-cleanup-reason',
    breaks: 'KKCM-CLN-2',
    description: 'cleans up with socketIoError whatever reason the SHUTDOWN carries',
    expectKilledBy: ['cleanup.shutdown.peer-down', 'cleanup.shutdown.nsr-deconfigured'],
    roles: ['master', 'backup'],
    customize: faulty({ ignoreShutdownReason: true }),
  },
  {
    name: 'reorders-burst',
    breaks: 'KKCM-DISP-2',
    description: 'swaps neighbouring messages of a burst on output (sequence numbers still in order)',
    expectKilledBy: ['dispatch.probe.burst-order'],
    roles: ['master', 'backup'],
    customize: reordersBurst,
  },
  {
    name: 'periodic-never-fires',
    breaks: 'KKCM-PER-1',
    description: 'never calls the periodic handlers, while reporting its configured interval',
    expectKilledBy: ['periodic.ticks'],
    roles: ['master', 'backup'],
    customize: faulty({ periodicNeverFires: true }),
  },
  {
    name: 'advertises-tiny-limit',
    breaks: 'KKCM-LIM-1',
    description: 'advertises 2048 bytes as its largest message, below the protocol minimum',
    expectKilledBy: ['handshake.limit.advertised'],
    roles: ['master', 'backup'],
    customize: (options) => ({ ...options, maxMessage: 2048 }),
  },
  {
    name: 'error-names-wrong-seq',
    breaks: 'KKCM-CTL-2',
    description: 'names the sequence number after the offending one in every ERROR',
    expectKilledBy: ['types.unknown-type.error', 'sequence.gap', 'channels.wrong.prl-on-send'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.error', (b) => ({ ...b, offendingSeq: (b.offendingSeq + 1) >>> 0 })),
  },
  {
    name: 'error-names-wrong-type',
    breaks: 'KKCM-CTL-2',
    description: 'names another subtype than the offending one in every ERROR',
    expectKilledBy: ['types.unknown-subtype.error', 'framing.string.bad-utf8'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.error', (b) => ({ ...b, offendingSubtype: b.offendingSubtype ^ 1 })),
  },
  {
    name: 'error-local-code',
    breaks: 'KKCM-CTL-2',
    description: 'sends ERROR with a local-only code (ERR_STREAM_FAILED) instead of a wire code',
    expectKilledBy: ['framing.magic.bad'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.error', (b) => ({ ...b, code: ERROR_VALUES.ERR_STREAM_FAILED })),
  },
  {
    name: 'error-header-version',
    breaks: 'KKCM-HDR-4',
    description: 'writes ERROR in a header version one above the negotiated one',
    expectKilledBy: ['sequence.gap', 'framing.body.truncated'],
    roles: ['master', 'backup'],
    customize: restampVersion('control.error', (v) => v + 1),
  },
  {
    name: 'hello-reject-own-version',
    breaks: 'KKCM-SESS-3',
    description: "writes HELLO-REJECT in its own version instead of the HELLO's highest",
    expectKilledBy: ['handshake.version.incompatible'],
    roles: ['master'],
    customize: restampVersion('control.helloReject', () => 1),
  },
  {
    name: 'echo-reply-truncated',
    breaks: 'KKCM-CTL-1',
    description: 'returns ECHO payloads without their last byte (length fields consistent)',
    expectKilledBy: ['handshake.binding.two-channels'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.echoReply', (b) => ({ ...b, payload: b.payload.subarray(0, -1) }), 0),
  },
  {
    name: 'echo-reply-wrong-token',
    breaks: 'KKCM-CTL-1',
    description: 'answers ECHO-REQUEST with the token plus one',
    expectKilledBy: ['handshake.binding.two-channels'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.echoReply', (b) => ({ ...b, token: (b.token + 1) >>> 0 })),
  },
  {
    name: 'echo-reply-large-altered',
    breaks: 'KKCM-CTL-1',
    description: 'alters the first payload byte of ECHO-REPLYs larger than 100000 bytes only',
    expectKilledBy: ['framing.limit.largest-accepted'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => {
      if (frameName(f) !== 'control.echoReply' || f.byteLength <= 100000) return f;
      const b = copy(f);
      b[HEADER_SIZE + 8] = b[HEADER_SIZE + 8]! ^ 0xff;
      return b;
    }),
  },
  {
    name: 'numbering-skips-after-ack',
    breaks: 'KKCM-SEQ-1',
    description: 'skips one sequence number before each ACK it sends',
    expectKilledBy: ['control.ack.after-acceptance'],
    roles: ['master', 'backup'],
    customize: skipsSeqAfterAck,
  },
  {
    name: 'ack-beyond-last',
    breaks: 'KKCM-CTL-4',
    description: 'confirms delivery up to one past the last message accepted',
    expectKilledBy: ['control.ack.after-acceptance'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.ack', (b) => ({ upTo: (b.upTo + 1) >>> 0 })),
  },
  {
    name: 'ack-repeated',
    breaks: 'KKCM-CTL-4',
    description: 'sends every ACK twice (the second does not move forward)',
    expectKilledBy: ['control.ack.after-acceptance'],
    roles: ['master', 'backup'],
    customize: tapped(() => () => ({
      restamp: 0,
      write: (frames) => frames.flatMap((f) => (frameName(f) === 'control.ack' ? [f, copy(f)] : [f])),
    })),
  },
  {
    name: 'nack-wrong-code',
    breaks: 'KKCM-CTL-4',
    description: 'NACKs with ERR_UNKNOWN_TYPE instead of ERR_NO_HANDLER',
    expectKilledBy: ['control.ack.cumulative'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.nack', (b) => ({ ...b, code: ERROR_VALUES.ERR_UNKNOWN_TYPE })),
  },
  {
    name: 'no-nack',
    breaks: 'KKCM-CTL-4',
    description: 'never NACKs: a message no client took is not answered',
    expectKilledBy: ['control.ack.cumulative'],
    roles: ['master', 'backup'],
    customize: writeFrames((f) => (frameName(f) === 'control.nack' ? null : f), 0),
  },
  {
    name: 'shutdown-wrong-reason-on-stop',
    breaks: 'KKCM-CTL-3',
    description: 'says nsrDeconfigured in the SHUTDOWN it sends when it stops',
    expectKilledBy: ['control.shutdown.on-deliberate-close'],
    roles: ['master', 'backup'],
    customize: rewriteWritten('control.shutdown', (b) => ({ ...b, reason: CleanupReason.nsrDeconfigured })),
  },
  {
    name: 'ignores-shutdown-detail',
    breaks: 'KKCM-CLN-2',
    description: 'cleans up with detail peerShutdown whatever detail the SHUTDOWN carries',
    expectKilledBy: ['cleanup.shutdown.peer-down', 'cleanup.shutdown.socket-io-error'],
    roles: ['master', 'backup'],
    customize: faulty({ ignoreShutdownDetail: true }),
  },
  {
    name: 'periodic-twice-too-slow',
    breaks: 'KKCM-PER-1',
    description: 'calls the periodic handlers at twice the configured interval',
    expectKilledBy: ['periodic.ticks'],
    roles: ['master', 'backup'],
    customize: faulty({ periodicScale: 2 }),
  },
  {
    name: 'periodic-three-times-too-slow',
    breaks: 'KKCM-PER-1',
    description: 'calls the periodic handlers at three times the configured interval',
    expectKilledBy: ['periodic.ticks'],
    roles: ['master', 'backup'],
    customize: faulty({ periodicScale: 3 }),
  },
  {
    name: 'periodic-ten-times-too-fast',
    breaks: 'KKCM-PER-1',
    description: 'calls the periodic handlers at a tenth of the configured interval',
    expectKilledBy: ['periodic.ticks'],
    roles: ['master', 'backup'],
    customize: faulty({ periodicScale: 0.1 }),
  },
  {
    name: 'validates-client-bodies',
    breaks: 'KKCM-DISP-3',
    description:
      "decodes every client body against the spec's illustrative layout and treats one that does not fit as a protocol error",
    expectKilledBy: ['dispatch.client-body.opaque'],
    roles: ['master', 'backup'],
    customize: faulty({ validateClientBodies: true }),
  },
  {
    name: 'refused-message-acked',
    breaks: 'KKCM-CTL-4',
    description: 'confirms a message its client handler refused with ACK instead of NACK ERR_HANDLER_FAILED',
    expectKilledBy: ['control.nack.handler-refused'],
    roles: ['master', 'backup'],
    customize: faulty({ ackRefusedMessages: true }),
  },
  {
    name: 'refusal-ends-session',
    breaks: 'KKCM-DISP-3',
    description:
      "takes a client handler's refusal for a protocol error: ERROR ERR_HANDLER_FAILED, and the session ends",
    expectKilledBy: ['control.nack.handler-refused'],
    roles: ['master', 'backup'],
    customize: faulty({ refusalEndsSession: true }),
  },
  {
    name: 'backup-no-reconnect-after-loss',
    breaks: 'KKCM-SESS-14',
    description: 'as the connecting backup, starts no new attempt after a session lost without SHUTDOWN',
    expectKilledBy: ['session.backup.reconnects'],
    roles: ['backup'],
    customize: faulty({ noReconnectAfterLoss: true }),
  },
];
