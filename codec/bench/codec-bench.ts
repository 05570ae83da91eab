/**
 * Codec benchmark: the generated codec against three baselines measured in the same run —
 * a hand-written DataView codec (`baseline-handwritten.ts`), binary-parser compiled from the
 * same spec (`codec/src/bp-decoder.ts`) and protobufjs with equivalent messages
 * (`baseline-protobufjs.ts`) — for a small control message (ACK) and a 256-byte PRL PACKET,
 * plus stream decoding on 1460-byte chunks: the one-pass `StreamDecoder`, and for information
 * the `Framer` alone and the `Framer` followed by `decodeMessage`.
 *
 * Run with `npm run bench:codec` (a table), `npm run bench:codec -- --json` (one JSON
 * object) or `-- --smoke` (every case a handful of iterations: checks that the benchmark
 * still runs, measures nothing). Not part of `npm test`; `codec/test/bench-smoke.test.ts`
 * runs the smoke mode.
 *
 * Why one file past ~500 lines: one benchmark of one codec against its baselines on the same
 * messages; the baselines live in their own files.
 *
 * @module
 */
import { cpus, totalmem } from 'node:os';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { loadSpec } from '../../spec/src/index.js';
import { createBinaryParserDecoder, type BinaryParserDecoder } from '../src/bp-decoder.js';
import { decodeMessage, encodeMessage, Framer, messageToJson, StreamDecoder } from '../src/index.js';
import { decodeHandwritten, encodeHandwritten } from './baseline-handwritten.js';
import { fromProtoU64, ProtoAck, ProtoPacket, toProtoU64 } from './baseline-protobufjs.js';
import { runCBench, type CBenchResult } from './c-bench.js';
import { measure, median, type BenchCase, type CaseResult } from './measure.js';
import {
  ackFrame,
  ackInput,
  chunks,
  CHUNK_BYTES,
  framedMessages,
  packet,
  packetFrame,
  stream,
  STREAM_PACKETS,
} from './messages.js';

/** Options of {@link runCodecBench}. */
export interface CodecBenchOptions {
  /** Run every case a handful of iterations only (CI keeps the benchmark alive). Default false. */
  readonly smoke?: boolean;
  /** Duration of one round of one case, in ms. Default 150. */
  readonly roundMs?: number;
  /** Rounds per case; the median is reported. Default 10. */
  readonly rounds?: number;
  /** Warm-up per case, in ms. Default 300. */
  readonly warmupMs?: number;
  /** Also build and measure the generated C codec (needs gcc). Default true. */
  readonly c?: boolean;
}

/** The throughput ratios the benchmark reports (ours / theirs; above 1 means ours is faster). */
export interface CodecRatios {
  readonly decode_vs_handwritten: number;
  readonly decode_vs_binary_parser: number;
  readonly decode_vs_protobufjs: number;
  readonly encode_vs_handwritten: number;
  readonly encode_vs_protobufjs: number;
  readonly framer1460_vs_decode: number;
}

/** Result of {@link runCodecBench}: what `--json` prints. */
export interface CodecBenchReport {
  readonly mode: 'full' | 'smoke';
  readonly cases: readonly (CaseResult & { readonly id: string })[];
  /** Required ratios, all on the 256-byte PRL PACKET (see `ratioBasis`). */
  readonly ratios: CodecRatios;
  /** The smallest and largest per-round value of each required ratio (the median of which is the ratio). */
  readonly spreads: Readonly<Record<keyof CodecRatios, { readonly min: number; readonly max: number }>>;
  readonly ratioBasis: string;
  /** The same ratios per message kind, and their geometric mean over both kinds. */
  readonly ratiosByMessage: Readonly<Record<string, Partial<CodecRatios>>>;
  /** How the throughputs of the ratios are defined. */
  readonly definitions: Readonly<Record<string, string>>;
  /** Acceptance targets: each ratio must be at least this. */
  readonly targets: CodecRatios;
  /** Whether each ratio meets its target (meaningless in smoke mode). */
  readonly met: Readonly<Record<keyof CodecRatios, boolean>>;
  /**
   * The generated C codec on the same messages (impl `c` in `cases`): C msg/s / TypeScript
   * msg/s per case (above 1 means C is faster), or why it was left out.
   */
  readonly c:
    | { readonly available: true; readonly compiler: string; readonly cVsTs: Readonly<Record<string, number>> }
    | { readonly available: false; readonly reason: string };
  readonly machine: Readonly<Record<string, string | number>>;
  readonly settings: { readonly warmupMs: number; readonly roundMs: number; readonly rounds: number };
}

