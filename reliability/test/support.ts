/** Test helpers shared by the reliability tests. */
import { createServer } from 'node:net';

/** Why the IPv6 loopback cannot be used here, or undefined when it can. */
export function ipv6Missing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: Error) => resolve(`IPv6 loopback (::1) is not available here: ${err.message}`));
    s.listen(0, '::1', () => s.close(() => resolve(undefined)));
  });
}
