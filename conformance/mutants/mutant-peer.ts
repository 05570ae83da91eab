/**
 * One mutant peer as its own process, for runs that reach peers over the network (a fleet
 * run's exec or connect target): the reference peer with the mutant's one defect, the
 * conformance probe on, the embedded target's short timers (handshake timeout 1500 ms).
 *
 * CLI: `tsx conformance/mutants/mutant-peer.ts NAME --role master --listen HOST:PORT`
 * or `… NAME --role backup --connect HOST:PORT`. Prints `mutant-peer: ready NAME` once
 * listening or configured; stops on SIGINT or SIGTERM. Exit codes: 0 stopped, 2 usage error.
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KkcmPeer, type PeerOptions } from '../../reference-impl/src/peer.js';
import { EMBEDDED_TIMERS } from '../src/harness/target.js';
import { parseEndpoint } from '../src/fleet/targets-file.js';
import { MUTANTS } from './mutants.js';

/**
 * The options of mutant `name`'s peer in `role`, at `endpoint` (where it listens as master,
 * where it connects as backup).
 *
 * @throws Error for an unknown mutant.
 */
export function mutantPeerOptions(
  name: string,
  role: 'master' | 'backup',
  endpoint: { host: string; port: number },
): PeerOptions {
  const mutant = MUTANTS.find((m) => m.name === name);
  if (mutant === undefined) throw new Error(`unknown mutant ${JSON.stringify(name)}`);
  const common = { ...EMBEDDED_TIMERS, nodeName: `mutant-${name}`, conformanceProbe: true };
  return mutant.customize(
    role === 'master' ? { ...common, role, listen: endpoint } : { ...common, role, connect: endpoint },
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { role: { type: 'string' }, listen: { type: 'string' }, connect: { type: 'string' } },
    allowPositionals: true,
  });
  const role = values.role;
  const endpoint = parseEndpoint((role === 'master' ? values.listen : values.connect) ?? '');
  if (positionals.length !== 1 || (role !== 'master' && role !== 'backup') || endpoint === undefined) {
    process.stderr.write(
      'usage: mutant-peer NAME --role master --listen HOST:PORT | --role backup --connect HOST:PORT\n',
    );
    return 2;
  }
  let options: PeerOptions;
  try {
    options = mutantPeerOptions(positionals[0]!, role, endpoint);
  } catch (err) {
    process.stderr.write(`mutant-peer: ${(err as Error).message}\n`);
    return 2;
  }
  const peer = new KkcmPeer(options);
  await peer.configure();
  process.stdout.write(`mutant-peer: ready ${positionals[0]!}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await peer.stop();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main(process.argv.slice(2)).then((code) => process.exit(code));
