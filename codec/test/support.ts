/**
 * Helpers shared by the codec tests.
 */
import { CodecError } from '../src/index.js';

/** The code of the CodecError `fn` throws, a marker when it throws something else, or undefined. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}
