/**
 * Hex text to bytes and back, for the CLI, JSON forms and vectors.
 *
 * @module
 */
import { CodecError } from './errors.js';

/** Lower-case hex of some bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Parses hex text; whitespace, `:` separators and a leading `0x` are allowed.
 *
 * @throws CodecError ERR_BAD_INPUT with the offset of the first bad character.
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  const bad = clean.search(/[^0-9a-fA-F]/);
  if (bad >= 0)
    throw new CodecError('ERR_BAD_INPUT', `not a hex digit: ${JSON.stringify(clean[bad])}`, {
      offset: Math.floor(bad / 2),
    });
  if (clean.length % 2 !== 0)
    throw new CodecError('ERR_BAD_INPUT', 'odd number of hex digits', { offset: Math.floor(clean.length / 2) });
  return new Uint8Array(Buffer.from(clean, 'hex'));
}
