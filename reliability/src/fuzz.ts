/**
 * The offline fuzzer: every input goes through `decodeMessage`, the {@link Framer} (in one
 * chunk and cut at random points) with `decodeMessage` on each frame, and the
 * {@link StreamDecoder} (cut at other random points).
 *
 * What counts:
 * - a **crash**: an exception that is not a CodecError, a frame outside the length bounds,
 *   or more bytes buffered than the limit at any point;
 * - a **divergence**: the paths disagree — a different number of messages, different
 *   frames, or a different error code or stream offset — so the way the stream was cut, or
 *   the path taken, changed the outcome. The codec promises it never does.
 *
 * @module
 */
import {
  CodecError,
  decodeMessage,
  Framer,
  HEADER_SIZE,
  StreamDecoder,
  type DecodeOptions,
} from '../../codec/src/index.js';
import { makeInput, vectorCorpus, type FuzzInput } from './mutate.js';
import { Prng } from './prng.js';

/** Settings of {@link fuzzCodec}. */
export interface FuzzOptions {
  /** Inputs to try. */
  readonly runs: number;
  /** Seed of the PRNG; run `i` is made from (seed, i) alone. */
  readonly seed: number;
  /** Length limit the framers are given, header included (default 4096: easy to reach). */
  readonly maxMessage?: number;
  /**
   * Bound the buffered bytes are checked against (default `maxMessage`). A smaller one than
   * the framers' limit must be reported as crashes: the fuzzer's own tests use it to show
   * that its check can fail.
   */
  readonly bufferLimit?: number;
  /** Called every `progressEvery` runs (default never). */
  readonly onProgress?: (done: number) => void;
  readonly progressEvery?: number;
  /** Failures kept in the report, the first ones (default 20). */
  readonly keepFailures?: number;
}

/** A crash or a divergence, with what replays it. */
export interface FuzzFailure {
  readonly run: number;
  readonly kind: 'crash' | 'divergence';
  readonly target: string;
  readonly detail: string;
  /** The input, as hex (first 512 bytes). */
  readonly input: string;
}

/** What a fuzz found. */
export interface FuzzReport {
  readonly runs: number;
  readonly seed: number;
  readonly crashes: number;
  readonly divergences: number;
  /** Most bytes any framer held for an incomplete message, at any point. */
  readonly maxBufferedBytes: number;
  /** The length limit the framers were given. */
  readonly limit: number;
  /** How the peer's path (Framer, then decodeMessage per frame) ended: a code, or `ok`. */
  readonly byCode: Record<string, number>;
  /** Inputs by how they were made. */
  readonly byKind: Record<string, number>;
  /** Messages the inputs held, decoded whole. */
  readonly messages: number;
  readonly durationMs: number;
  readonly failures: FuzzFailure[];
}

/** How one path ended: its error code and stream offset, if any. */
interface Outcome {
  code: string | undefined;
  offset: number | undefined;
}

class Crash extends Error {}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 512)).toString('hex');
}

