/**
 * Byte-level helpers for mutant transports: header fields of a whole frame, a splitter of
 * written bytes into frames, and a streaming rewriter of the headers a peer reads.
 *
 * These helpers read only the length field to find frame boundaries, never the codec's
 * checks: a mutant tap must pass every violation a conformance case sends through to the
 * peer untouched (a bad magic, a length above the limit), and must hand a header to the
 * peer as soon as it is complete (the limit is checked before the body arrives, KKCM-FRM-3).
 *
 * @module
 */
import {
  decodeMessage,
  encodeMessage,
  HEADER_SIZE,
  Limits,
  MESSAGES,
  type MessageBodies,
  type MessageInput,
  type MessageName,
} from '../../codec/src/index.js';

/** Byte offsets of the header fields (network byte order). [KKCM-HDR-1] */
export const Header = { magic: 0, version: 4, flags: 5, type: 6, subtype: 7, length: 8, seq: 12 } as const;

const NAMES = new Map<number, MessageName>(Object.values(MESSAGES).map((m) => [(m.type << 8) | m.subtype, m.name]));

/** Reads a big-endian u32. */
export function readU32(b: Uint8Array, offset: number): number {
  return ((b[offset]! << 24) | (b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!) >>> 0;
}

/** Writes a big-endian u32. */
export function writeU32(b: Uint8Array, offset: number, value: number): void {
  b[offset] = value >>> 24;
  b[offset + 1] = value >>> 16;
  b[offset + 2] = value >>> 8;
  b[offset + 3] = value;
}

/** Name of the message in a frame (or header), null for an unknown type or subtype. */
export function frameName(frame: Uint8Array): MessageName | null {
  return NAMES.get((frame[Header.type]! << 8) | frame[Header.subtype]!) ?? null;
}

/**
 * Decodes a whole frame, lets `change` edit its body, and encodes it again with the same
 * header fields (version, flags, sequence number).
 */
export function rewriteBody<N extends MessageName>(
  frame: Uint8Array,
  name: N,
  change: (body: MessageBodies[N]) => MessageBodies[N],
): Uint8Array {
  const version = frame[Header.version]!;
  const msg = decodeMessage(frame, { maxMessage: Limits.absoluteMaxMessage, version });
  const body = change(msg.body as MessageBodies[N]);
  return encodeMessage({ name, body, version, flags: msg.header.flags, seq: msg.header.seq } as MessageInput);
}

/**
 * Cuts a byte stream the peer writes into whole frames. The reference peer writes whole
 * frames, one per chunk, so the usual case costs nothing; other cuts are reassembled.
 */
export class FrameSplitter {
  private held: Uint8Array = new Uint8Array(0);

  /** Feeds written chunks; returns the frames they completed, in order. */
  push(chunks: readonly Uint8Array[]): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const chunk of chunks) {
      if (
        this.held.byteLength === 0 &&
        chunk.byteLength >= HEADER_SIZE &&
        readU32(chunk, Header.length) === chunk.byteLength
      ) {
        frames.push(chunk);
        continue;
      }
      const all = new Uint8Array(this.held.byteLength + chunk.byteLength);
      all.set(this.held, 0);
      all.set(chunk, this.held.byteLength);
      let o = 0;
      while (all.byteLength - o >= HEADER_SIZE) {
        const length = readU32(all, o + Header.length);
        if (length < HEADER_SIZE) {
          // Not a frame: hand the rest over as it is (the peer never writes this).
          frames.push(all.subarray(o));
          o = all.byteLength;
          break;
        }
        if (all.byteLength - o < length) break;
        frames.push(all.subarray(o, o + length));
        o += length;
      }
      this.held = all.slice(o);
    }
    return frames;
  }
}

/**
 * Rewrites, in place, the header of every message a peer reads, without holding back more
 * than an incomplete header: a complete header is handed on at once and its body streams
 * through as it arrives. A length below the header size ends the rewriting (the rest goes
 * through raw, so that the peer sees the violation).
 */
export class HeaderRewriter {
  private readonly head = new Uint8Array(HEADER_SIZE);
  private headFill = 0;
  private bodyLeft = 0;
  private raw = false;

  /** `rewrite` edits a complete 16-byte header in place. */
  constructor(private readonly rewrite: (header: Uint8Array) => void) {}

  /** Feeds a chunk the peer is about to read; returns what the peer reads instead. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.raw) return [chunk];
    const out: Uint8Array[] = [];
    let o = 0;
    while (o < chunk.byteLength) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.byteLength - o);
        out.push(chunk.subarray(o, o + n));
        this.bodyLeft -= n;
        o += n;
        continue;
      }
      const n = Math.min(HEADER_SIZE - this.headFill, chunk.byteLength - o);
      this.head.set(chunk.subarray(o, o + n), this.headFill);
      this.headFill += n;
      o += n;
      if (this.headFill < HEADER_SIZE) break;
      this.headFill = 0;
      const length = readU32(this.head, Header.length);
      if (length < HEADER_SIZE) {
        this.raw = true;
        out.push(this.head.slice(), chunk.subarray(o));
        return out;
      }
      this.rewrite(this.head);
      out.push(this.head.slice());
      this.bodyLeft = length - HEADER_SIZE;
    }
    return out;
  }
}
