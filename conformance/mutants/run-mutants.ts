/**
 * Proof that the conformance suite catches broken peers: runs the suite against every
 * mutant peer (each must be failed by its intended case) and against the lenient-but-legal
 * peer (which must pass everything).
 *
 * CLI: `npm run mutants [-- --json] [--mutant NAME]... [--no-lenient] [--concurrency N]
 * [--timeout-scale X] [--all-cases] [--list]`.
 * Exit codes: 0 every mutant killed by its intended cases and the lenient peer passed;
 * 1 otherwise; 2 usage error.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CASES } from '../src/catalog.js';
import type { PeerCustomizer } from '../src/harness/target.js';
import type { CaseResult, PeerRole } from '../src/report.js';
import { runConformance } from '../src/runner.js';
import { LENIENT } from './lenient.js';
import { MUTANTS, type Mutant } from './mutants.js';

/**
 * Cases that the reference peer itself fails today: the lenient peer is not blamed for
 * them, and a kill by one of them proves nothing (the table marks it). Empty: the reference
 * peer passes every case. Add an id only with the issue that tracks its fix.
 */
export const KNOWN_FAILING: readonly string[] = [];

/** Cases every mutant run includes besides its killers: can the mutant hold a session at all? */
export const SANITY: readonly string[] = ['handshake.binding.two-channels', 'control.echo.exact'];

/** One failing (or unjudged) case of a run. */
export interface Kill {
  readonly id: string;
  readonly role: PeerRole;
  readonly verdict: CaseResult['verdict'];
  /** The requirements the fail names: those the oracle saw broken, else the case's own. */
  readonly requirements: readonly string[];
  /** What the case expected and saw, or why it could not judge. */
  readonly detail: string;
}

/** What happened to one mutant. */
export interface MutantResult {
  readonly name: string;
  readonly breaks: string;
  readonly description: string;
  readonly expectKilledBy: readonly string[];
  /**
   * Ids of the cases that failed it naming the requirement it breaks, in catalogue order. A
   * fail that names another requirement is not a kill (it is in `kills`), and an error
   * verdict never is: the harness could not judge.
   */
  readonly killedBy: readonly string[];
  /** Results of the sanity cases (can the mutant hold a session?); none may be an error. */
  readonly sanity: readonly { id: string; role: PeerRole; verdict: CaseResult['verdict'] }[];
  /** True when no case failed it. */
  readonly survived: boolean;
  /** Intended killers that did not fail it. */
  readonly missed: readonly string[];
  readonly kills: readonly Kill[];
  readonly durationMs: number;
}

/** What happened to the lenient peer. */
export interface LenientResult {
  readonly name: string;
  readonly description: string;
  /** Ids of the cases it failed, known failures excluded. */
  readonly failed: readonly string[];
  readonly failures: readonly Kill[];
  readonly durationMs: number;
}

/** The whole proof. */
export interface MutantReport {
  readonly mutants: readonly MutantResult[];
  readonly lenient: LenientResult | undefined;
  /** True when every mutant was killed by each of its intended cases and the lenient peer passed. */
  readonly ok: boolean;
}

/** Options of {@link runMutants}. */
export interface MutantOptions {
  /** Names of the mutants to run (default all). */
  readonly mutants?: readonly string[];
  /** Mutants to choose from (default {@link MUTANTS}); for self-tests of this runner. */
  readonly catalogue?: readonly Mutant[];
  /** Run the lenient peer (default true). */
  readonly lenient?: boolean;
  /** Mutant runs at a time (default 3): most of a run is waiting for a reaction. */
  readonly concurrency?: number;
  /** Multiplies every timeout of the suite (default 1). */
  readonly timeoutScale?: number;
  /**
   * Run every case on each mutant, not only its killers and the sanity cases: shows every
   * case that catches it (slow: minutes, most of it waiting for reactions that never come).
   */
  readonly allCases?: boolean;
  /** Called when a mutant's run ended. */
  readonly onMutant?: (result: MutantResult) => void;
}

const ORDER = new Map(CASES.map((c, i) => [c.id, i]));
const byCatalogue = (a: string, b: string): number => (ORDER.get(a) ?? 0) - (ORDER.get(b) ?? 0);

/** A verdict worth reporting on a mutant: a fail, or a case that could not be judged. */
const isFailure = (r: CaseResult): boolean => r.verdict === 'fail' || r.verdict === 'error';

