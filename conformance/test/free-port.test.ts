/**
 * freePort: a port a process can be told up front and then listen on, drawn below the
 * kernel's ephemeral range (where connecting sockets take their local ports) when that is known.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import t from 'tap';
import { freePort } from '../src/harness/target.js';

function rangeStart(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}

t.test('the port is free to listen on, and below the ephemeral range where that is known', async (t) => {
  const lo = rangeStart();
  const ports = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    ports.add(port);
    t.ok(port > 0 && port < 65536, `port ${port} is a port`);
    if (lo !== undefined && lo - 10000 >= 1000) t.ok(port >= 10000 && port < lo, `${port} lies in [10000, ${lo})`);
    const listened = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    t.ok(listened, `a listen on ${port} succeeds`);
  }
  if (lo === undefined) t.comment('no /proc/sys/net/ipv4/ip_local_port_range here: the range check did not run');
  t.ok(ports.size > 1, 'the ports differ from call to call');
});
