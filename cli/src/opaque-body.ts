/**
 * How `kkcm decode` shows a client message whose body does not fit the spec's illustrative
 * layout, with the bundled codec or with `--spec FILE`: one form for both.
 *
 * @module
 */
import { toHex, type HeaderJson } from '../../codec/src/index.js';

/** The note's text before the error code. */
export const MISFIT_NOTE = 'body does not fit the illustrative layout';

/** JSON form of a client message whose body does not fit its illustrative layout. */
export interface MisfitJson {
  /** Qualified name of the type and subtype, or null for a subtype the spec does not list. */
  name: string | null;
  /** The header. */
  header: HeaderJson;
  /** The whole body, as hex. */
  body: string;
  /** `body does not fit the illustrative layout: <error code>`. */
  note: string;
}

/**
 * A client message whose body does not fit the spec's illustrative layout. Not an error:
 * client bodies are opaque to KKCM [KKCM-DISP-3], so the header is shown, the body as raw
 * hex, and a note names the misfit.
 *
 * @param code - the error code the illustrative layout raised (`ERR_TRAILING_BYTES`).
 */
export function misfitToJson(name: string | null, header: HeaderJson, body: Uint8Array, code: string): MisfitJson {
  const { version, flags, type, subtype, length, seq } = header;
  return {
    name,
    header: { version, flags, type, subtype, length, seq },
    body: toHex(body),
    note: `${MISFIT_NOTE}: ${code}`,
  };
}
