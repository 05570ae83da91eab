/**
 * Builds the generated C codec with the machine's C compiler and runs its test driver
 * (`codec/c/test/kkcm-c-test.c`): one process answers a whole batch of commands, one JSON
 * line each. Also computes what the TypeScript codec says about the same input, in the same
 * shape, so that tests compare the two codecs' verdicts field by field.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';
import {
  ChannelId,
  CodecError,
  decodeMessage,
  iterateStream,
  Limits,
  messageToJson,
  stringify,
  type DecodeOptions,
} from '../src/index.js';

/** The warnings every generated C file must compile without (issue 13). */
export const STRICT_FLAGS = [
  '-std=c99',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-pedantic',
  '-Wconversion',
  '-Wsign-conversion',
  '-Wshadow',
];

/** The first C compiler found on PATH, or undefined. */
export function findCompiler(names: readonly string[] = ['gcc', 'cc', 'clang']): string | undefined {
  for (const name of names) {
    try {
      execFileSync(name, ['--version'], { stdio: 'ignore' });
      return name;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}

/** Paths of the C sources. */
export const cDir = join(packageRoot(), 'codec', 'c');
export const cSources = [join(cDir, 'gen', 'kkcm.c'), join(cDir, 'gen', 'kkcm-json.c')];

/**
 * Compiles `main` with the generated codec into a fresh temporary folder; returns the binary
 * and a cleanup. Sanitizers on by default: any finding aborts the driver, which the tests see.
 */
export function buildC(
  compiler: string,
  main: string,
  name: string,
  extra: readonly string[] = ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'],
): { bin: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-c-'));
  const bin = join(dir, name);
  execFileSync(
    compiler,
    [
      '-std=c99',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-pedantic',
      ...extra,
      '-I',
      join(cDir, 'gen'),
      ...cSources,
      main,
      '-o',
      bin,
    ],
    {
      stdio: 'pipe',
    },
  );
  return { bin, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a codec says about an input: the messages (stream offset and JSON form) and the error. */
export interface Verdict {
  messages: { offset: number; json: unknown }[];
  error: { code: string; offset: number | undefined; path: string | null } | null;
}

/** The C driver's answer: a verdict plus, per message, whether re-encoding gave back its bytes. */
export interface CAnswer extends Verdict {
  messages: { offset: number; json: unknown; same: boolean }[];
}

/** One command of the driver. */
export interface CCommand {
  readonly mode: 'stream' | 'message';
  readonly bytes: Uint8Array;
  readonly options?: DecodeOptions | undefined;
  /** Stream only: chunk boundaries, or 'all' for byte by byte; default one chunk. */
  readonly cuts?: readonly number[] | 'all' | undefined;
}

function commandLine(c: CCommand): string {
  const o = c.options ?? {};
  const hex =
    c.bytes.byteLength === 0
      ? '-'
      : Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength).toString('hex');
  const cuts =
    c.cuts === undefined || (Array.isArray(c.cuts) && c.cuts.length === 0)
      ? '-'
      : c.cuts === 'all'
        ? 'all'
        : c.cuts.join(',');
  const channel = o.channel !== undefined ? ChannelId[o.channel] : 0;
  return `${c.mode} ${o.maxMessage ?? Limits.defaultMaxMessage} ${o.version ?? -1} ${o.anyVersion === true ? 1 : 0} ${channel} ${hex} ${cuts}`;
}

/** Runs a batch of commands through one driver process; one answer per command, in order. */
export function runDriver(bin: string, commands: readonly CCommand[]): CAnswer[] {
  const input = commands.map(commandLine).join('\n') + '\n';
  const r = spawnSync(bin, [], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`C driver exited ${String(r.status ?? r.signal)}: ${r.stderr.slice(0, 4000)}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== commands.length)
    throw new Error(`C driver answered ${lines.length} of ${commands.length} commands`);
  return lines.map((l) => JSON.parse(l) as CAnswer);
}

/** Cuts a buffer into chunks at the given offsets (as the driver does). */
function chunksOf(bytes: Uint8Array, cuts: readonly number[] | 'all' | undefined): Uint8Array[] {
  if (cuts === 'all') return Array.from({ length: bytes.byteLength }, (_, i) => bytes.subarray(i, i + 1));
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts ?? []) {
    const stop = Math.max(start, Math.min(cut, bytes.byteLength));
    out.push(bytes.subarray(start, stop));
    start = stop;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** What the TypeScript codec says about a command, in the driver's shape (JSON as `kkcm decode` prints it). */
export function tsVerdict(c: CCommand): Verdict {
  const messages: Verdict['messages'] = [];
  const json = (m: Parameters<typeof messageToJson>[0]): unknown => JSON.parse(stringify(messageToJson(m)));
  try {
    if (c.mode === 'message') messages.push({ offset: 0, json: json(decodeMessage(c.bytes, c.options ?? {})) });
    else
      for (const m of iterateStream(chunksOf(c.bytes, c.cuts), c.options ?? {}))
        messages.push({ offset: m.offset, json: json(m.message) });
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    return { messages, error: { code: err.code, offset: err.offset, path: err.path ?? null } };
  }
  return { messages, error: null };
}

/** The C answer without the re-encoding marks, for comparison with {@link tsVerdict}. */
export function verdictOf(a: CAnswer): Verdict {
  return { messages: a.messages.map(({ offset, json }) => ({ offset, json })), error: a.error };
}