function killOf(r: CaseResult): Kill {
  const detail =
    r.verdict === 'fail' ? `expected ${r.expected ?? '?'}; observed ${r.observed ?? '?'}` : (r.reason ?? 'error');
  return { id: r.id, role: r.role, verdict: r.verdict, requirements: r.violated ?? r.requirements, detail };
}

/** True when `k` is a fail that names `requirement`: a kill of a mutant that breaks it. */
export const killsFor = (k: Kill, requirement: string): boolean =>
  k.verdict === 'fail' && k.requirements.includes(requirement);

/**
 * Runs the suite on a customized embedded peer. Only cases that ran can fail it: a case the
 * runner did not start (the peer had already failed the health probe after an earlier case)
 * is an error verdict, but it did not judge this peer.
 */
async function run(
  customize: PeerCustomizer,
  roles: readonly PeerRole[],
  cases: readonly string[] | undefined,
  timeoutScale: number,
): Promise<{ failures: Kill[]; results: CaseResult[]; durationMs: number }> {
  const started = new Set<string>();
  const report = await runConformance({
    target: { kind: 'embedded', customize, roles },
    ...(cases !== undefined ? { selection: { cases } } : {}),
    timeoutScale,
    onCaseStart: (id, role) => started.add(`${role}:${id}`),
  });
  const ran = report.cases.filter((r) => started.has(`${r.role}:${r.id}`) || r.id === 'harness.health-probe');
  return { failures: ran.filter(isFailure).map(killOf), results: ran, durationMs: report.durationMs };
}

/** Runs the suite on one mutant, in its roles: its intended killers and the sanity cases, or every case. */
export async function runMutant(mutant: Mutant, timeoutScale = 1, allCases = false): Promise<MutantResult> {
  const cases = allCases ? undefined : [...new Set([...mutant.expectKilledBy, ...SANITY])];
  const { failures, results, durationMs } = await run(mutant.customize, mutant.roles, cases, timeoutScale);
  const killedBy = [...new Set(failures.filter((k) => killsFor(k, mutant.breaks)).map((k) => k.id))].sort(byCatalogue);
  return {
    name: mutant.name,
    breaks: mutant.breaks,
    description: mutant.description,
    expectKilledBy: mutant.expectKilledBy,
    killedBy,
    sanity: results.filter((r) => SANITY.includes(r.id)).map((r) => ({ id: r.id, role: r.role, verdict: r.verdict })),
    survived: killedBy.length === 0,
    missed: mutant.expectKilledBy.filter((id) => !killedBy.includes(id)),
    kills: failures,
    durationMs,
  };
}

/** Runs the whole suite, both roles, on the lenient-but-legal peer. */
export async function runLenient(timeoutScale = 1): Promise<LenientResult> {
  const { failures, durationMs } = await run(LENIENT.customize, ['master', 'backup'], undefined, timeoutScale);
  const blamed = failures.filter((k) => !KNOWN_FAILING.includes(k.id));
  return {
    name: LENIENT.name,
    description: LENIENT.description,
    failed: [...new Set(blamed.map((k) => k.id))].sort(byCatalogue),
    failures: blamed,
    durationMs,
  };
}

/**
 * Runs the mutants (a few at a time) and the lenient peer.
 *
 * @throws Error for an unknown mutant name.
 */
export async function runMutants(options: MutantOptions = {}): Promise<MutantReport> {
  const catalogue = options.catalogue ?? MUTANTS;
  const unknown = (options.mutants ?? []).filter((n) => !catalogue.some((m) => m.name === n));
  if (unknown.length > 0) throw new Error(`unknown mutant(s): ${unknown.join(', ')}`);
  const chosen = options.mutants === undefined ? catalogue : catalogue.filter((m) => options.mutants!.includes(m.name));
  const scale = options.timeoutScale ?? 1;
  // The lenient peer runs alone first: its slow writes must not compete for the loop.
  const lenient = options.lenient === false ? undefined : await runLenient(scale);
  const results: MutantResult[] = new Array<MutantResult>(chosen.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chosen.length) {
      const i = next++;
      results[i] = await runMutant(chosen[i]!, scale, options.allCases === true);
      options.onMutant?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 3) }, worker));
  const ok =
    results.every((r) => !r.survived && r.missed.length === 0 && r.sanity.every((x) => x.verdict !== 'error')) &&
    (lenient === undefined || lenient.failed.length === 0);
  return { mutants: results, lenient, ok };
}

