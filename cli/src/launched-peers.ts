/**
 * The peers `kkcm conformance` launched (`--exec`, exec targets of a fleet) never outlive it:
 * on SIGINT and SIGTERM it ends their process groups, says so and exits 130 or 143; on any
 * other exit it kills what is left (issue 12, defect 3).
 *
 * @module
 */
import { signalLaunchedPeers } from '../../conformance/src/harness/target.js';
import type { Io } from './io.js';

/** Exit code after a signal: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * While a run lasts, SIGINT and SIGTERM end the peers the suite launched (their whole
 * process groups, SIGTERM), write one line naming them, and exit 130 or 143; whatever way
 * the process exits, the groups still running get SIGKILL.
 *
 * @param io - where the line goes (its `err`).
 * @returns the function that removes the handlers; safe to call twice.
 */
export function stopLaunchedPeersOnSignal(io: Io): () => void {
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const pids = signalLaunchedPeers('SIGTERM');
    const said =
      pids.length === 0
        ? ''
        : `; stopped the ${pids.length === 1 ? 'peer' : 'peers'} it launched (process group ${pids.join(', ')})`;
    io.err(`\nkkcm conformance: interrupted by ${signal}${said}\n`);
    process.exit(SIGNAL_EXIT[signal]);
  };
  const onExit = (): void => {
    signalLaunchedPeers('SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}
