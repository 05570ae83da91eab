/**
 * Small helpers the generated codec calls: the failure funnel, UTF-8, addresses and
 * integer checks. Internal: not exported from the package.
 *
 * @module
 */
import { CodecError } from './errors.js';
import type { ErrorCode } from './gen/protocol.js';

/** Raises the coded error. Every decode and encode violation goes through here. */
export function fail(code: ErrorCode, message: string, offset?: number, path?: string): never {
  throw new CodecError(code, message, { offset, path });
}

/** Adds a path prefix (`body.entries[2]`) to an error raised inside a nested decoder. */
export function withPathPrefix(err: unknown, prefix: string): unknown {
  if (err instanceof CodecError) {
    return new CodecError(err.code, err.message, {
      offset: err.offset,
      path: err.path === undefined ? prefix : `${prefix}.${err.path}`,
    });
  }
  /* c8 ignore next */
  return err;
}

/**
 * A run of fixed-size fields does not fit: names the first field that runs past `end`.
 *
 * @param sizes - byte size of each field of the run, in order.
 * @param names - path of each field of the run.
 */
export function truncated(start: number, end: number, sizes: readonly number[], names: readonly string[]): never {
  let o = start;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i] ?? 0;
    if (o + size > end)
      fail(
        'ERR_TRUNCATED_BODY',
        `body ends at byte ${end}, ${names[i] ?? '?'} needs ${size} bytes at ${o}`,
        o,
        names[i],
      );
    o += size;
  }
  /* c8 ignore next */
  return fail('ERR_TRUNCATED_BODY', 'body truncated', start);
}

/** A length field announces more bytes than remain. */
export function badLength(path: string, offset: number, length: number, end: number): never {
  return fail(
    'ERR_BAD_LENGTH_FIELD',
    `${path} needs ${length} bytes at ${offset}, only ${Math.max(0, end - offset)} remain`,
    offset,
    path,
  );
}

/** A count field announces more items than remain. */
export function badCount(path: string, offset: number, count: number, end: number): never {
  return fail(
    'ERR_BAD_COUNT',
    `${path} announces ${count} items, only ${Math.max(0, end - offset)} bytes remain at ${offset}`,
    offset,
    path,
  );
}

/** A reserved field holds a non-zero byte. */
export function reservedNonzero(path: string, offset: number): never {
  return fail('ERR_RESERVED_NONZERO', `${path} must be zero`, offset, path);
}

/** Bytes remain after the last field of the layout. */
export function trailing(offset: number, end: number): never {
  return fail('ERR_TRAILING_BYTES', `${end - offset} bytes after the last field at ${offset}`, offset, 'body');
}

/** True when every byte of `b[start, end)` is zero. */
export function allZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

// 64-bit values go through one 8-byte scratch cell: the two 32-bit halves are written as
// numbers and the cell is read once as a bigint (and the reverse), so a conversion builds
// one BigInt instead of the three or more that shifts and ors allocate.
const scratch64 = new BigUint64Array(1);
const scratchI64 = new BigInt64Array(scratch64.buffer);
const scratch32 = new Uint32Array(scratch64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Reads a big-endian unsigned 64-bit integer. */
export function readU64(b: Uint8Array, o: number): bigint {
  scratch32[HI] = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  scratch32[LO] = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  return scratch64[0]!;
}

/** Reads a big-endian signed 64-bit integer. */
export function readI64(b: Uint8Array, o: number): bigint {
  scratch32[HI] = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  scratch32[LO] = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  return scratchI64[0]!;
}

/** Writes a big-endian 64-bit integer (signed values are written in two's complement). */
export function writeU64(b: Uint8Array, o: number, v: bigint): void {
  // A BigUint64Array stores v modulo 2^64: two's complement for negative values.
  scratch64[0] = v;
  const hi = scratch32[HI]!;
  const lo = scratch32[LO]!;
  b[o] = hi >>> 24;
  b[o + 1] = hi >>> 16;
  b[o + 2] = hi >>> 8;
  b[o + 3] = hi;
  b[o + 4] = lo >>> 24;
  b[o + 5] = lo >>> 16;
  b[o + 6] = lo >>> 8;
  b[o + 7] = lo;
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Decodes UTF-8 strictly. Short ASCII strings take a copy-free fast path. */
export function readUtf8(b: Uint8Array, start: number, end: number, path: string): string {
  if (end - start <= 64) {
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === end) return s;
  }
  try {
    return fatalDecoder.decode(b.subarray(start, end));
  } catch {
    return fail('ERR_BAD_UTF8', `${path} is not valid UTF-8`, start, path);
  }
}

/** `String.prototype.isWellFormed` (ES2024, in Node 20; the package compiles against ES2022). */
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/**
 * UTF-8 byte length of a string; raises ERR_INVALID_VALUE for a non-string, and for a
 * string that is not well-formed UTF-16 (a lone surrogate), which has no UTF-8 form: the
 * encoder would otherwise write U+FFFD in its place, silently sending another string.
 */
export function utf8Length(s: unknown, path: string): number {
  if (typeof s !== 'string') return fail('ERR_INVALID_VALUE', `${path} must be a string`, undefined, path);
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    // Surrogates are above 0x7f: an ASCII string is well-formed and needs no further look.
    if (s.charCodeAt(i) >= 0x80) {
      if (!isWellFormed.call(s))
        return fail(
          'ERR_INVALID_VALUE',
          `${path} is not well-formed UTF-16 (it holds a lone surrogate)`,
          undefined,
          path,
        );
      n = Buffer.byteLength(s, 'utf8');
      break;
    }
  }
  return n;
}