/** The report in the `--json` shape: `{ mutants: [{ name, breaks, killedBy, survived }], lenient: { name, failed } }`. */
export function toJson(report: MutantReport): {
  mutants: { name: string; breaks: string; killedBy: string[]; survived: boolean }[];
  lenient: { name: string; failed: string[] } | null;
} {
  return {
    mutants: report.mutants.map((m) => ({
      name: m.name,
      breaks: m.breaks,
      killedBy: [...m.killedBy],
      survived: m.survived,
    })),
    lenient: report.lenient === undefined ? null : { name: report.lenient.name, failed: [...report.lenient.failed] },
  };
}

/** The report as a table for people. */
export function formatTable(report: MutantReport): string {
  const rows = report.mutants.map((m) => {
    const unproven = m.killedBy.every((id) => KNOWN_FAILING.includes(id));
    const verdict = m.survived
      ? 'SURVIVED'
      : m.missed.length > 0
        ? `MISSED ${m.missed.join(', ')}`
        : unproven
          ? 'killed (unproven: only by known-failing cases)'
          : 'killed';
    const killers = m.killedBy
      .map(
        (id) =>
          `${id}${m.expectKilledBy.includes(id) ? '*' : ''}${KNOWN_FAILING.includes(id) ? ' (known failing)' : ''}`,
      )
      .join(', ');
    return [m.name, m.breaks, verdict, killers || '-'];
  });
  const head = ['mutant', 'breaks', 'verdict', 'killed by (* = intended)'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!))).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  const survivors = report.mutants.filter((m) => m.survived || m.missed.length > 0).length;
  out.push(`${report.mutants.length - survivors}/${report.mutants.length} mutants killed by their intended cases`);
  const l = report.lenient;
  if (l !== undefined) {
    out.push(
      `lenient peer ${l.name} (${l.description}): ${l.failed.length === 0 ? 'passed every case' : `FAILED ${l.failed.join(', ')}`}${KNOWN_FAILING.length > 0 ? ` (known failing, not counted: ${KNOWN_FAILING.join(', ')})` : ''}`,
    );
    for (const f of l.failures) out.push(`  ${f.id} (${f.role}): ${f.detail}`);
  }
  out.push(report.ok ? 'OK: the suite catches every mutant and passes the lenient peer' : 'NOT OK');
  return out.join('\n');
}

const USAGE =
  'usage: npm run mutants -- [--json] [--mutant NAME]... [--no-lenient] [--concurrency N] [--timeout-scale X] [--all-cases] [--list]';

/** Where the CLI writes. */
export interface MutantIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: MutantIo = { out: (x) => process.stdout.write(x), err: (x) => process.stderr.write(x) };

/** CLI entry point; returns the exit code. */
export async function main(argv: readonly string[], io: MutantIo = STDIO): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean', default: false },
        mutant: { type: 'string', multiple: true },
        'no-lenient': { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        'timeout-scale': { type: 'string' },
        'all-cases': { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (args.list) {
    for (const m of MUTANTS)
      io.out(`${m.name}  ${m.breaks}  ${m.description} (killed by ${m.expectKilledBy.join(', ')})\n`);
    return 0;
  }
  const concurrency = args.concurrency === undefined ? undefined : Number(args.concurrency);
  const timeoutScale = args['timeout-scale'] === undefined ? undefined : Number(args['timeout-scale']);
  if (
    (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) ||
    (timeoutScale !== undefined && !(timeoutScale > 0))
  ) {
    io.err(`--concurrency takes a positive integer and --timeout-scale a positive number\n${USAGE}\n`);
    return 2;
  }
  const unknown = (args.mutant ?? []).filter((n) => !MUTANTS.some((m) => m.name === n));
  if (unknown.length > 0) {
    io.err(`unknown mutant(s): ${unknown.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const report = await runMutants({
    ...(args.mutant !== undefined ? { mutants: args.mutant } : {}),
    lenient: !args['no-lenient'],
    allCases: args['all-cases'],
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(timeoutScale !== undefined ? { timeoutScale } : {}),
    ...(args.json
      ? {}
      : {
          onMutant: (m: MutantResult) =>
            io.err(`${m.name}: ${m.survived ? 'survived' : `killed by ${m.killedBy.join(', ')}`}\n`),
        }),
  });
  io.out(args.json ? `${JSON.stringify(toJson(report), null, 2)}\n` : `${formatTable(report)}\n`);
  return report.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(3);
    },
  );
}
