/**
 * The chaos traffic: the messages the workers send on all four clients. Each carries its
 * sender node, the sender's incarnation (process start number), a sequence number per
 * (sender, incarnation, client) and a body derived from the three, so that the receiver
 * checks it whole ({@link checkTrafficMessage}) and the oracle can tell a lost, duplicated
 * or damaged message from a good one.
 *
 * @module
 */
import type { ClientName, KnownMessage, MessageInput } from '../../../codec/src/index.js';
import { Prng } from '../prng.js';

/** The clients that carry traffic, in the order of the log's client index. */
export const TRAFFIC_CLIENTS = ['iha', 'sdrl', 'psrm', 'prl'] as const satisfies readonly ClientName[];

/** A traffic client. */
export type TrafficClient = (typeof TRAFFIC_CLIENTS)[number];

/** Message each client sends: the types of each client that carry data or fields we can fill. */
export const TRAFFIC_MESSAGE: Readonly<Record<TrafficClient, string>> = {
  iha: 'iha.handleSetupV4',
  sdrl: 'sdrl.socketData',
  psrm: 'psrm.tcpState',
  prl: 'prl.packet',
};

/** Identity of a traffic message: who sent it and its place in the sender's stream. */
export interface TrafficId {
  /** Sender node id (1–255). */
  readonly node: number;
  /** Sender incarnation (1–65535). */
  readonly inc: number;
  /** Sequence number in the (node, inc, client) stream, from 0. */
  readonly seq: number;
}

/** Result of {@link checkTrafficMessage}. */
export type TrafficCheck =
  | (TrafficId & {
      /** Client the message belongs to. */
      readonly client: TrafficClient;
      /** True when every field is the one the identity implies. */
      readonly ok: boolean;
      /** The first field that differs, when not ok. */
      readonly why?: string;
    })
  | {
      /** The message is not a traffic message of this module. */
      readonly client: null;
      /** Its name. */
      readonly name: string;
    };

/** Body pattern of one message: a PRNG seeded from the identity and the client. */
function pattern(client: TrafficClient, id: TrafficId): Prng {
  const c = TRAFFIC_CLIENTS.indexOf(client) + 1;
  return new Prng(
    (Math.imul(id.node * 0x10001 + id.inc, 0x9e3779b1) ^
      Math.imul(id.seq + 1, 0x85ebca77) ^
      Math.imul(c, 0xc2b2ae3d)) >>>
      0,
  );
}

const u32 = (p: Prng): number => Math.floor(p.next() * 0x100000000);

/**
 * The traffic message `id` of `client`: its body is a function of the identity alone
 * (the length of the data part too, from 0 to `maxBody` bytes).
 */
export function makeTrafficMessage(client: TrafficClient, id: TrafficId, maxBody: number): MessageInput {
  const p = pattern(client, id);
  const size = p.below(maxBody + 1);
  switch (client) {
    case 'iha': {
      // appName has a u8 length.
      let appName = '';
      for (let i = 0; i < size % 256; i++) appName += String.fromCharCode(0x61 + p.below(26));
      return {
        name: 'iha.handleSetupV4',
        body: {
          handle: id.seq,
          protocol: 6,
          localPort: id.node,
          remotePort: id.inc,
          localAddress: `10.${id.node}.0.1`,
          remoteAddress: `10.0.${p.below(256)}.${p.below(256)}`,
          appName,
        },
      };
    }
    case 'sdrl':
      return {
        name: 'sdrl.socketData',
        body: { handle: id.seq, streamOffset: (BigInt(id.node) << 32n) | BigInt(id.inc), data: p.bytes(size) },
      };
    case 'psrm':
      return {
        name: 'psrm.tcpState',
        body: {
          handle: id.seq,
          state: p.below(11),
          windowScale: id.node,
          mss: id.inc,
          sndUna: u32(p),
          sndNxt: u32(p),
          rcvNxt: u32(p),
          rcvWindow: u32(p),
          tsRecent: u32(p),
          rttMicros: u32(p) | 0,
        },
      };
    case 'prl':
      return {
        name: 'prl.packet',
        body: {
          handle: id.seq,
          direction: 1 + p.below(2),
          ifIndex: id.node,
          timestampNs: BigInt(id.inc),
          packet: p.bytes(size),
        },
      };
  }
}

/** The identity a delivered body claims, read from the fields that carry it. */
function claimedId(msg: KnownMessage): { client: TrafficClient; id: TrafficId } | undefined {
  switch (msg.name) {
    case 'iha.handleSetupV4':
      return { client: 'iha', id: { node: msg.body.localPort, inc: msg.body.remotePort, seq: msg.body.handle } };
    case 'sdrl.socketData':
      return {
        client: 'sdrl',
        id: {
          node: Number(msg.body.streamOffset >> 32n),
          inc: Number(msg.body.streamOffset & 0xffffffffn),
          seq: msg.body.handle,
        },
      };
    case 'psrm.tcpState':
      return { client: 'psrm', id: { node: msg.body.windowScale, inc: msg.body.mss, seq: msg.body.handle } };
    case 'prl.packet':
      return { client: 'prl', id: { node: msg.body.ifIndex, inc: Number(msg.body.timestampNs), seq: msg.body.handle } };
    default:
      return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Checks a delivered message against the one its identity implies, field by field: a body
 * cut short, padded, or with any byte changed is not ok.
 */
export function checkTrafficMessage(msg: KnownMessage, maxBody: number): TrafficCheck {
  const claim = claimedId(msg);
  if (claim === undefined) return { client: null, name: msg.name };
  const expected = makeTrafficMessage(claim.client, claim.id, maxBody).body as unknown as Record<string, unknown>;
  const actual = msg.body as unknown as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected)) {
    const got = actual[key];
    const same = want instanceof Uint8Array ? got instanceof Uint8Array && sameBytes(want, got) : got === want;
    if (!same) return { client: claim.client, ...claim.id, ok: false, why: `${key} differs` };
  }
  return { client: claim.client, ...claim.id, ok: true };
}