/** Acceptance targets of the codec (issue acceptance criteria). */
export const TARGETS: CodecRatios = {
  decode_vs_handwritten: 0.8,
  decode_vs_binary_parser: 3,
  decode_vs_protobufjs: 1.5,
  encode_vs_handwritten: 0.8,
  encode_vs_protobufjs: 3,
  framer1460_vs_decode: 0.85,
};

const ACK = 'control.ack';
const PACKET = 'prl.packet 256B';

/** Where results go so that the JIT must compute them. Read once at the end. */
let sink: unknown;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}

/**
 * Before timing anything, checks that every implementation computes the same thing: the
 * baselines decode to the values ours does, and encode to bytes ours decodes back.
 */
function selfCheck(bp: BinaryParserDecoder): void {
  for (const frame of [ackFrame, packetFrame]) {
    const ours = decodeMessage(frame);
    check(isDeepStrictEqual(decodeHandwritten(frame), ours), `hand-written decode of ${ours.name ?? '?'}`);
    check(isDeepStrictEqual(bp.decode(frame), ours), `binary-parser decode of ${ours.name ?? '?'}`);
  }
  check(isDeepStrictEqual(encodeHandwritten(ackInput), encodeMessage(ackInput)), 'hand-written encode of the ACK');
  check(isDeepStrictEqual(encodeHandwritten(packet), encodeMessage(packet)), 'hand-written encode of the PACKET');
  const ack = ProtoAck.decode(protoAckFrame) as unknown as { header: object; body: { upTo: number } };
  check(
    isDeepStrictEqual({ ...ack.header }, { ...decodeMessage(ackFrame).header }) && ack.body.upTo === ackInput.body.upTo,
    'protobufjs round trip of the ACK',
  );
  const pkt = ProtoPacket.decode(protoPacketFrame) as unknown as {
    body: { handle: number; timestampNs: unknown; packet: Uint8Array };
  };
  check(
    pkt.body.handle === packet.body.handle &&
      fromProtoU64(pkt.body.timestampNs) === packet.body.timestampNs &&
      Buffer.compare(pkt.body.packet, packet.body.packet) === 0,
    'protobufjs round trip of the PACKET',
  );
  // The one-pass decoder decodes exactly the values decode alone decodes (its bytes fields
  // are plain Uint8Array views where decodeMessage of a Buffer gives Buffer views).
  const decoder = new StreamDecoder();
  const streamed = chunks.flatMap((c) => decoder.push(c)).map((m) => messageToJson(m));
  decoder.end();
  check(
    isDeepStrictEqual(
      streamed,
      framedMessages.map((m) => messageToJson(decodeMessage(m))),
    ),
    'StreamDecoder of the PACKET stream',
  );
}

const protoHeader = (frame: Uint8Array): object => ({ ...decodeMessage(frame).header });
const protoAckInput = { header: protoHeader(ackFrame), body: { upTo: ackInput.body.upTo } };
const protoPacketInput = {
  header: protoHeader(packetFrame),
  body: { ...packet.body, timestampNs: toProtoU64(packet.body.timestampNs) },
};
const protoAckFrame = ProtoAck.encode(protoAckInput).finish();
const protoPacketFrame = ProtoPacket.encode(protoPacketInput).finish();

