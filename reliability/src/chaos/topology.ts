/**
 * Where a chaos run places its processes: every process on loopback, or the two sides in two
 * network namespaces joined by veth (the proxy with side b), with the argv prefix that runs a
 * process inside its namespace and the addresses each side and the proxy listen on.
 *
 * @module
 */
import { createNetnsPair } from '../netns.js';
import type { NodeName } from './oracle.js';
import { freePort } from './worker-process.js';

/** How the processes are placed: argv prefixes and addresses. */
export interface Topology {
  readonly prefix: Readonly<Record<NodeName | 'proxy', readonly string[]>>;
  /** Address each side listens on (and the proxy connects to). */
  readonly host: Readonly<Record<NodeName, string>>;
  /** Address the proxy listens on. */
  readonly proxyHost: string;
  /** A listening port for each side. */
  ports(trial: number): Promise<Record<NodeName, number>>;
  close(): Promise<void> | void;
}

/** The loopback topology: every process on 127.0.0.1. */
export function loopback(): Topology {
  return {
    prefix: { a: [], b: [], proxy: [] },
    host: { a: '127.0.0.1', b: '127.0.0.1' },
    proxyHost: '127.0.0.1',
    ports: async () => ({ a: await freePort(), b: await freePort() }),
    close: () => undefined,
  };
}

/**
 * Two network namespaces joined by veth: a in one, b and the proxy in the other, so that
 * every byte between the sides crosses the veth once.
 *
 * @returns the topology, or the reason namespaces cannot be used here.
 */
export async function namespaces(tag: string): Promise<Topology | { skip: string }> {
  const pair = await createNetnsPair(tag);
  if ('skip' in pair) return { skip: pair.skip };
  return {
    prefix: { a: pair.prefix(pair.a.ns), b: pair.prefix(pair.b.ns), proxy: pair.prefix(pair.b.ns) },
    host: { a: pair.a.addr, b: pair.b.addr },
    proxyHost: pair.b.addr,
    // Fresh namespaces: every port is free; a new pair per trial keeps TIME_WAIT out of the way.
    ports: (trial) => Promise.resolve({ a: 20000 + (trial % 20000), b: 40000 + (trial % 20000) }),
    close: () => pair.close(),
  };
}
