/**
 * `npm run chaos -- --trials N --seed S [--json] [--netns] [--kinds a,b] [--faults a,b] [--keep]`:
 * fault injection between two reference peers in separate processes, checked by the oracle
 * (see `run.ts` and `oracle.ts`). Exit 0 when no trial broke a rule (or namespaces were asked
 * for and are not permitted: the reason is printed), 1 on any violation, 2 on a usage error.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { freshSeed } from '../prng.js';
import { FAULT_KINDS, type FaultKind, RULES } from './oracle.js';
import { PEER_FAULTS } from './worker-args.js';
import { recoveryBoundMs, CHAOS_TIMING, runChaos, type ChaosReport, type TrialResult } from './run.js';

/** Help text. */
export const CHAOS_HELP = `Usage: npm run chaos -- [--trials N] [--seed S] [--json] [--netns] [--kinds K,K…] [--faults K,K…] [--keep] [--peer-fault F]

Two reference peers in separate processes (a master and a backup, each able to take the
other role) carry traffic on all four clients through a fault proxy, some of it with
delivery confirmation. Each trial starts fresh processes, injects one or two faults during
the traffic, waits for the recovery, stops both sides with SIGTERM and checks both sides'
logs and event files:

  1 no partial, reordered, duplicated or lost-in-the-middle delivery
  2 every confirmed message was delivered on the other side
  3 one cleanup per session per client on each side, with the reason the fault implies
  4 a new session within ${recoveryBoundMs(CHAOS_TIMING)} ms of the fault's clearing, traffic both ways after it
  5 a clean exit (code 0) with no socket, server or timer left

Fault kinds: ${FAULT_KINDS.join(', ')}.
Trial i's first fault is kinds[i mod n] (every kind within n trials), a second one is
drawn at random in a quarter of the trials.

Options:
  --trials N     trials (default 10)
  --seed S       seed of the run (default: from the clock, printed); trial 0 uses S itself
  --kinds LIST   fault kinds to draw from (default all)
  --faults LIST  the fault kinds of every trial, in order (replays a trial with its seed)
  --netns        the two sides in two network namespaces joined by veth (the proxy in b's);
                 exits 0 with the reason when namespaces are not permitted here
  --keep         keep every trial's files (failed trials' files are always kept)
  --peer-fault F side b's peer runs with a deliberate fault (${PEER_FAULTS.join(', ')}):
                 the harness's self-test, the run must fail
  --json         one JSON object on standard output
  --help         this text

Exit: 0 no violation, 1 a violation, 2 usage error. A failed trial prints the command that
replays it and the directory with its files.
`;

class UsageError extends Error {}

function kindList(name: string, value: string | undefined): FaultKind[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  for (const k of list)
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new UsageError(`--${name}: unknown fault kind ${JSON.stringify(k)}; known: ${FAULT_KINDS.join(', ')}`);
  if (list.length === 0) throw new UsageError(`--${name} needs at least one fault kind`);
  return list as FaultKind[];
}

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff)
    throw new UsageError(`--${name} wants a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** One line per trial. */
export function trialLine(r: TrialResult): string {
  const faults = r.faults
    .map(
      (f) =>
        `${f.kind}${f.target !== null ? `→${f.target}` : ''}${f.applied ? '' : ' (not applied)'}${f.recoveryMs !== null ? ` recovered ${f.recoveryMs} ms` : ''}`,
    )
    .join('; ');
  const verdict = r.violations.length === 0 ? 'ok' : `${r.violations.length} VIOLATION(S)`;
  return `trial ${String(r.trial).padStart(3)} seed ${String(r.seed).padStart(10)} ${(r.durationMs / 1000).toFixed(1)} s  ${faults}  msgs ${r.messages.delivered}/${r.messages.sent} confirmed ${r.messages.confirmed}  ${verdict}\n`;
}

/** The summary after the trial lines. */
export function summaryText(r: ChaosReport): string {
  const lines = [
    `${r.trials} trials, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s (mean ${(r.trialMs.mean / 1000).toFixed(2)} s per trial, longest ${(r.trialMs.max / 1000).toFixed(2)} s)${r.netns === true ? ', two network namespaces' : ''}`,
    `faults: ${
      Object.entries(r.faults)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
  ];
  if (Object.keys(r.notApplied).length > 0)
    lines.push(
      `not applied (nothing to hit): ${Object.entries(r.notApplied)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
  lines.push(
    `recovery (clearing to new session): ${r.recoveryMs.count} faults, median ${r.recoveryMs.median} ms, p95 ${r.recoveryMs.p95} ms, max ${r.recoveryMs.max} ms; bound ${r.boundMs} ms`,
    `messages: ${r.messages.sent} sent, ${r.messages.delivered} delivered whole, ${r.messages.confirmed} confirmed`,
    `violations: ${r.violations.length}`,
  );
  for (const v of r.violations.slice(0, 40))
    lines.push(`  trial ${v.trial} (seed ${v.seed}) rule ${RULES[v.rule]} ${v.rule}: ${v.detail}`);
  if (r.violations.length > 40) lines.push(`  … ${r.violations.length - 40} more`);
  for (const f of r.failed)
    lines.push(`FAILED trial ${f.trial}: replay with  ${f.replay}${f.dir !== null ? `\n  files: ${f.dir}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the command.
 *
 * @returns the exit code.
 */
export async function chaosMain(
  argv: readonly string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        trials: { type: 'string' },
        seed: { type: 'string' },
        kinds: { type: 'string' },
        faults: { type: 'string' },
        netns: { type: 'boolean' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        'peer-fault': { type: 'string' },
      },
    }).values;
    if (values.help === true) {
      out(CHAOS_HELP);
      return 0;
    }
    const trials = int('trials', values.trials as string | undefined, 10);
    const seed = int('seed', values.seed as string | undefined, freshSeed());
    const kinds = kindList('kinds', values.kinds as string | undefined);
    const faults = kindList('faults', values.faults as string | undefined);
    const peerFault = values['peer-fault'] as string | undefined;
    if (peerFault !== undefined && !(PEER_FAULTS as readonly string[]).includes(peerFault))
      throw new UsageError(`--peer-fault must be one of ${PEER_FAULTS.join(', ')}`);
    const json = values.json === true;
    if (!json) out(`chaos: ${trials} trials, seed ${seed}\n`);
    const report = await runChaos({
      trials,
      seed,
      netns: values.netns === true,
      keep: values.keep === true,
      ...(kinds !== undefined ? { kinds } : {}),
      ...(faults !== undefined ? { faults } : {}),
      ...(peerFault !== undefined ? { peerFault: peerFault as (typeof PEER_FAULTS)[number] } : {}),
      onTrial: json ? undefined : (r) => out(trialLine(r)),
    });
    if (typeof report.netns === 'string') {
      if (json) out(`${JSON.stringify(report)}\n`);
      else out(`chaos --netns ${report.netns}\n`);
      return 0;
    }
    if (json) {
      out(`${JSON.stringify(report)}\n`);
      for (const f of report.failed)
        err(`FAILED trial ${f.trial}: replay with  ${f.replay}${f.dir !== null ? `  (files: ${f.dir})` : ''}\n`);
    } else {
      out(summaryText(report));
    }
    return report.violations.length === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      err(`${(e as Error).message}\n\n${CHAOS_HELP}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  chaosMain(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`chaos: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
