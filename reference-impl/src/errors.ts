/**
 * Errors of the reference peer's API: sending with no session, a full queue, a bad
 * registration… Each carries a stable code from the spec's error table.
 *
 * @module
 */
import { ERROR_VALUES, type ErrorCode } from '../../codec/src/index.js';

/** A coded error raised by the reference peer's API or its session logic. */
export class PeerError extends Error {
  /** Stable string code from the spec (`ERR_NO_SESSION`). */
  readonly code: ErrorCode;
  /** Numeric value of the code, as in the spec. */
  readonly value: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PeerError';
    this.code = code;
    this.value = ERROR_VALUES[code];
  }
}