/** Random cut points: chunks of 1 byte to the whole input. */
function cuts(rng: Prng, b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  const small = rng.chance(0.3);
  while (at < b.byteLength) {
    const n = small ? rng.between(1, 4) : rng.between(1, Math.max(1, b.byteLength - at));
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** The options a receiver might have: a negotiated version or not, a channel or not. */
function receiverOptions(rng: Prng, limit: number): DecodeOptions {
  const r = rng.below(20);
  const channel = rng.pick([undefined, 'send', 'receive'] as const);
  return {
    maxMessage: limit,
    ...(r < 8 ? { version: 1 } : r < 10 ? { version: rng.below(256) } : r < 15 ? { anyVersion: true } : {}),
    ...(channel !== undefined ? { channel } : {}),
  };
}

/** Runs the codec over random inputs. Deterministic for a given seed and run count. */
export function fuzzCodec(options: FuzzOptions): FuzzReport {
  const limit = options.maxMessage ?? 4096;
  const bufferLimit = options.bufferLimit ?? limit;
  const keep = options.keepFailures ?? 20;
  const corpus = vectorCorpus();
  const byCode: Record<string, number> = {};
  const byKind: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let crashes = 0;
  let divergences = 0;
  let maxBuffered = 0;
  let messages = 0;
  const started = performance.now();

  const record = (run: number, kind: FuzzFailure['kind'], target: string, detail: string, input: FuzzInput): void => {
    if (kind === 'crash') crashes++;
    else divergences++;
    if (failures.length < keep) failures.push({ run, kind, target, detail, input: hex(input.bytes) });
  };

  /** Pushes chunks through a framer-like reader, checking the buffered bytes after each. */
  const drive = <T>(
    reader: Framer | StreamDecoder,
    chunks: readonly Uint8Array[],
    out: T[],
    asFrame: (m: T) => void,
  ): Outcome => {
    let code: string | undefined;
    let offset: number | undefined;
    try {
      for (const c of chunks) {
        for (const m of reader.push(c) as T[]) {
          out.push(m);
          asFrame(m);
        }
        if (reader.buffered > bufferLimit) throw new Crash(`${reader.buffered} bytes buffered, limit ${bufferLimit}`);
        maxBuffered = Math.max(maxBuffered, reader.buffered);
        if (reader.error !== undefined) break;
      }
      // A violation found after messages of the last chunk is raised by end().
      reader.end();
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      code = err.code;
      offset = err.offset;
    }
    return { code, offset };
  };

  const checkFrame = (f: Uint8Array): void => {
    if (f.byteLength < HEADER_SIZE || f.byteLength > limit)
      throw new Crash(`a frame of ${f.byteLength} bytes came out (limit ${limit})`);
  };

  for (let run = 0; run < options.runs; run++) {
    const rng = Prng.forRun(options.seed, run);
    const input = makeInput(rng, corpus, limit);
    byKind[input.kind] = (byKind[input.kind] ?? 0) + 1;
    const opts = receiverOptions(rng, limit);
    let target = 'decodeMessage';
    try {
      try {
        decodeMessage(input.bytes, opts);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
      }

      target = 'Framer (one chunk)';
      const whole: Uint8Array[] = [];
      const a = drive(new Framer(opts), [input.bytes], whole, checkFrame);

      target = 'Framer (cut)';
      const split: Uint8Array[] = [];
      const b = drive(new Framer(opts), cuts(rng, input.bytes), split, checkFrame);

      // The peer's path: each frame decoded whole, the first failure ends the stream.
      target = 'decodeMessage (per frame)';
      let peerCode = a.code;
      let decoded = 0;
      for (const f of whole) {
        try {
          decodeMessage(f, opts);
          decoded++;
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          peerCode = err.code;
          break;
        }
      }
      messages += decoded;
      byCode[peerCode ?? 'ok'] = (byCode[peerCode ?? 'ok'] ?? 0) + 1;

      target = 'StreamDecoder (cut)';
      const streamed: unknown[] = [];
      const c = drive(new StreamDecoder(opts), cuts(rng, input.bytes), streamed, () => undefined);

      if (
        whole.length !== split.length ||
        a.code !== b.code ||
        a.offset !== b.offset ||
        whole.some((f, i) => Buffer.compare(f, split[i]!) !== 0)
      ) {
        record(
          run,
          'divergence',
          'Framer',
          `one chunk: ${whole.length} frames, ${a.code ?? 'ok'}@${a.offset}; cut: ${split.length} frames, ${b.code ?? 'ok'}@${b.offset}`,
          input,
        );
      } else if (streamed.length !== decoded || c.code !== peerCode) {
        record(
          run,
          'divergence',
          'StreamDecoder',
          `Framer + decodeMessage: ${decoded} messages, ${peerCode ?? 'ok'}; StreamDecoder: ${streamed.length} messages, ${c.code ?? 'ok'}`,
          input,
        );
      }
    } catch (err) {
      record(
        run,
        'crash',
        target,
        err instanceof Crash ? err.message : `${(err as Error).name}: ${(err as Error).message}`,
        input,
      );
    }
    if (options.onProgress !== undefined && (run + 1) % (options.progressEvery ?? 100000) === 0)
      options.onProgress(run + 1);
  }
  return {
    runs: options.runs,
    seed: options.seed,
    crashes,
    divergences,
    maxBufferedBytes: maxBuffered,
    limit,
    byCode,
    byKind,
    messages,
    durationMs: Math.round(performance.now() - started),
    failures,
  };
}
