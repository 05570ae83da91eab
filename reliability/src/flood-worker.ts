/**
 * The flood of `npm run bench:flood`, in a process of its own so that the attacker's CPU is
 * not the peers': `node --import tsx flood-worker.ts '{"host":…,"port":…,…}'`. Says
 * `ready` over IPC, floods when the parent sends any message, sends its result and exits.
 *
 * @module
 */
import { createServer, type AddressInfo } from 'node:net';
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
  /**
   * Flood a bystander instead: a server in this process that closes every connection at
   * once. The peers see no connection; what the session loses then is the machine's share
   * (kernel TCP work on the same cores), not the peer's.
   */
  readonly bystander?: boolean;
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

/** A server that closes every connection as soon as it is accepted; resolves its port. */
function bystander(host: string): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, host, () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }),
    );
  });
}

async function run(job: FloodJob): Promise<FloodResult> {
  const target = job.bystander === true ? await bystander(job.host) : undefined;
  if (target !== undefined) job = { ...job, port: target.port };
  const started = performance.now();
  const slow = slowConnections(job.host, job.port, job.slow, job.slowTimeoutMs);
  const attempts = await connectionAttempts(job.host, job.port, {
    count: job.attempts,
    concurrency: job.concurrency,
    ...(job.ratePerSec !== undefined ? { ratePerSec: job.ratePerSec } : {}),
  });
  const slowOutcomes = await Promise.all(slow.map((c) => c.done));
  target?.close();
  return {
    hello: tally(attempts.hello),
    closedAtOnce: attempts.closedAtOnce,
    slow: tally(slowOutcomes),
    slowMaxMs: Math.round(Math.max(0, ...slowOutcomes.map((o) => o.ms))),
    ms: Math.round(performance.now() - started),
  };
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
