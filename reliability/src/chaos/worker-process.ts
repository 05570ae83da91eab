/**
 * A chaos worker ({@link WORKER_MAIN}) as a child process: how it is started (its side,
 * incarnation, role, addresses, files and the peer timers of a chaos run), its admin
 * socket, its log, and its end. Used by the chaos driver and the soak.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminRequest, type PeerStatus, type Role } from '../../../reference-impl/src/index.js';
import { NODE_IDS, type IncarnationRecord, type NodeName } from './oracle.js';
export { freePort } from '../../../conformance/src/harness/target.js';

/** Root of the package (workers run from it, so that `--import tsx` resolves). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The worker's entry point. */
export const WORKER_MAIN = join(ROOT, 'reliability', 'src', 'chaos', 'worker.ts');

/** Peer timers of the workers, in ms. The recovery bound is derived from them. */
export interface ChaosTiming {
  /** Handshake timeout of a connection and of a session's two channels. */
  readonly handshakeTimeoutMs: number;
  /** Dead-connection time; every stall is shorter, so a stall must not end the session. */
  readonly deadConnectionMs: number;
  /** SHUTDOWN linger. */
  readonly lingerMs: number;
  /** The backup's first reconnection delay. */
  readonly backoffInitialMs: number;
  /** The backup's largest reconnection delay. */
  readonly backoffMaxMs: number;
  /** Traffic: one message per client per tick. */
  readonly tickMs: number;
}

/** Timers of a chaos run: short, so that a trial takes a few seconds. */
export const CHAOS_TIMING: ChaosTiming = {
  handshakeTimeoutMs: 1000,
  deadConnectionMs: 3000,
  lingerMs: 1000,
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  tickMs: 10,
};

/** Bound of every wait for a worker, in ms. */
const WAIT_MS = 15_000;

/** Every child still running, killed when this process exits. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** How to start a {@link WorkerProcess}. */
export interface WorkerSpec {
  /** The side. */
  readonly node: NodeName;
  /** Incarnation (1 for the side's first process). */
  readonly inc: number;
  /** Role it starts in. */
  readonly role: Role;
  /** `HOST:PORT` to listen on as master. */
  readonly listen: string;
  /** `HOST:PORT` to connect to as backup. */
  readonly connect: string;
  /** Directory of its files (log, event file, admin socket, stderr). */
  readonly dir: string;
  /** Argv prefix (`ip netns exec NS`), empty for none. */
  readonly prefix: readonly string[];
  /** Traffic PRNG seed. */
  readonly seed: number;
  /** Peer timers and traffic tick. */
  readonly timing: ChaosTiming;
  /** More `node` options (`--expose-gc`). */
  readonly nodeArgs?: readonly string[];
  /** More worker options (`--gc-on-stats`). */
  readonly workerArgs?: readonly string[];
}

/**
 * One worker process (one incarnation of a side), killed by SIGKILL when this process
 * exits if it still runs.
 */
