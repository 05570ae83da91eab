/**
 * The orchestrator's handle on the benchmark's worker processes: start, request, stop,
 * stop for good. Every process started here is remembered and killed by its handle when
 * {@link killAll} runs (the benchmark's `finally`), and when this process exits.
 *
 * @module
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command, InitCommand, Mark, Reply } from './workload.js';

const live = new Set<ChildProcess>();

/** Kills every worker still running (SIGCONT first, in case one is stopped). */
export function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
  live.clear();
}

process.once('exit', killAll);

/** One worker process: a reference peer or a raw baseline endpoint. */
export class Worker {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited: Error | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.ok) w.resolve(m);
      else w.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      this.exited = new Error(`${name} exited (code ${String(code)}, signal ${String(signal)})`);
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(this.exited);
      }
      this.waiting.clear();
    });
  }

  /**
   * Starts `script` (a file of this folder) under `node --import tsx --expose-gc`, with
   * `nodeArgs` more. Its standard output goes to our standard error, so that `--json` stays
   * one JSON object.
   */
  static start(script: string, name: string, nodeArgs: readonly string[] = []): Worker {
    const path = fileURLToPath(new URL(script, import.meta.url));
    // KKCM_BENCH_NODE_ARGS: more node options for every worker, to profile one
    // (`--cpu-prof --cpu-prof-dir=DIR`) or watch its collector (`--trace-gc`).
    const extra = (process.env.KKCM_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
    const execArgv = ['--import', 'tsx', '--expose-gc', ...nodeArgs, ...extra];
    const child = fork(path, [], { execArgv, stdio: ['ignore', 2, 'inherit', 'ipc'] });
    live.add(child);
    return new Worker(name, child);
  }

  /** Process id, for SIGSTOP and SIGCONT. */
  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Sends a command and resolves with the answer.
   *
   * @throws Error when the worker answers with an error, exits, or does not answer within `timeoutMs`.
   */
  request(command: Command, timeoutMs = 60000): Promise<Reply> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no answer to ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.child.send({ ...command, id });
    });
  }

  /** Starts the endpoint; resolves with the port it listens on (side `a`). */
  async init(init: Omit<InitCommand, 'cmd'>): Promise<number> {
    return (await this.request({ cmd: 'init', ...init })).port ?? 0;
  }

  /** A counter snapshot. */
  async mark(): Promise<Mark> {
    return (await this.request({ cmd: 'mark' })).mark!;
  }

  /** Stops the process, politely first, then by force after `ms`. */
  async stop(ms = 3000): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGCONT');
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.request({ cmd: 'exit' }, ms).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await gone;
    clearTimeout(timer);
  }

  /**
   * Pins every thread of the process to one CPU (Linux `taskset`), so that where the
   * scheduler happens to put the two ends of a link (one core or two) does not decide the
   * result: a round trip between two cores costs twice one within a core on a virtual
   * machine, and the placement would otherwise change from run to run.
   *
   * @returns false when pinning is not possible here (no taskset, fewer than two CPUs).
   */
  pin(cpu: number): boolean {
    if (process.platform !== 'linux' || cpus().length < 2) return false;
    try {
      execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(this.pid)], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** Suspends the process (the reader stalls). */
  suspend(): void {
    this.child.kill('SIGSTOP');
  }

  /** Resumes a suspended process. */
  resume(): void {
    this.child.kill('SIGCONT');
  }
}
