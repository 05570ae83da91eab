/**
 * The fault proxy as a process of its own, so that it can run inside a network namespace
 * (`ip netns exec NS node --import tsx reliability/src/chaos/proxy-main.ts`): Node cannot
 * change namespace, a process started in one can.
 *
 * Controlled by JSON lines on standard input, one answer line per request on standard
 * output, `id` echoed. First line out: `{"ready":true}`. Requests:
 *
 * - `{"id":1,"cmd":"listen","name":"m","listenHost":"127.0.0.1","listenPort":0,"targetHost":"10.0.0.1","targetPort":7000}`
 *   → `{"id":1,"ok":true,"port":41234}`
 * - `{"id":2,"cmd":"unlisten","name":"m"}` → `{"id":2,"ok":true}`
 * - `{"id":3,"cmd":"fault","fault":{"kind":"reset"}}` → `{"id":3,"ok":true,"result":FaultResult}`
 * - `{"id":4,"cmd":"connections"}` → `{"id":4,"ok":true,"connections":[…]}`
 * - `{"id":5,"cmd":"closed"}` → `{"id":5,"ok":true,"closed":[…]}`
 * - `{"id":6,"cmd":"close"}` → `{"id":6,"ok":true}`, then exit 0.
 *
 * A request that fails answers `{"id":N,"ok":false,"error":"…"}`; a line that is not JSON
 * answers with `id` null. The process exits 0 when standard input ends (everything closed
 * first). Option: `--fault-wait-ms N` ({@link FaultProxyOptions.faultWaitMs}).
 *
 * @module
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { FaultProxy } from './proxy.js';
import type { ProxyFault } from './proxy-faults.js';

/** One request line. */
interface Request {
  readonly id?: unknown;
  readonly cmd?: unknown;
  readonly [key: string]: unknown;
}

function answer(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function str(req: Request, key: string): string {
  const v = req[key];
  if (typeof v !== 'string') throw new Error(`${key} must be a string`);
  return v;
}

function port(req: Request, key: string): number {
  const v = req[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
    throw new Error(`${key} must be a port number`);
  return v;
}

async function handle(proxy: FaultProxy, req: Request): Promise<Record<string, unknown>> {
  switch (req.cmd) {
    case 'listen':
      return {
        port: await proxy.listen(
          str(req, 'name'),
          str(req, 'listenHost'),
          port(req, 'listenPort'),
          str(req, 'targetHost'),
          port(req, 'targetPort'),
        ),
      };
    case 'unlisten':
      await proxy.unlisten(str(req, 'name'));
      return {};
    case 'fault':
      return { result: await proxy.inject(req.fault as ProxyFault) };
    case 'connections':
      return { connections: proxy.connections() };
    case 'closed':
      return { closed: proxy.closed() };
    default:
      throw new Error(`unknown cmd ${JSON.stringify(req.cmd)}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'fault-wait-ms': { type: 'string' } } });
  const waitText = values['fault-wait-ms'];
  const faultWaitMs = waitText === undefined ? undefined : Number(waitText);
  if (faultWaitMs !== undefined && (!Number.isInteger(faultWaitMs) || faultWaitMs < 0))
    throw new Error('--fault-wait-ms must be a non-negative integer');
  const proxy = await FaultProxy.start(faultWaitMs === undefined ? {} : { faultWaitMs });
  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => (closing ??= proxy.close());

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
      if (typeof req !== 'object' || req === null) throw new Error('a request is a JSON object');
    } catch (err) {
      answer({ id: null, ok: false, error: `bad request: ${(err as Error).message}` });
      return;
    }
    const id = req.id ?? null;
    if (req.cmd === 'close') {
      void shutdown().then(() => {
        answer({ id, ok: true });
        // Nothing left open: the process exits 0 on its own.
        lines.close();
        process.stdin.destroy();
      });
      return;
    }
    handle(proxy, req).then(
      (result) => answer({ id, ok: true, ...result }),
      (err: Error) => answer({ id, ok: false, error: err.message }),
    );
  });
  // End of input: close everything; the process then exits with nothing left open.
  lines.once('close', () => void shutdown());
  answer({ ready: true });
}

main().catch((err: Error) => {
  process.stderr.write(`proxy-main: ${err.message}\n`);
  process.exitCode = 1;
});
