/**
 * Two Linux network namespaces joined by a veth pair: two "hosts" on one machine, so that
 * peers (and the fault proxy) can talk across a real network interface instead of the
 * loopback. Processes enter a namespace through an argv prefix (`ip netns exec NS …`); a
 * Unix socket path works across namespaces (the filesystem is shared), a TCP port on
 * 127.0.0.1 does not.
 *
 * Needs iproute2 and CAP_SYS_ADMIN (root). Where either is missing, {@link createNetnsPair}
 * returns the reason to skip instead of throwing. Namespaces are named after the process id
 * and a tag, so that test files running in parallel never collide; they are deleted by
 * `close()`, and at the latest when the process exits (a SIGKILL leaves them behind: `ip
 * netns list | grep kkcm-` finds them).
 *
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';

/** One end of the pair: a namespace and its address on the veth. */
export interface NetnsEnd {
  /** Namespace name (`kkcm-<pid>-<tag>-a`). */
  readonly ns: string;
  /** IPv4 address of its veth end (a private /30 of 10.213.0.0/16). */
  readonly addr: string;
  /** Name of its veth interface (inside the namespace). */
  readonly dev: string;
}

/** Two namespaces joined by a veth pair, both ends up, loopback up in each. */
export interface NetnsPair {
  readonly a: NetnsEnd;
  readonly b: NetnsEnd;
  /** The argv prefix that runs a command in namespace `ns`: `['ip', 'netns', 'exec', ns]`. */
  prefix(ns: string): string[];
  /** Deletes both namespaces (the veth goes with them). Safe twice. */
  close(): Promise<void>;
}

/** Why namespaces cannot be used here, printed verbatim by the tests that skip. */
export interface NetnsSkip {
  readonly skip: string;
}

/** Namespaces created by this process and not yet deleted. */
const live = new Set<string>();
let exitHookInstalled = false;

interface Run {
  readonly ok: boolean;
  readonly stderr: string;
  /** Spawn error code (ENOENT: `ip` is missing). */
  readonly code?: string;
}

function ip(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: 15_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve({ ok: true, stderr });
      else {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ ok: false, stderr: stderr.trim() || err.message, ...(typeof code === 'string' ? { code } : {}) });
      }
    });
  });
}

/** A failure that means "not possible here" (skip) rather than a defect (throw). */
function skipReason(step: string, run: Run): string | undefined {
  if (run.code === 'ENOENT') return 'ip: command not found (iproute2 is not installed)';
  if (/not permitted|permission denied|EPERM|EACCES/i.test(run.stderr))
    return `${step}: ${run.stderr} (needs root/CAP_SYS_ADMIN)`;
  if (/not supported|unknown device type|no such device/i.test(run.stderr))
    return `${step}: ${run.stderr} (the kernel lacks network namespaces or veth)`;
  return undefined;
}

/** Deletes namespaces synchronously: the exit hook cannot wait. */
function deleteNowSync(): void {
  for (const ns of live) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // Best effort at exit.
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  deleteNowSync();
  // Ours was the only handler: die of the signal as the process would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', deleteNowSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
}

/** The /30 of a pair: 10.213.0.0/16 holds 16384 of them; index from the pid and the tag. */
function subnet(tag: string): { a: string; b: string } {
  let h = 0x811c9dc5;
  for (const ch of `${process.pid}/${tag}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const index = h % 16384;
  const third = index >> 6;
  const fourth = (index & 63) << 2;
  return { a: `10.213.${third}.${fourth + 1}`, b: `10.213.${third}.${fourth + 2}` };
}

/**
 * Creates namespaces `kkcm-<pid>-<tag>-a` and `-b`, a veth pair between them with a /30
 * (`.1` in a, `.2` in b), brings up `lo` and the veth end in each, and checks that a
 * command runs in each (`ip netns exec NS true`).
 *
 * @param tag - lowercase letters, digits and dashes, 1 to 16; unique among this process's
 *   live pairs.
 * @returns the pair, or `{ skip }` with the reason when `ip` is missing or not permitted
 *   (nothing is left behind).
 * @throws Error for a bad or reused tag, or a step that failed for another reason (after
 *   deleting what it created).
 */
export async function createNetnsPair(tag: string): Promise<NetnsPair | NetnsSkip> {
  if (!/^[a-z0-9-]{1,16}$/.test(tag))
    throw new Error(`netns tag must be 1 to 16 of [a-z0-9-], got ${JSON.stringify(tag)}`);
  const base = `kkcm-${process.pid}-${tag}`;
  const names = { a: `${base}-a`, b: `${base}-b` };
  if (live.has(names.a) || live.has(names.b))
    throw new Error(`a netns pair tagged ${JSON.stringify(tag)} is already live in this process`);
  const addr = subnet(tag);
  const a: NetnsEnd = { ns: names.a, addr: addr.a, dev: 'kkv-a' };
  const b: NetnsEnd = { ns: names.b, addr: addr.b, dev: 'kkv-b' };
  installExitHook();
  const created: string[] = [];
  const undo = async (): Promise<void> => {
    for (const ns of created) {
      await ip(['netns', 'del', ns]);
      live.delete(ns);
    }
  };
  const steps: { step: string; args: string[]; creates?: string }[] = [
    { step: 'ip netns add', args: ['netns', 'add', a.ns], creates: a.ns },
    { step: 'ip netns add', args: ['netns', 'add', b.ns], creates: b.ns },
    // Created inside a: the interface names only need to be unique within each namespace.
    {
      step: 'ip link add (veth)',
      args: ['-n', a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns],
    },
    { step: 'ip addr add', args: ['-n', a.ns, 'addr', 'add', `${a.addr}/30`, 'dev', a.dev] },
    { step: 'ip addr add', args: ['-n', b.ns, 'addr', 'add', `${b.addr}/30`, 'dev', b.dev] },
    { step: 'ip link set up', args: ['-n', a.ns, 'link', 'set', 'lo', 'up'] },
    { step: 'ip link set up', args: ['-n', b.ns, 'link', 'set', 'lo', 'up'] },
    { step: 'ip link set up', args: ['-n', a.ns, 'link', 'set', a.dev, 'up'] },
    { step: 'ip link set up', args: ['-n', b.ns, 'link', 'set', b.dev, 'up'] },
    { step: 'ip netns exec', args: ['netns', 'exec', a.ns, 'true'] },
    { step: 'ip netns exec', args: ['netns', 'exec', b.ns, 'true'] },
  ];
  for (const { step, args, creates } of steps) {
    let run = await ip(args);
    if (!run.ok && creates !== undefined && /exists/i.test(run.stderr)) {
      // Left by a killed process that had our pid (the name holds it): no one else owns it.
      await ip(['netns', 'del', creates]);
      run = await ip(args);
    }
    if (!run.ok) {
      await undo();
      const skip = skipReason(step, run);
      if (skip !== undefined) return { skip };
      throw new Error(`ip ${args.join(' ')} failed: ${run.stderr}`);
    }
    if (creates !== undefined) {
      created.push(creates);
      live.add(creates);
    }
  }
  let closing: Promise<void> | undefined;
  return {
    a,
    b,
    prefix: (ns) => ['ip', 'netns', 'exec', ns],
    close: () => (closing ??= undo()),
  };
}

/** Names of the namespaces that exist now (`ip netns list`), for checks and cleanup tools. */
export async function listNetns(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'list'], { timeout: 15_000 }, (err, stdout) => {
      if (err !== null) reject(err);
      else
        resolve(
          stdout
            .split('\n')
            .map((l) => l.split(' ')[0]!)
            .filter((n) => n !== ''),
        );
    });
  });
}
