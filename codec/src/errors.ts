/**
 * The codec's error class. Every malformed input and every invalid value to encode raises
 * one `CodecError` with a stable string code from the spec's error table.
 *
 * @module
 */
import { ERROR_VALUES, type ErrorCode } from './gen/protocol.js';

/** Where an error happened. */
export interface ErrorLocation {
  /** Byte offset in the message (or in the stream, for the framer and `decodeStream`). */
  readonly offset?: number | undefined;
  /** Field path, e.g. `header.length` or `body.entries[2].handle`. */
  readonly path?: string | undefined;
}

/**
 * A coded codec error.
 *
 * - `code`: stable string code (`ERR_FRAME_TOO_LARGE`), append-only, listed in the spec.
 * - `wireCode`: the numeric value of the code, the one an ERROR message carries.
 * - `offset`, `path`: where in the input the problem is, when known.
 */
export class CodecError extends Error {
  /** Stable string code (`ERR_FRAME_TOO_LARGE`), listed in the spec. */
  readonly code: ErrorCode;
  /** Numeric value of the code: what an ERROR message carries. */
  readonly wireCode: number;
  /** Byte offset in the input where the problem is, when known. */
  readonly offset: number | undefined;
  /** Field path of the offending field (`body.nodeName`), when known. */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
    this.wireCode = ERROR_VALUES[code];
    this.offset = location.offset;
    this.path = location.path;
  }

  /** Same error with its offset moved by `delta` (used when a frame sits inside a stream). */
  shifted(delta: number): CodecError {
    if (delta === 0 || this.offset === undefined) return this;
    return new CodecError(this.code, this.message, { offset: this.offset + delta, path: this.path });
  }
}

/** True when `err` is a {@link CodecError}, optionally with the given code. */
export function isCodecError(err: unknown, code?: ErrorCode): err is CodecError {
  return err instanceof CodecError && (code === undefined || err.code === code);
}
