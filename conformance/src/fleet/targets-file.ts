/**
 * The targets file of a fleet run (`kkcm conformance --targets FILE`): the endpoints to judge,
 * one per line, or a JSON or YAML list.
 *
 * Line form, `#` starts a comment, quotes ("…" or '…') keep spaces together:
 *
 * ```
 * # name     kind     address                                    role    options
 * lab-re0    connect  10.0.0.1:7000                              master  timeout-scale=2
 * lab-re1    listen   0.0.0.0:7001                               backup
 * vendor-x   exec     "./peer --listen 127.0.0.1:{port}"         master  handshake-timeout=1000
 * ```
 *
 * List form (JSON, or YAML when the file ends in `.yaml`/`.yml`): an array, or an object with
 * a `targets` array, of `{ name, kind, address, role, options }`; `options` holds the same
 * keys as the line form (`{ "handshake-timeout": 1000 }`).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { PeerRole } from '../report.js';

/** How the suite reaches a fleet target (as the single-run flags `--connect`, `--listen`, `--exec`). */
export type FleetTargetKind = 'connect' | 'listen' | 'exec';

/** Per-target settings: each overrides the run's own option of the same name. */
export interface FleetTargetOptions {
  /** The peer's handshake timeout, ms (`handshake-timeout=MS`). */
  readonly handshakeTimeoutMs?: number;
  /** Multiplies every timeout for this target (`timeout-scale=F`). */
  readonly timeoutScale?: number;
  /** Budget of one case, ms before scaling (`case-timeout=MS`). */
  readonly caseTimeoutMs?: number;
  /** Expected-failures file, resolved against the targets file's folder (`expected-failures=FILE`). */
  readonly expectedFailures?: string;
  /** TLS with mutual authentication: the suite's certificate, key and the peer's CA (PEM files, resolved like `expectedFailures`). */
  readonly tls?: {
    /** The suite's certificate (PEM file). */
    readonly cert: string;
    /** The suite's private key (PEM file). */
    readonly key: string;
    /** The CA that signed the peer's certificate (PEM file). */
    readonly ca: string;
  };
}

/** One endpoint of a fleet. */
export interface FleetTarget {
  /** Unique name: letters, digits, `.`, `_`, `-` (it names the target's report files). */
  readonly name: string;
  /** How the suite reaches it. */
  readonly kind: FleetTargetKind;
  /** `HOST:PORT` for connect and listen; the shell command for exec (`{port}` replaced). */
  readonly address: string;
  /** The role the peer plays: master for connect, backup for listen, either for exec. */
  readonly role: PeerRole;
  /** Its own settings. */
  readonly options: FleetTargetOptions;
}

