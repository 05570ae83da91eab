/**
 * A typed client of the proxy process (`proxy-main.ts`): spawns it, optionally behind an
 * argv prefix such as `ip netns exec NS`, and mirrors {@link FaultProxy}'s methods over its
 * JSON-lines protocol. Every answer is awaited with a bound.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClosedConnectionInfo, FaultResult, ProxyConnectionInfo, ProxyFault } from './proxy-faults.js';

/** Root of the package: the proxy process runs from it, so that `--import tsx` resolves. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The proxy process's entry point. */
export const PROXY_MAIN = join(ROOT, 'reliability', 'src', 'chaos', 'proxy-main.ts');

/** Options of {@link ProxyProcess.spawn}. */
export interface ProxyProcessOptions {
  /** Argv run before `node …`, for instance `['ip', 'netns', 'exec', 'kkcm-123-x-b']`. */
  readonly prefix?: readonly string[];
  /** Bound of every answer but a fault's, and of the start, ms. Default 30000 (tsx compiles at start). */
  readonly timeoutMs?: number;
  /** The proxy's `faultWaitMs`; a fault's answer is awaited that long plus `timeoutMs`. Default 10000. */
  readonly faultWaitMs?: number;
}

interface Waiter {
  readonly resolve: (line: Record<string, unknown>) => void;
  readonly reject: (err: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** A running proxy process. */
export class ProxyProcess {
  /** Standard error so far (for failure messages). */
  stderr = '';
  /** Exit code once it exited (null: killed by a signal); undefined while it runs. */
  exitCode: number | null | undefined;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private readyWaiter: Waiter | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly timeoutMs: number,
    private readonly faultWaitMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        this.exitCode = code;
        this.failAll(new Error(`the proxy process exited (${String(code)}): ${this.stderr.trim()}`));
        resolve(code);
      });
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
    });
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
  }

  /**
   * Starts the proxy process and waits for its ready line.
   *
   * @throws Error when it does not get ready within `timeoutMs` (it is killed) or exits.
   */
  static async spawn(options: ProxyProcessOptions = {}): Promise<ProxyProcess> {
    const faultWaitMs = options.faultWaitMs ?? 10_000;
    const argv = [
      ...(options.prefix ?? []),
      process.execPath,
      '--import',
      'tsx',
      PROXY_MAIN,
      '--fault-wait-ms',
      String(faultWaitMs),
    ];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new ProxyProcess(child, options.timeoutMs ?? 30_000, faultWaitMs);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    try {
      await spawned;
      await new Promise<Record<string, unknown>>((resolve, reject) => {
        p.readyWaiter = {
          resolve,
          reject,
          timer: setTimeout(
            () => reject(new Error(`the proxy process was not ready within ${p.timeoutMs} ms: ${p.stderr.trim()}`)),
            p.timeoutMs,
          ),
        };
      }).finally(() => {
        clearTimeout(p.readyWaiter?.timer);
        p.readyWaiter = undefined;
      });
    } catch (err) {
      await p.kill();
      throw err;
    }
    return p;
  }

  /** Process id (of `node`, or of the prefix command that execs it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** {@link FaultProxy.listen} in the process. */
  async listen(
    name: string,
    listenHost: string,
    listenPort: number,
    targetHost: string,
    targetPort: number,
  ): Promise<number> {
    const r = await this.request({ cmd: 'listen', name, listenHost, listenPort, targetHost, targetPort });
    return r.port as number;
  }

  /** {@link FaultProxy.unlisten} in the process. */
  async unlisten(name: string): Promise<void> {
    await this.request({ cmd: 'unlisten', name });
  }

  /** {@link FaultProxy.inject} in the process. */
  async inject(fault: ProxyFault): Promise<FaultResult> {
    const r = await this.request({ cmd: 'fault', fault }, this.faultWaitMs + this.timeoutMs);
    return r.result as FaultResult;
  }

  /** {@link FaultProxy.connections} in the process. */
  async connections(): Promise<ProxyConnectionInfo[]> {
    return (await this.request({ cmd: 'connections' })).connections as ProxyConnectionInfo[];
  }

  /** {@link FaultProxy.closed} in the process. */
  async closed(): Promise<ClosedConnectionInfo[]> {
    return (await this.request({ cmd: 'closed' })).closed as ClosedConnectionInfo[];
  }

  /**
   * Closes the proxy and waits (bounded) for the process to exit; kills it when it does
   * not. Safe twice.
   *
   * @returns the exit code (0 after a clean close).
   */
  async close(): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    try {
      await this.request({ cmd: 'close' });
      this.child.stdin.end();
      return await this.bounded(this.exited, 'exit after close');
    } catch {
      return this.kill();
    }
  }

  /**
   * Ends the process's standard input: it closes everything and exits on its own. Waits
   * (bounded) for the exit; kills it when it does not.
   *
   * @returns the exit code (0 after a clean close).
   */
  async endInput(): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.child.stdin.end();
    try {
      return await this.bounded(this.exited, 'exit after the end of input');
    } catch {
      return this.kill();
    }
  }

  /** Kills the process (SIGKILL) and waits for its exit. */
  async kill(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
    return this.exited;
  }

  private request(req: Record<string, unknown>, ms = this.timeoutMs): Promise<Record<string, unknown>> {
    if (this.exitCode !== undefined)
      return Promise.reject(new Error(`the proxy process exited (${String(this.exitCode)})`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer to ${String(req.cmd)} within ${ms} ms`));
      }, ms);
      this.waiting.set(id, {
        resolve: (line) => (line.ok === true ? resolve(line) : reject(new Error(`proxy: ${String(line.error)}`))),
        reject,
        timer,
      });
      this.child.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  private onLine(text: string): void {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (line.ready === true) {
      this.readyWaiter?.resolve(line);
      return;
    }
    const w = typeof line.id === 'number' ? this.waiting.get(line.id) : undefined;
    if (w === undefined) return;
    this.waiting.delete(line.id as number);
    clearTimeout(w.timer);
    w.resolve(line);
  }

  private failAll(err: Error): void {
    this.readyWaiter?.reject(err);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
  }

  private async bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${what} within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