function buildCases(bp: BinaryParserDecoder): BenchCase[] {
  const framer = new Framer();
  const framerDecode = new Framer();
  const streamDecoder = new StreamDecoder();
  // The peer's tracing use: every frame handed to a callback, as a view.
  const tracingDecoder = new StreamDecoder({
    onFrame: (frame) => {
      sink = frame;
    },
  });
  // Each case has its own loop (call sites stay monomorphic) and stores every result in `sink`.
  return [
    {
      name: `decode/${ACK}`,
      impl: 'kkcm',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = decodeMessage(ackFrame);
      },
    },
    {
      name: `decode/${ACK}`,
      impl: 'handwritten',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = decodeHandwritten(ackFrame);
      },
    },
    {
      name: `decode/${ACK}`,
      impl: 'binary-parser',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = bp.decode(ackFrame);
      },
    },
    {
      name: `decode/${ACK}`,
      impl: 'protobufjs',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = ProtoAck.decode(protoAckFrame);
      },
    },
    {
      name: `decode/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = decodeMessage(packetFrame);
      },
    },
    {
      name: `decode/${PACKET}`,
      impl: 'handwritten',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = decodeHandwritten(packetFrame);
      },
    },
    {
      name: `decode/${PACKET}`,
      impl: 'binary-parser',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = bp.decode(packetFrame);
      },
    },
    {
      name: `decode/${PACKET}`,
      impl: 'protobufjs',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = ProtoPacket.decode(protoPacketFrame);
      },
    },
    {
      name: `encode/${ACK}`,
      impl: 'kkcm',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = encodeMessage(ackInput);
      },
    },
    {
      name: `encode/${ACK}`,
      impl: 'handwritten',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = encodeHandwritten(ackInput);
      },
    },
    {
      name: `encode/${ACK}`,
      impl: 'protobufjs',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = ProtoAck.encode(protoAckInput).finish();
      },
    },
    {
      name: `encode/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = encodeMessage(packet);
      },
    },
    {
      name: `encode/${PACKET}`,
      impl: 'handwritten',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = encodeHandwritten(packet);
      },
    },
    {
      name: `encode/${PACKET}`,
      impl: 'protobufjs',
      opsPerIteration: 1,
      run: (n) => {
        for (let i = 0; i < n; i++) sink = ProtoPacket.encode(protoPacketInput).finish();
      },
    },
    {
      name: `stream-decode/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: STREAM_PACKETS,
      run: (n) => {
        for (let i = 0; i < n; i++)
          for (let j = 0; j < framedMessages.length; j++) sink = decodeMessage(framedMessages[j]!);
      },
    },
    {
      name: `framer${CHUNK_BYTES}+decode/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: STREAM_PACKETS,
      run: (n) => {
        for (let i = 0; i < n; i++) for (let j = 0; j < chunks.length; j++) sink = streamDecoder.push(chunks[j]!);
      },
    },
    {
      name: `framer${CHUNK_BYTES}+decode+onFrame/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: STREAM_PACKETS,
      run: (n) => {
        for (let i = 0; i < n; i++) for (let j = 0; j < chunks.length; j++) sink = tracingDecoder.push(chunks[j]!);
      },
    },
    {
      name: `framer${CHUNK_BYTES}+decodeMessage/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: STREAM_PACKETS,
      run: (n) => {
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < chunks.length; j++) {
            const messages = framerDecode.push(chunks[j]!);
            for (let k = 0; k < messages.length; k++) sink = decodeMessage(messages[k]!);
          }
        }
      },
    },
    {
      name: `framer${CHUNK_BYTES}/${PACKET}`,
      impl: 'kkcm',
      opsPerIteration: STREAM_PACKETS,
      run: (n) => {
        for (let i = 0; i < n; i++) for (let j = 0; j < chunks.length; j++) sink = framer.push(chunks[j]!);
      },
    },
  ];
}

/**
 * Throughput ratio of two cases: the median over rounds of the ratio within each round.
 * Both cases of a round ran within a second of each other, so a burst of load on the
 * machine falls on both and cancels out, where a ratio of medians would keep it.
 */
function ratio(results: readonly CaseResult[], name: string, impl: string, baseName: string, baseImpl: string): number {
  return median(perRoundRatios(results, name, impl, baseName, baseImpl));
}

/** The ratio within each round of two cases. */
function perRoundRatios(
  results: readonly CaseResult[],
  name: string,
  impl: string,
  baseName: string,
  baseImpl: string,
): number[] {
  const find = (n: string, i: string): CaseResult => {
    const r = results.find((x) => x.name === n && x.impl === i);
    if (r === undefined) throw new Error(`no case ${n} (${i})`);
    return r;
  };
  const ours = find(name, impl).rounds;
  const theirs = find(baseName, baseImpl).rounds;
  return ours.map((x, i) => x / theirs[i]!);
}

/** The cases each ratio compares, for a message: ours, then the baseline. */
function ratioCases(message: string): Partial<Record<keyof CodecRatios, readonly [string, string, string, string]>> {
  const out: Partial<Record<keyof CodecRatios, readonly [string, string, string, string]>> = {
    decode_vs_handwritten: [`decode/${message}`, 'kkcm', `decode/${message}`, 'handwritten'],
    decode_vs_binary_parser: [`decode/${message}`, 'kkcm', `decode/${message}`, 'binary-parser'],
    decode_vs_protobufjs: [`decode/${message}`, 'kkcm', `decode/${message}`, 'protobufjs'],
    encode_vs_handwritten: [`encode/${message}`, 'kkcm', `encode/${message}`, 'handwritten'],
    encode_vs_protobufjs: [`encode/${message}`, 'kkcm', `encode/${message}`, 'protobufjs'],
  };
  if (message === PACKET)
    out.framer1460_vs_decode = [`framer${CHUNK_BYTES}+decode/${PACKET}`, 'kkcm', `stream-decode/${PACKET}`, 'kkcm'];
  return out;
}