export class WorkerProcess {
  /** Standard error so far (the first 64 KiB), also written to `files.stderr` at exit. */
  stderr = '';
  /** How it exited; null while it runs. */
  exit: { code: number | null; signal: string | null } | null = null;
  /** Resolves when it exited (or could not be started). */
  readonly exited: Promise<void>;
  /** Killed with SIGKILL by {@link WorkerProcess.kill9}. */
  killed = false;
  private constructor(
    readonly node: NodeName,
    readonly inc: number,
    readonly role: Role,
    readonly files: { readonly log: string; readonly events: string; readonly admin: string; readonly stderr: string },
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: string | null): void => {
        if (this.exit !== null) return;
        live.delete(child);
        this.exit = { code, signal };
        writeFileSync(files.stderr, this.stderr);
        resolve();
      };
      child.once('exit', done);
      // A process that could not be started (the prefix command is missing) never exits.
      child.once('error', (err) => {
        this.stderr += `spawn failed: ${err.message}\n`;
        if (child.pid === undefined) done(null, null);
      });
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (this.stderr.length < 65536) this.stderr += s;
    });
  }

  /**
   * Starts a worker and waits for its ready line.
   *
   * @throws Error when it exits first or is not ready within {@link WAIT_MS}.
   */
  static async start(spec: WorkerSpec): Promise<WorkerProcess> {
    const name = `${spec.node}${spec.inc}`;
    const files = {
      log: join(spec.dir, `${name}.log.jsonl`),
      events: join(spec.dir, `${name}.events.jsonl`),
      admin: join(spec.dir, `${name}.sock`),
      stderr: join(spec.dir, `${name}.stderr.txt`),
    };
    const t = spec.timing;
    const argv = [
      ...spec.prefix,
      process.execPath,
      '--import',
      'tsx',
      ...(spec.nodeArgs ?? []),
      WORKER_MAIN,
      '--node',
      spec.node,
      '--node-id',
      String(NODE_IDS[spec.node]),
      '--inc',
      String(spec.inc),
      '--role',
      spec.role,
      '--listen',
      spec.listen,
      '--connect',
      spec.connect,
      '--admin',
      files.admin,
      '--events',
      files.events,
      '--log',
      files.log,
      '--seed',
      String(spec.seed),
      '--tick-ms',
      String(t.tickMs),
      '--handshake-timeout-ms',
      String(t.handshakeTimeoutMs),
      '--dead-connection-ms',
      String(t.deadConnectionMs),
      '--linger-ms',
      String(t.lingerMs),
      '--backoff-initial-ms',
      String(t.backoffInitialMs),
      '--backoff-max-ms',
      String(t.backoffMaxMs),
      ...(spec.workerArgs ?? []),
    ];
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const w = new WorkerProcess(spec.node, spec.inc, spec.role, files, child);
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} was not ready within ${WAIT_MS} ms: ${w.stderr.trim()}`)),
        WAIT_MS,
      );
      child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('chaos-worker: ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void w.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${JSON.stringify(w.exit)}) before it was ready: ${w.stderr.trim()}`));
      });
    });
    try {
      await ready;
    } catch (err) {
      w.kill9();
      await w.exited;
      throw err;
    }
    return w;
  }

  /** `a1`, `b2`…: side and incarnation. */
  get name(): string {
    return `${this.node}${this.inc}`;
  }

  /**
   * One admin command.
   *
   * @throws Error with the peer's error code when it fails or does not answer.
   */
  async admin(cmd: string): Promise<unknown> {
    const r = await adminRequest({ path: this.files.admin }, { cmd }, { timeoutMs: WAIT_MS });
    if (!r.ok) throw new Error(`${this.name} ${cmd}: ${r.error.code} ${r.error.message}`);
    return r.result;
  }

  /** Status, or undefined when the admin socket does not answer. */
  async status(): Promise<PeerStatus | undefined> {
    try {
      return (await this.admin('status')) as PeerStatus;
    } catch {
      return undefined;
    }
  }

  /** SIGKILL (a fault, or the end of a failed trial). */
  kill9(): void {
    if (this.exit !== null) return;
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  /**
   * SIGTERM, then the exit; SIGKILL after {@link WAIT_MS}.
   *
   * @returns false when it had to be killed.
   */
  async stop(): Promise<boolean> {
    if (this.exit !== null) return true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), WAIT_MS);
    await this.exited;
    clearTimeout(timer);
    const exit = this.exit as WorkerProcess['exit'];
    return exit?.signal !== 'SIGKILL';
  }

  /** What the oracle reads of it. */
  record(): IncarnationRecord {
    const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
    return {
      node: this.node,
      inc: this.inc,
      role: this.role,
      logText: read(this.files.log),
      eventsText: read(this.files.events),
      killed: this.killed,
      exit: this.exit,
    };
  }
}

/** The state of both sides. */