/** A targets file that cannot be used; its message names the file and the line or entry. */
export class TargetsFileError extends Error {
  /** Always `ERR_TARGETS_FILE`: a usage error (`kkcm conformance` exits 2). */
  readonly code = 'ERR_TARGETS_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'TargetsFileError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KINDS: readonly FleetTargetKind[] = ['connect', 'listen', 'exec'];
const OPTION_KEYS = [
  'handshake-timeout',
  'timeout-scale',
  'case-timeout',
  'expected-failures',
  'tls-cert',
  'tls-key',
  'tls-ca',
] as const;

/** `HOST:PORT` (IPv6 in brackets) split, or undefined when it is not one. */
export function parseEndpoint(value: string): { host: string; port: number } | undefined {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  if (m === null || m[1] === '' || Number(m[2]) > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

/** Splits a line into words: blanks separate, quotes group, `#` outside quotes ends the line. */
function words(line: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let word = '';
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') {
      const q = line[i]!;
      if (q === '"' || q === "'") {
        const end = line.indexOf(q, i + 1);
        if (end < 0) throw new TargetsFileError(`${where}: unclosed ${q}`);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else {
        word += q;
        i++;
      }
    }
    out.push(word);
  }
  return out;
}

function number(where: string, key: string, value: unknown, integer: boolean): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new TargetsFileError(
      `${where}: ${key} wants a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** Checks one entry and makes it a {@link FleetTarget}; paths are resolved against `base`. */
function target(where: string, raw: Record<string, unknown>, base: string): FleetTarget {
  const text = (key: string): string => {
    const v = raw[key];
    if (typeof v !== 'string' || v === '') throw new TargetsFileError(`${where}: ${key} is missing`);
    return v;
  };
  const name = text('name');
  if (!NAME.test(name))
    throw new TargetsFileError(`${where}: name ${JSON.stringify(name)} may hold only letters, digits, ".", "_", "-"`);
  const kind = text('kind');
  if (!(KINDS as readonly string[]).includes(kind))
    throw new TargetsFileError(`${where}: kind wants connect, listen or exec, got ${JSON.stringify(kind)}`);
  const address = typeof raw.command === 'string' && raw.address === undefined ? raw.command : text('address');
  const role = text('role');
  if (role !== 'master' && role !== 'backup')
    throw new TargetsFileError(`${where}: role wants master or backup, got ${JSON.stringify(role)}`);
  if (kind === 'connect' && role !== 'master')
    throw new TargetsFileError(`${where}: a connect target listens, so it plays the master`);
  if (kind === 'listen' && role !== 'backup')
    throw new TargetsFileError(`${where}: a listen target connects to the suite, so it plays the backup`);
  if (kind !== 'exec' && parseEndpoint(address) === undefined)
    throw new TargetsFileError(`${where}: ${kind} wants HOST:PORT, got ${JSON.stringify(address)}`);

  const given = (raw.options ?? {}) as Record<string, unknown>;
  if (typeof given !== 'object' || Array.isArray(given)) throw new TargetsFileError(`${where}: options is not a map`);
  for (const key of Object.keys(given))
    if (!(OPTION_KEYS as readonly string[]).includes(key))
      throw new TargetsFileError(`${where}: unknown option ${key} (known: ${OPTION_KEYS.join(', ')})`);
  const path = (key: string): string | undefined => {
    const v = given[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new TargetsFileError(`${where}: ${key} wants a file name`);
    return isAbsolute(v) ? v : resolve(base, v);
  };
  const tls = [path('tls-cert'), path('tls-key'), path('tls-ca')];
  if (tls.some((f) => f !== undefined) && tls.some((f) => f === undefined))
    throw new TargetsFileError(`${where}: TLS needs tls-cert, tls-key and tls-ca together`);
  const options: FleetTargetOptions = {
    ...(given['handshake-timeout'] !== undefined
      ? { handshakeTimeoutMs: number(where, 'handshake-timeout', given['handshake-timeout'], true) }
      : {}),
    ...(given['timeout-scale'] !== undefined
      ? { timeoutScale: number(where, 'timeout-scale', given['timeout-scale'], false) }
      : {}),
    ...(given['case-timeout'] !== undefined
      ? { caseTimeoutMs: number(where, 'case-timeout', given['case-timeout'], true) }
      : {}),
    ...(given['expected-failures'] !== undefined ? { expectedFailures: path('expected-failures')! } : {}),
    ...(tls[0] !== undefined ? { tls: { cert: tls[0], key: tls[1]!, ca: tls[2]! } } : {}),
  };
  return { name, kind: kind as FleetTargetKind, address, role, options };
}

/** Entries of the line form, as raw maps. */
function lineEntries(text: string, file: string): Array<{ where: string; raw: Record<string, unknown> }> {
  const out: Array<{ where: string; raw: Record<string, unknown> }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const w = words(line, where);
    if (w.length === 0) return;
    if (w.length < 4) throw new TargetsFileError(`${where}: want "name kind address role [key=value …]"`);
    const [name, kind, address, role, ...rest] = w;
    const options: Record<string, string> = {};
    for (const kv of rest) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new TargetsFileError(`${where}: option ${JSON.stringify(kv)} is not key=value`);
      options[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    out.push({ where, raw: { name, kind, address, role, options } });
  });
  return out;
}

/** Entries of the list form (parsed JSON or YAML), as raw maps. */
function listEntries(data: unknown, file: string): Array<{ where: string; raw: Record<string, unknown> }> {
  const list =
    data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as { targets?: unknown }).targets : data;
  if (!Array.isArray(list)) throw new TargetsFileError(`${file}: want a list of targets (or { "targets": [...] })`);
  return list.map((raw: unknown, i) => {
    const where = `${file}: target ${i + 1}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new TargetsFileError(`${where} is not a map`);
    return { where, raw: raw as Record<string, unknown> };
  });
}

/**
 * Parses the text of a targets file. JSON when it starts with `[` or `{`, YAML when `file`
 * ends in `.yaml` or `.yml`, the line form otherwise. Relative file names in options are
 * resolved against the file's folder.
 *
 * @param file - the file's name, for messages and for resolving relative paths.
 * @throws TargetsFileError (ERR_TARGETS_FILE) for a malformed file, an unknown kind, role or
 *   option, a role the kind cannot play, a duplicate name, two listen targets on one
 *   address, or no target at all.
 */
export function parseTargets(text: string, file: string): FleetTarget[] {
  const base = dirname(resolve(file));
  const ext = extname(file).toLowerCase();
  let entries: Array<{ where: string; raw: Record<string, unknown> }>;
  if (/^\s*[[{]/.test(text)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new TargetsFileError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    entries = listEntries(data, file);
  } else if (ext === '.yaml' || ext === '.yml') {
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (err) {
      throw new TargetsFileError(`${file}: not valid YAML: ${(err as Error).message}`);
    }
    entries = listEntries(data, file);
  } else {
    entries = lineEntries(text, file);
  }
  const targets = entries.map(({ where, raw }) => target(where, raw, base));
  if (targets.length === 0) throw new TargetsFileError(`${file}: no target`);
  const names = new Set<string>();
  const listening = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) throw new TargetsFileError(`${file}: two targets are named ${t.name}`);
    names.add(t.name);
    // Parallel listen targets each need their own address; port 0 picks a fresh one each time.
    const ep = t.kind === 'listen' ? parseEndpoint(t.address)! : undefined;
    if (ep !== undefined && ep.port !== 0) {
      const key = `${ep.host}:${ep.port}`;
      if (listening.has(key)) throw new TargetsFileError(`${file}: two listen targets on ${key}`);
      listening.add(key);
    }
  }
  return targets;
}

/**
 * Reads and parses a targets file ({@link parseTargets}).
 *
 * @throws TargetsFileError (ERR_TARGETS_FILE) when the file cannot be read or used.
 */
export function loadTargets(file: string): FleetTarget[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TargetsFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTargets(text, file);
}