/** Writes a string as UTF-8 at `o`, returns the bytes written. */
export function writeUtf8(b: Uint8Array, o: number, s: string): number {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    b[o + i] = c;
  }
  if (i === n) return n;
  return i + encoder.encodeInto(s.slice(i), b.subarray(o + i)).written;
}

/** Byte length of a bytes value; raises ERR_INVALID_VALUE when it is not a Uint8Array. */
export function bytesLength(v: unknown, path: string): number {
  if (!(v instanceof Uint8Array)) return fail('ERR_INVALID_VALUE', `${path} must be a Uint8Array`, undefined, path);
  return v.byteLength;
}

/** Items of an array value; raises ERR_INVALID_VALUE when it is not an array. */
export function arrayItems<T>(v: unknown, path: string): readonly T[] {
  if (!Array.isArray(v)) return fail('ERR_INVALID_VALUE', `${path} must be an array`, undefined, path);
  return v as T[];
}

/** An integer value does not fit its field: out of range, or not an integer at all. */
export function badInt(v: unknown, type: string, path: string): never {
  if (typeof v !== 'number' || !Number.isInteger(v))
    return fail('ERR_INVALID_VALUE', `${path} must be an integer (${type})`, undefined, path);
  return fail('ERR_VALUE_OUT_OF_RANGE', `${path} = ${v} does not fit ${type}`, undefined, path);
}

/** Checks a 64-bit field value. */
export function checkBig(v: unknown, signed: boolean, path: string): bigint {
  if (typeof v !== 'bigint') return fail('ERR_INVALID_VALUE', `${path} must be a bigint`, undefined, path);
  // In range exactly when wrapping to 64 bits leaves the value unchanged; cheaper than two
  // comparisons with bigint constants.
  if ((signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v)) !== v) {
    return fail('ERR_VALUE_OUT_OF_RANGE', `${path} = ${v} does not fit ${signed ? 'i64' : 'u64'}`, undefined, path);
  }
  return v;
}

/** Formats 4 bytes as dotted-quad IPv4 text. */
export function readIpv4(b: Uint8Array, o: number): string {
  return `${b[o]!}.${b[o + 1]!}.${b[o + 2]!}.${b[o + 3]!}`;
}

/** Formats 16 bytes as canonical IPv6 text (RFC 5952: lower case, longest zero run compressed). */
export function readIpv6(b: Uint8Array, o: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff)
    return `::ffff:${readIpv4(b, o + 12)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Writes dotted-quad IPv4 text as 4 bytes. */
export function writeIpv4(b: Uint8Array, o: number, v: unknown, path: string): void {
  if (typeof v !== 'string' || !IPV4.test(v))
    return fail('ERR_INVALID_VALUE', `${path} must be an IPv4 address`, undefined, path);
  const parts = v.split('.');
  for (let i = 0; i < 4; i++) b[o + i] = Number(parts[i]);
}

/** Writes IPv6 text (with `::` and an optional trailing dotted quad) as 16 bytes. */
export function writeIpv6(b: Uint8Array, o: number, v: unknown, path: string): void {
  const words = typeof v === 'string' ? parseIpv6(v) : undefined;
  if (words === undefined) return fail('ERR_INVALID_VALUE', `${path} must be an IPv6 address`, undefined, path);
  for (let i = 0; i < 8; i++) {
    b[o + 2 * i] = words[i]! >>> 8;
    b[o + 2 * i + 1] = words[i]! & 0xff;
  }
}

function parseGroups(s: string): number[] | undefined {
  if (s === '') return [];
  const out: number[] = [];
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p.includes('.')) {
      if (!IPV4.test(p)) return undefined;
      const q = p.split('.').map(Number);
      out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

function parseIpv6(s: string): number[] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** Allocates an output buffer every byte of which the encoder writes. */
export function alloc(size: number): Uint8Array {
  return Buffer.allocUnsafe(size);
}

/** A fixed-size bytes value has the wrong length. */
export function badFixedBytes(path: string, size: number): never {
  return fail('ERR_INVALID_VALUE', `${path} must hold exactly ${size} bytes`, undefined, path);
}