function ratiosFor(results: readonly CaseResult[], message: string): Partial<CodecRatios> {
  return Object.fromEntries(
    Object.entries(ratioCases(message)).map(([k, c]) => [k, ratio(results, ...c)]),
  ) as Partial<CodecRatios>;
}

/** The smallest and largest per-round value of each ratio, for a message. */
function spreadsFor(
  results: readonly CaseResult[],
  message: string,
): Record<string, { readonly min: number; readonly max: number }> {
  return Object.fromEntries(
    Object.entries(ratioCases(message)).map(([k, c]) => {
      const r = perRoundRatios(results, ...c);
      return [k, { min: Math.min(...r), max: Math.max(...r) }];
    }),
  );
}

function geomean(a: Partial<CodecRatios>, b: Partial<CodecRatios>): Partial<CodecRatios> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(a) as (keyof CodecRatios)[]) {
    const x = a[k];
    const y = b[k];
    if (x !== undefined && y !== undefined) out[k] = Math.sqrt(x * y);
  }
  return out;
}

/** The machine a benchmark ran on: CPU, cores, memory, platform, Node and V8. */
export function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The C program's cases under the names of the TypeScript cases they match. */
const C_NAMES: Record<string, string> = {
  'decode-ack': `decode/${ACK}`,
  'decode-packet': `decode/${PACKET}`,
  'encode-ack': `encode/${ACK}`,
  'encode-packet': `encode/${PACKET}`,
  'stream-decode': `stream-decode/${PACKET}`,
  'framer+decode': `framer${CHUNK_BYTES}+decode/${PACKET}`,
  framer: `framer${CHUNK_BYTES}/${PACKET}`,
};

/**
 * Runs the C benchmark right after the TypeScript cases, with the same settings, on the same
 * messages. Its rounds cannot be interleaved with the TypeScript rounds (another process), so
 * a C / TypeScript ratio is a ratio of the two medians.
 */
function measureC(
  results: readonly CaseResult[],
  settings: { smoke: boolean; rounds: number; roundMs: number; warmupMs: number },
): { result: CBenchResult; cases: readonly CaseResult[]; cVsTs: Record<string, number> } {
  const result = runCBench({ ack: ackFrame, packet: packetFrame, stream }, C_NAMES, settings, CHUNK_BYTES);
  if (!result.available) {
    console.error(`bench:codec: ${result.reason}`);
    return { result, cases: [], cVsTs: {} };
  }
  const cVsTs: Record<string, number> = {};
  for (const c of result.cases) {
    const ts = results.find((r) => r.name === c.name && r.impl === 'kkcm');
    if (ts !== undefined) cVsTs[c.name] = c.opsPerSec / ts.opsPerSec;
  }
  return { result, cases: result.cases, cVsTs };
}

/**
 * Runs the codec benchmark and returns its report. Full mode takes about 30 s.
 *
 * @throws Error when an implementation's self-check fails (a baseline computing something
 *   else than ours would make the comparison meaningless).
 */
