/**
 * The flood of `npm run bench:flood`, in a process of its own so that the attacker's CPU is
 * not the peers': `node --import tsx flood-worker.ts '{"host":…,"port":…,…}'`. Says
 * `ready` over IPC, floods when the parent sends any message, sends its result and exits.
 *
 * @module
 */
import { connectionAttempts, slowConnections, tally, type Tally } from './flood.js';

/** What the parent asks for. */
export interface FloodJob {
  readonly host: string;
  readonly port: number;
  readonly attempts: number;
  readonly slow: number;
  readonly concurrency: number;
  readonly ratePerSec?: number;
  readonly slowTimeoutMs: number;
}

/** What the worker reports. */
export interface FloodResult {
  readonly hello: Tally;
  readonly closedAtOnce: number;
  readonly slow: Tally;
  /** Slowest close of a slow connection, ms from its connect. */
  readonly slowMaxMs: number;
  readonly ms: number;
}

async function run(job: FloodJob): Promise<FloodResult> {
  const started = performance.now();
  const slow = slowConnections(job.host, job.port, job.slow, job.slowTimeoutMs);
  const attempts = await connectionAttempts(job.host, job.port, { count: job.attempts, concurrency: job.concurrency, ...(job.ratePerSec !== undefined ? { ratePerSec: job.ratePerSec } : {}) });
  const slowOutcomes = await Promise.all(slow.map((c) => c.done));
  return { hello: tally(attempts.hello), closedAtOnce: attempts.closedAtOnce, slow: tally(slowOutcomes), slowMaxMs: Math.round(Math.max(0, ...slowOutcomes.map((o) => o.ms))), ms: Math.round(performance.now() - started) };
}

// Ready once loaded; the flood starts on the parent's word, so that loading is not timed.
const job = JSON.parse(process.argv[2] ?? '{}') as FloodJob;
process.once('message', () => {
  void run(job).then((result) => {
    process.send?.(result);
    process.disconnect?.();
  });
});
process.send?.('ready');
