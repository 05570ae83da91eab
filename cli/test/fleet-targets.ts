/**
 * The five-target fleet of the fleet test and of `npm run bench:fleet`: three reference
 * peers in different roles and kinds (exec master, exec backup, a backup process that
 * connects to a listen target), one mutant peer (no-magic-check, which breaks KKCM-FRM-5),
 * and an address where nothing listens.
 */
import { join } from 'node:path';
import { packageRoot } from '../../spec/src/index.js';

const node = JSON.stringify(process.execPath);
const run = JSON.stringify(join(packageRoot(), 'cli', 'src', 'run.ts'));

/** The reference peer CLI, from source, as a shell command (its handshake timeout 1000 ms, as the targets say). */
const PEER = `${node} --import tsx ${run} peer --conformance-probe --periodic-ms 50 --handshake-timeout-ms 1000`;

/** The mutant peer runner, from source. */
const MUTANT = `${node} --import tsx ${JSON.stringify(join(packageRoot(), 'conformance', 'mutants', 'mutant-peer.ts'))}`;

/** The mutant of the fleet and the requirement it breaks. */
export const FLEET_MUTANT = { name: 'no-magic-check', breaks: 'KKCM-FRM-5' } as const;

/** Cases the fleet runs: the mutant's killer and one that every peer passes. */
export const FLEET_CASES = ['framing.magic.bad', 'control.echo.exact'] as const;

/** Arguments of `kkcm peer` for the backup that connects to the listen target on `port`. */
export function listenPeerArgs(port: number): string[] {
  return [
    'peer',
    '--role',
    'backup',
    '--connect',
    `127.0.0.1:${port}`,
    '--backoff-max-ms',
    '50',
    '--conformance-probe',
    '--periodic-ms',
    '50',
    '--handshake-timeout-ms',
    '1000',
  ];
}

/** The targets file (line form) of the five targets; the listen target on `listenPort`. */
export function fleetTargetsFile(listenPort: number): string {
  return [
    '# name      kind     address                                              role    options',
    `ref-master  exec     '${PEER} --role master --listen 127.0.0.1:{port}'    master  handshake-timeout=1000`,
    `ref-backup  exec     '${PEER} --role backup --connect 127.0.0.1:{port}'   backup  handshake-timeout=1000`,
    `ref-listen  listen   127.0.0.1:${listenPort}                              backup  handshake-timeout=1000`,
    `mutant      exec     '${MUTANT} ${FLEET_MUTANT.name} --role master --listen 127.0.0.1:{port}'  master  handshake-timeout=1500`,
    'nowhere     connect  127.0.0.1:1                                          master',
    '',
  ].join('\n');
}
