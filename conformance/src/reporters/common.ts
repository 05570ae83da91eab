/**
 * Pieces every reporter shares: verdict order and symbols, safe text for terminals,
 * JSON-safe copies of decoded values, and the plain-text form of a transcript.
 *
 * @module
 */
import type { CaseResult, PeerRole, TranscriptEntry, Verdict } from '../report.js';

/** Roles in report order. */
export const ROLES: readonly PeerRole[] = ['master', 'backup'];

/** One symbol per verdict, as printed in text reports and the live view. */
export const VERDICT_SYMBOL: Readonly<Record<Verdict, string>> = {
  pass: '✓',
  fail: '✗',
  warn: '!',
  skip: '-',
  xfail: '~',
  xpass: '✗',
  error: 'E',
};

/**
 * How bad each verdict is, for folding several cases into one cell of a matrix: the
 * worst one wins. `skip` is lowest, since it says nothing about the peer.
 */
const SEVERITY: Readonly<Record<Verdict, number>> = {
  skip: 0,
  pass: 1,
  xfail: 2,
  warn: 3,
  xpass: 4,
  fail: 5,
  error: 6,
};

/** True for the verdicts that make a run non-conforming: fail, error, xpass. */
export function isFailing(verdict: Verdict): boolean {
  return verdict === 'fail' || verdict === 'error' || verdict === 'xpass';
}

/** True for the verdicts whose details a reader needs: the failing ones and warn. */
export function needsDetails(verdict: Verdict): boolean {
  return isFailing(verdict) || verdict === 'warn';
}

/** The worst of some verdicts (error > fail > xpass > warn > xfail > pass > skip); undefined for none. */
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict | undefined {
  let worst: Verdict | undefined;
  for (const v of verdicts) if (worst === undefined || SEVERITY[v] > SEVERITY[worst]) worst = v;
  return worst;
}

/** `id [role]`: how a case run is named in every text format. */
export function caseLabel(result: Pick<CaseResult, 'id' | 'role'>): string {
  return `${result.id} [${result.role}]`;
}

/** A duration for people: `12 ms`, `1.25 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * Text that is safe to write to a terminal: C0/C1 control characters (ESC above all, which
 * a hostile peer could use to rewrite the screen) become `\xNN`. Newlines and tabs are
 * kept when `multiline`, otherwise shown as `\n` and `\t`.
 */
export function terminalSafe(text: string, multiline = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (multiline && (c === '\n' || c === '\t')) return c;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Hex of bytes. */
function bytesToHex(bytes: ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * A copy of a value that `JSON.stringify` renders without loss or crash: bigints become
 * decimal strings, byte arrays hex strings, Maps objects, Sets arrays, cycles
 * `"[Circular]"`.
 */
export function toJsonValue(value: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return v;
    if (ArrayBuffer.isView(v)) return bytesToHex(v);
    if (v instanceof ArrayBuffer) return bytesToHex(new Uint8Array(v));
    if (v instanceof Date) return v.toISOString();
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map(walk);
    else if (v instanceof Set) out = [...v].map(walk);
    else if (v instanceof Map) out = Object.fromEntries([...v].map(([k, x]) => [String(k), walk(x)]));
    else
      out = Object.fromEntries(
        Object.entries(v)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [k, walk(x)]),
      );
    seen.delete(v);
    return out;
  };
  return walk(value);
}

/** `s` cut to `max` characters, with `…` when cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * One line for a transcript entry's decoded form: `NAME {…rest…}` for a decoded message,
 * the text for a note, compact JSON otherwise. Not escaped for any output format.
 */
export function decodedSummary(decoded: unknown): string {
  if (typeof decoded === 'string') return decoded;
  if (decoded === undefined) return '';
  const json = toJsonValue(decoded);
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const { name, ...rest } = json as Record<string, unknown>;
    if (typeof name === 'string') return Object.keys(rest).length === 0 ? name : `${name} ${JSON.stringify(rest)}`;
  }
  return JSON.stringify(json) ?? String(json);
}

/**
 * Hex grouped by 4 bytes, cut after `maxBytes` bytes; ends with `… (N bytes)` when the
 * bytes were abridged here or by the harness (`length` larger than the hex shown).
 */
export function abridgedHex(hex: string, length: number, maxBytes = 24): string {
  const digits = hex.replace(/[^0-9a-fA-F]/g, '');
  const shown = digits.slice(0, maxBytes * 2);
  const groups = shown.match(/.{1,8}/g) ?? [];
  const cut = shown.length / 2 < length;
  return `${groups.join(' ')}${cut ? ` … (${length} bytes)` : ''}`;
}

/** Arrow for a transcript direction: `→` the suite sent, `←` the peer sent, `·` a note. */
export function directionArrow(dir: TranscriptEntry['dir']): string {
  return dir === 'out' ? '→' : dir === 'in' ? '←' : '·';
}

/** Options of {@link transcriptText}. */
export interface TranscriptTextOptions {
  /** Longest decoded text per line, in characters (default 240). */
  readonly maxDecoded?: number;
  /** Bytes of hex per line (default 24). */
  readonly hexBytes?: number;
}

/**
 * The plain-text transcript: per entry a line `+12ms → #1 send  NAME {...}` and, when
 * bytes were exchanged, a line with the abridged hex. Terminal-safe, not colored, no
 * trailing newline on the lines.
 */
export function transcriptText(transcript: readonly TranscriptEntry[], options: TranscriptTextOptions = {}): string[] {
  const maxDecoded = options.maxDecoded ?? 240;
  const lines: string[] = [];
  for (const e of transcript) {
    const where = `#${e.conn} ${e.channel ?? '-'}`;
    const head = `+${Math.round(e.t)}ms`.padEnd(8) + ` ${directionArrow(e.dir)} ${where.padEnd(10)} `;
    lines.push(head + terminalSafe(truncate(decodedSummary(e.decoded), maxDecoded)));
    if (e.length > 0 || e.hex !== '')
      lines.push(' '.repeat(head.length) + abridgedHex(e.hex, e.length, options.hexBytes));
  }
  return lines;
}

/** Pairs of requirement id and text (the text is empty when the report has none). */
export function requirementPairs(result: CaseResult): Array<{ id: string; text: string }> {
  const texts = result.requirementTexts ?? [];
  return result.requirements.map((id, i) => ({ id, text: texts[i] ?? '' }));
}

/** Compares requirement or case ids so that `X-2` sorts before `X-10`. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
