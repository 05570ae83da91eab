/**
 * The differential run of the C and TypeScript codecs: seeded random and mutated streams
 * (the property tests' arbitraries: whole messages, damaged ones, plausible headers, garbage),
 * random receiver settings and random chunk cuts, through both codecs; every disagreement in
 * verdict, message offsets, decoded fields (JSON form), error code, offset or path is reported,
 * as is a decoded message that the C encoder does not turn back into its exact bytes.
 * Batched: one C process per batch.
 */
import fc from 'fast-check';
import { loadSpec, SpecModel } from '../../spec/src/index.js';
import { arbitraryDecodeOptions, arbitraryStream } from './arbitraries.js';
import { runDriver, tsVerdict, verdictOf, type CCommand } from './c-support.js';

/** A disagreement between the codecs on one input. */
export interface Disagreement {
  readonly command: string;
  readonly c: unknown;
  readonly ts: unknown;
}

/** Totals of a differential run. */
export interface DifferentialResult {
  inputs: number;
  messages: number;
  errors: number;
  disagreements: Disagreement[];
}

const model = new SpecModel(loadSpec());

/** Commands of one batch: `count` inputs drawn with `seed`. */
export function differentialBatch(seed: number, count: number): CCommand[] {
  const arb = fc.record({
    bytes: arbitraryStream(model),
    options: fc.oneof(fc.constant({}), arbitraryDecodeOptions),
    cuts: fc.array(fc.nat(400), { maxLength: 4 }).map((cs) => cs.sort((a, b) => a - b)),
    whole: fc.boolean(),
  });
  return fc.sample(arb, { numRuns: count, seed }).map(({ bytes, options, cuts, whole }) =>
    // A quarter of the inputs go through decodeMessage / kkcm_decode_message as one message.
    whole && cuts.length === 0
      ? { mode: 'message' as const, bytes, options }
      : { mode: 'stream' as const, bytes, options, cuts },
  );
}

/** Runs `total` inputs in batches of `batch` through the driver binary `bin`, seeds from `seed` on. */
export function runDifferential(
  bin: string,
  total: number,
  seed: number,
  batch = 10000,
  onBatch?: (r: DifferentialResult) => void,
): DifferentialResult {
  const result: DifferentialResult = { inputs: 0, messages: 0, errors: 0, disagreements: [] };
  for (let done = 0, k = 0; done < total; done += batch, k++) {
    const commands = differentialBatch(seed + k, Math.min(batch, total - done));
    const answers = runDriver(bin, commands);
    answers.forEach((a, i) => {
      const command = commands[i]!;
      const ts = tsVerdict(command);
      const c = verdictOf(a);
      result.inputs++;
      result.messages += ts.messages.length;
      if (ts.error !== null) result.errors++;
      if (JSON.stringify(c) !== JSON.stringify(ts) || !a.messages.every((m) => m.same))
        result.disagreements.push({
          command: `${command.mode} ${JSON.stringify(command.options)} cuts ${JSON.stringify(command.cuts)} ${Buffer.from(command.bytes).toString('hex')}`,
          c: a,
          ts,
        });
    });
    onBatch?.(result);
  }
  return result;
}
