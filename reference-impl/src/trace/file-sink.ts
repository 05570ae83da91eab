/**
 * The file end of a trace sink: a write stream with a bounded buffer. A trace must never
 * block or slow the peer, nor grow memory without bound when the disk falls behind: records
 * that do not fit are refused (the caller counts them and says so in the file later).
 *
 * @module
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';

/** Default bound of the bytes waiting for the disk: 4 MiB. */
export const DEFAULT_TRACE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * A trace file opened for writing.
 *
 * @internal shared by the event log and the pcapng writer.
 */
export class TraceFileSink {
  private readonly stream: WriteStream;
  private readonly maxBuffered: number;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  /**
   * Creates (or truncates) the file at once, so that a bad path fails here and not later.
   *
   * @param maxBuffered bytes that may wait for the disk before writes are refused; one
   *   record is always accepted when nothing waits, so the bound is `max(maxBuffered,
   *   largest record)`.
   * @throws the `fs` error (ENOENT, EACCES…) when the file cannot be created.
   */
  constructor(path: string, maxBuffered: number = DEFAULT_TRACE_BUFFER_BYTES) {
    const fd = openSync(path, 'w');
    this.stream = createWriteStream(path, { fd });
    this.maxBuffered = maxBuffered;
    this.stream.on('error', this.onError);
  }

  /**
   * Queues the chunks of one record, all or none, without waiting.
   *
   * @param force write even past the bound: for the few bytes of headers and drop notices.
   * @returns false, writing nothing, when the buffer is full, the file failed or it closed.
   */
  write(chunks: readonly (Uint8Array | string)[], force = false): boolean {
    if (this.failure !== undefined || this.closing !== undefined) return false;
    const queued = this.stream.writableLength;
    if (queued > 0 && !force) {
      let size = 0;
      for (const c of chunks) size += typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength;
      if (queued + size > this.maxBuffered) return false;
    }
    for (const c of chunks) this.stream.write(c);
    return true;
  }

  /**
   * Writes what is queued and closes the file. Safe to call twice: both calls get the same
   * promise.
   *
   * @throws (rejects with) the first write error when the file failed.
   */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (this.failure === undefined) this.stream.end();
    try {
      await finished(this.stream);
    } catch (err) {
      this.failure ??= err as Error;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private readonly onError = (err: Error): void => {
    this.failure ??= err;
  };
}