export function runCodecBench(options: CodecBenchOptions = {}): CodecBenchReport {
  const smoke = options.smoke ?? false;
  const settings = { warmupMs: options.warmupMs ?? 300, roundMs: options.roundMs ?? 150, rounds: options.rounds ?? 10 };
  const bp = createBinaryParserDecoder(loadSpec());
  selfCheck(bp);
  const results = measure(buildCases(bp), { ...settings, smoke });
  if (sink === undefined) throw new Error('benchmark produced no results');
  const c = options.c === false ? undefined : measureC(results, { ...settings, smoke });
  const ack = ratiosFor(results, ACK);
  const pkt = ratiosFor(results, PACKET);
  const ratios = pkt as CodecRatios;
  const met = Object.fromEntries(
    Object.entries(TARGETS).map(([k, min]) => [k, ratios[k as keyof CodecRatios] >= min]),
  ) as Record<keyof CodecRatios, boolean>;
  return {
    mode: smoke ? 'smoke' : 'full',
    cases: [...results, ...(c?.cases ?? [])].map((r) => ({ id: `${r.impl} ${r.name}`, ...r })),
    ratios,
    spreads: spreadsFor(results, PACKET) as CodecBenchReport['spreads'],
    ratioBasis: `${PACKET}: every required ratio is measured on the 256-byte PRL PACKET message`,
    ratiosByMessage: { [ACK]: ack, [PACKET]: pkt, geomean: geomean(ack, pkt) },
    definitions: {
      opsPerSec: 'messages per second, median of the rounds',
      ratios:
        'ours / theirs, above 1 means ours is faster: the median over rounds of the ratio of the two throughputs measured in the same round',
      decode: 'decodeMessage(frame) of one whole message, all checks on; baselines decode the same message',
      encode: 'encodeMessage(input) into a fresh buffer; baselines encode the same values into a fresh buffer',
      framer1460_vs_decode: `messages/s of StreamDecoder.push (framing and decoding in one pass, all checks on) over a stream of ${STREAM_PACKETS} PACKETs cut into ${CHUNK_BYTES}-byte chunks, divided by messages/s of decodeMessage alone over the same ${STREAM_PACKETS} messages (the views and copies a Framer returned, collected beforehand)`,
      informational: `framer${CHUNK_BYTES}/… is Framer.push alone; framer${CHUNK_BYTES}+decodeMessage/… is Framer.push then decodeMessage of each message it returns (the two-pass way); framer${CHUNK_BYTES}+decode+onFrame/… is the one-pass decoder with an onFrame callback (a view per frame, as a tracing peer asks)`,
    },
    targets: TARGETS,
    met,
    c:
      c === undefined
        ? { available: false, reason: 'not asked for' }
        : c.result.available
          ? { available: true, compiler: c.result.compiler, cVsTs: c.cVsTs }
          : c.result,
    machine: machine(),
    settings,
  };
}

const fmt = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

/** Formats a report as the plain-text table `npm run bench:codec` prints. */
export function formatReport(report: CodecBenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`codec benchmark (${report.mode}) — ${String(m.cpu)}, ${String(m.cores)} cores, node ${String(m.node)}`);
  lines.push(
    `median of ${report.settings.rounds} rounds × ${report.settings.roundMs} ms after ${report.settings.warmupMs} ms warm-up`,
  );
  lines.push('');
  const w = Math.max(...report.cases.map((c) => c.name.length));
  lines.push(
    `${'case'.padEnd(w)}  ${'impl'.padEnd(13)} ${'msg/s'.padStart(9)} ${'ns/msg'.padStart(8)} ${'spread'.padStart(7)} ${'kkcm ×'.padStart(7)}`,
  );
  for (const c of report.cases) {
    const ours = report.cases.find((x) => x.name === c.name && x.impl === 'kkcm');
    const rel = ours !== undefined && c.impl !== 'kkcm' ? (ours.opsPerSec / c.opsPerSec).toFixed(2) : '';
    lines.push(
      `${c.name.padEnd(w)}  ${c.impl.padEnd(13)} ${fmt(c.opsPerSec).padStart(9)} ${c.nsPerOp.toFixed(1).padStart(8)} ${`${(c.spread * 100).toFixed(1)}%`.padStart(7)} ${rel.padStart(7)}`,
    );
  }
  lines.push('');
  lines.push(`ratios (ours / theirs), ${report.ratioBasis}`);
  const byMessage = report.ratiosByMessage;
  lines.push(
    `${'ratio'.padEnd(24)} ${'target'.padStart(7)} ${PACKET.padStart(16)} ${ACK.padStart(12)} ${'geomean'.padStart(8)}`,
  );
  for (const [k, target] of Object.entries(report.targets) as [keyof CodecRatios, number][]) {
    const cell = (v: number | undefined, width: number): string =>
      (v === undefined ? '' : v.toFixed(2)).padStart(width);
    lines.push(
      `${k.padEnd(24)} ${`≥${target}`.padStart(7)} ${cell(report.ratios[k], 16)} ${cell(byMessage[ACK]?.[k], 12)} ${cell(byMessage.geomean?.[k], 8)}  ${report.met[k] ? 'ok' : 'MISSED'}`,
    );
  }
  if (report.c.available) {
    lines.push('');
    lines.push(`C / TypeScript (the generated C codec, ${report.c.compiler}, -O2; above 1 means C is faster)`);
    for (const [name, r] of Object.entries(report.c.cVsTs))
      lines.push(`${name.padEnd(w)}  ${r.toFixed(2).padStart(7)}`);
  } else lines.push('', `C: ${report.c.reason}`);
  return lines.join('\n');
}

function main(argv: readonly string[]): void {
  const report = runCodecBench({ smoke: argv.includes('--smoke') });
  if (argv.includes('--json')) console.log(JSON.stringify(report));
  else console.log(formatReport(report));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main(process.argv.slice(2));
