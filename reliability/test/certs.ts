/**
 * Test certificates, made at test time with the `openssl` command into a temporary
 * directory: a CA, two node certificates it signed (server and client authentication,
 * naming localhost, 127.0.0.1 and ::1), and a rogue CA with a node certificate of its own.
 * Nothing is committed: no key outlives the test run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One certificate and its key, as PEM, and where they are on disk. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** What {@link makeTestCerts} made. */
export interface TestCerts {
  readonly dir: string;
  /** The CA both nodes trust. */
  readonly ca: string;
  readonly caPath: string;
  /** Signed by the CA: one node plays the server, the other the client. */
  readonly nodeA: CertFiles;
  readonly nodeB: CertFiles;
  /** Signed by another CA that nobody trusts. */
  readonly rogue: CertFiles;
  readonly rogueCaPath: string;
  /** Removes the directory. */
  remove(): void;
}

/** Why the certificates cannot be made here (no `openssl`), or undefined when they can. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return `openssl is not installed (${(err as Error).message}): the TLS tests need it to make test certificates`;
  }
}

const NODE_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=serverAuth,clientAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
].join('\n');

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeNode(dir: string, name: string, ca: string, serial: number): CertFiles {
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    String(serial),
    '-days',
    '2',
    '-extfile',
    'node.ext',
    '-out',
    `${name}.crt`,
  ]);
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/**
 * Makes the test certificates (about a second).
 *
 * @throws Error when `openssl` fails; call {@link opensslMissing} first to skip instead.
 */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-tls-'));
  try {
    writeFileSync(join(dir, 'node.ext'), `${NODE_EXTENSIONS}\n`);
    makeCa(dir, 'ca');
    makeCa(dir, 'rogue-ca');
    const nodeA = makeNode(dir, 'node-a', 'ca', 1);
    const nodeB = makeNode(dir, 'node-b', 'ca', 2);
    const rogue = makeNode(dir, 'rogue', 'rogue-ca', 3);
    const caPath = join(dir, 'ca.crt');
    return {
      dir,
      ca: readFileSync(caPath, 'utf8'),
      caPath,
      nodeA,
      nodeB,
      rogue,
      rogueCaPath: join(dir, 'rogue-ca.crt'),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
