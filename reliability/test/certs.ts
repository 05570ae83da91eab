/**
 * Test certificates, made in-process at test time (the `selfsigned` package over Node's
 * WebCrypto, so no `openssl` binary is needed and the TLS tests never skip): a CA, two node
 * certificates it signed (server and client authentication, naming localhost, 127.0.0.1 and
 * ::1), and a rogue CA with a node certificate of its own. They are written as PEM files into
 * a temporary directory, because the CLI takes paths. Nothing is committed: no key outlives
 * the test run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, type SelfsignedOptions } from 'selfsigned';

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

/** Two days either side of now: long enough for any run, short enough to be useless later. */
function validity(): Pick<SelfsignedOptions, 'notBeforeDate' | 'notAfterDate'> {
  const day = 24 * 60 * 60 * 1000;
  const now = Date.now();
  return { notBeforeDate: new Date(now - day), notAfterDate: new Date(now + 2 * day) };
}

const EC: SelfsignedOptions = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' };

function write(dir: string, name: string, cert: string, key: string): CertFiles {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  writeFileSync(certPath, cert);
  writeFileSync(keyPath, key, { mode: 0o600 });
  return { cert, key, certPath, keyPath };
}

async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return write(dir, name, pems.cert, pems.private);
}

async function makeNode(dir: string, name: string, ca: CertFiles): Promise<CertFiles> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    ...EC,
    ...validity(),
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return write(dir, name, pems.cert, pems.private);
}

/** Makes the test certificates (a few milliseconds of EC key generation and signing). */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'kkcm-tls-'));
  try {
    const ca = await makeCa(dir, 'ca');
    const rogueCa = await makeCa(dir, 'rogue-ca');
    return {
      dir,
      ca: ca.cert,
      caPath: ca.certPath,
      nodeA: await makeNode(dir, 'node-a', ca),
      nodeB: await makeNode(dir, 'node-b', ca),
      rogue: await makeNode(dir, 'rogue', rogueCa),
      rogueCaPath: rogueCa.certPath,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
