/**
 * Test helpers for end-to-end tests with every peer in its own process: `kkcm peer` and
 * `kkcm ctl` run from source, the peer's event file read back, bounded polling, free
 * loopback ports. Every process is killed (by its handle) at the end of the test that
 * started it.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminRequest, type AdminRequest, type AdminResponse } from '../src/admin.js';
import type { PeerEvent, PeerStats, PeerStatus } from '../src/index.js';
export { freePort } from '../../conformance/src/harness/target.js';

/** Root of the package: where `cli/src/run.ts` is. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Bound of every wait. Generous: each process compiles TypeScript as it starts. */
export const DEADLINE_MS = 30_000;

/** How often a poll looks again. */
const POLL_MS = 20;

/**
 * Calls `probe` until it returns something other than undefined, at most `ms` long.
 *
 * @throws Error naming `what` when the deadline passes.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A `kkcm` child process, run from source; killed at teardown if it is still running. */
export class KkcmProcess {
  out = '';
  err = '';
  /** Exit code (null when killed by a signal); undefined while running. */
  exitCode: number | null | undefined;
  readonly exited: Promise<number | null>;
  readonly child: ChildProcessWithoutNullStreams;
  /** The kkcm command (`peer`, `ctl`…). */
  private readonly command: string;

  /**
   * @param prefix - argv that runs the command, e.g. `ip netns exec NS` for a network
   *   namespace; empty for none.
   */
  constructor(t: Test, args: readonly string[], prefix: readonly string[] = []) {
    const argv = [...prefix, process.execPath, '--import', 'tsx', 'cli/src/run.ts', ...args];
    this.command = args[0] ?? '';
    this.child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT });
    this.child.stdout.setEncoding('utf8').on('data', (s: string) => {
      this.out += s;
    });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.err += s;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
    t.teardown(async () => {
      if (this.exitCode !== undefined) return;
      // SIGKILL also ends a process stopped with SIGSTOP.
      this.child.kill('SIGKILL');
      await this.exit();
    });
  }

  /** True until the process exited. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends a signal to this process (and only to it). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Waits (bounded) until standard output matches `re`. */
  waitForOutput(re: RegExp): Promise<RegExpMatchArray> {
    return until(`${re} on the standard output of kkcm ${this.command}`, () => {
      const m = re.exec(this.out);
      if (m !== null) return m;
      if (this.exitCode !== undefined)
        throw new Error(`exited with ${String(this.exitCode)} before printing ${re}: ${this.err}`);
      return undefined;
    });
  }

  /** Waits (bounded) for the exit code. */
  async exit(): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${DEADLINE_MS} ms: ${this.err}`)), DEADLINE_MS);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What a finished `kkcm ctl` printed. */
export interface CtlRun {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs `kkcm ctl …` as its own process, to completion. */
export async function ctl(t: Test, args: readonly string[]): Promise<CtlRun> {
  const p = new KkcmProcess(t, ['ctl', ...args]);
  const code = await p.exit();
  return { code, out: p.out, err: p.err };
}

/** One line of an event file: an event and its time stamp. */
export type EventLine = PeerEvent & { readonly ts: number };

/** The lines of one event kind, typed. */
export type EventOf<E extends PeerEvent['event']> = Extract<PeerEvent, { event: E }> & { readonly ts: number };

/** Counters of the illustrative clients, as `kkcm peer` adds them to `stats`. */
export type CliStats = PeerStats & {
  readonly clients: Record<
    string,
    { messages: number; byName: Record<string, number>; cleanups: Record<string, number> }
  >;
};

/** Value of `key=` in the ready line, if present. */
const field = (line: string, key: string): string | undefined => new RegExp(`\\b${key}=(\\S+)`).exec(line)?.[1];

/**
 * A `kkcm peer` process with an event file and a TCP admin socket on an ephemeral port.
 */
export class PeerProcess {
  private constructor(
    readonly proc: KkcmProcess,
    readonly name: string,
    readonly eventsPath: string,
    /** `HOST:PORT` it listens on, when it started as the master. */
    readonly listen: string | undefined,
    /** `HOST:PORT` of its admin socket. */
    readonly admin: string,
  ) {}

  /**
   * Starts `kkcm peer ARGS --events DIR/NAME.jsonl --admin ADMIN` and waits for its ready
   * line. `admin` defaults to a TCP port on 127.0.0.1; give a Unix socket path for a peer in
   * another network namespace (`prefix`), whose loopback this process cannot reach.
   */
  static async start(
    t: Test,
    dir: string,
    name: string,
    args: readonly string[],
    options: { readonly prefix?: readonly string[]; readonly admin?: string } = {},
  ): Promise<PeerProcess> {
    const eventsPath = join(dir, `${name}.jsonl`);
    const p = new KkcmProcess(
      t,
      ['peer', ...args, '--events', eventsPath, '--admin', options.admin ?? '127.0.0.1:0'],
      options.prefix,
    );
    const line = (await p.waitForOutput(/kkcm peer: ready .*\n/))[0];
    const admin = field(line, 'admin');
    if (admin === undefined) throw new Error(`no admin= in ${line}`);
    return new PeerProcess(p, name, eventsPath, field(line, 'listen'), admin);
  }

  /** Every complete line of the event file so far. */
  events(): EventLine[] {
    if (!existsSync(this.eventsPath)) return [];
    const text = readFileSync(this.eventsPath, 'utf8');
    // The last line may still be on its way to the disk: only whole lines count.
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    return whole
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as EventLine);
  }

  /** The lines of one event kind so far, optionally filtered. */
  eventsOf<E extends PeerEvent['event']>(event: E, where: (e: EventOf<E>) => boolean = () => true): EventOf<E>[] {
    return this.events()
      .filter((e): e is EventOf<E> => e.event === event)
      .filter(where);
  }

  /** Waits (bounded) for the first line of `event` that satisfies `where`. */
  waitEvent<E extends PeerEvent['event']>(
    event: E,
    where: (e: EventOf<E>) => boolean = () => true,
  ): Promise<EventOf<E>> {
    return until(`a ${event} line in the event file of ${this.name}`, () => {
      const hit = this.eventsOf(event, where)[0];
      if (hit === undefined && !this.proc.running)
        throw new Error(
          `${this.name} exited (${String(this.proc.exitCode)}) without a ${event} line: ${this.proc.err}`,
        );
      return hit;
    });
  }

  /** One admin request over the admin socket. */
  request(req: AdminRequest, timeoutMs = DEADLINE_MS): Promise<AdminResponse> {
    return adminRequest(this.admin, req, { timeoutMs });
  }

  /** The result of an admin request that must succeed. */
  async result<T>(req: AdminRequest): Promise<T> {
    const r = await this.request(req);
    if (!r.ok) throw new Error(`${this.name} answered ${req.cmd} with ${r.error.code}: ${r.error.message}`);
    return r.result as T;
  }

  status(): Promise<PeerStatus> {
    return this.result<PeerStatus>({ cmd: 'status' });
  }

  stats(): Promise<CliStats> {
    return this.result<CliStats>({ cmd: 'stats' });
  }

  /** Sends a signal to the peer process. */
  signal(signal: NodeJS.Signals): void {
    this.proc.signal(signal);
  }

  /** SIGTERM (a clean stop) and the exit code. */
  async stop(): Promise<number | null> {
    if (this.proc.running) this.proc.signal('SIGTERM');
    return this.proc.exit();
  }
}

/**
 * The peer processes of one test file: their event files in a temporary folder (removed at
 * the end of `top`), a master with the probe client, backups that reconnect quickly, and a
 * pair with its session up.
 */
export class PeerSet {
  private readonly dir: string;
  private serial = 0;

  constructor(top: Test, prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    top.teardown(() => rmSync(this.dir, { recursive: true, force: true }));
  }

  /** A unique event-file name per process. */
  private named(role: string): string {
    return `${role}-${++this.serial}`;
  }

  /** A master with the probe client (five clients: probe, iha, sdrl, psrm, prl). */
  startMaster(t: Test, extra: readonly string[] = ['--listen', '127.0.0.1:0']): Promise<PeerProcess> {
    return PeerProcess.start(t, this.dir, this.named('master'), [
      '--role',
      'master',
      '--node-name',
      're0',
      '--conformance-probe',
      ...extra,
    ]);
  }

  /** A backup (four clients) that reconnects quickly. */
  startBackup(t: Test, connect: string, extra: readonly string[] = []): Promise<PeerProcess> {
    return PeerProcess.start(t, this.dir, this.named('backup'), [
      '--role',
      'backup',
      '--connect',
      connect,
      '--node-name',
      're1',
      '--backoff-max-ms',
      '200',
      ...extra,
    ]);
  }

  /** A master and a backup with their session up; returns its id. */
  async upPair(
    t: Test,
    masterArgs?: readonly string[],
  ): Promise<{ master: PeerProcess; backup: PeerProcess; sessionId: string }> {
    const master = await this.startMaster(t, masterArgs);
    const backup = await this.startBackup(t, master.listen!);
    const [m, b] = await Promise.all([sessionUp(master), sessionUp(backup)]);
    t.equal(m.sessionId, b.sessionId, 'both sides are in the same session');
    return { master, backup, sessionId: m.sessionId };
  }
}

/** The session-up line of `peer` for a session other than `not`. */
export function sessionUp(peer: PeerProcess, not?: string): Promise<EventOf<'session-up'>> {
  return peer.waitEvent('session-up', (e) => e.sessionId !== not);
}
