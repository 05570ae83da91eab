/**
 * How busy the machine was during a benchmark, beyond the benchmark itself: the CPU time of
 * the whole machine (`/proc/stat`) against that of this process and its children
 * (`/proc/self/stat`: children count once they have exited and been reaped, as every worker
 * has by the end of a run). Linux only; elsewhere {@link cpuSnapshot} answers undefined and the
 * report says that it could not tell.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** CPU time in clock ticks at one instant. */
export interface CpuSnapshot {
  /** The whole machine: every state, and the busy ones (not idle, not waiting for I/O). */
  readonly total: number;
  readonly busy: number;
  /** Time the hypervisor gave this machine's CPUs to others (steal). */
  readonly steal: number;
  /** This process and its reaped children, user + system. */
  readonly ours: number;
}

/** What the machine did between two snapshots, in cores (1 = one CPU busy all the time). */
export interface MachineLoad {
  /** CPU used by work other than this benchmark, averaged over the interval. */
  readonly otherCores: number;
  /** CPU used by this benchmark. */
  readonly benchCores: number;
  /** Stolen by the hypervisor. */
  readonly stealCores: number;
}

/** Reads the counters now; undefined where `/proc` is not there. */
export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const total = cpu.slice(0, 8).reduce((s, x) => s + x, 0);
    const busy = total - cpu[3]! - cpu[4]!;
    // Fields after the command (which may hold spaces): state is field 3; utime 14 … cstime 17.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const ours = f[11]! + f[12]! + f[13]! + f[14]!;
    return { total, busy, steal: cpu[7]!, ours };
  } catch {
    return undefined;
  }
}

/** The load between two snapshots (undefined when either is). */
export function machineLoad(from: CpuSnapshot | undefined, to: CpuSnapshot | undefined): MachineLoad | undefined {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined;
  const cores = cpus().length;
  const share = (ticks: number): number =>
    Math.round((Math.max(0, ticks) / (to.total - from.total)) * cores * 1000) / 1000;
  const bench = to.ours - from.ours;
  return {
    otherCores: share(to.busy - from.busy - bench),
    benchCores: share(bench),
    stealCores: share(to.steal - from.steal),
  };
}
