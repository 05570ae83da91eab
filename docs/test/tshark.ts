/**
 * Test helpers for the dissector: run tshark with the generated dissector and read its JSON
 * output back as one field map per message, and derive from a golden vector's JSON form
 * every field tshark must show.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import {
  loadSpec,
  packageRoot,
  SpecModel,
  type FieldSpec,
  type Vector,
  type VectorJson,
  type VectorMessage,
} from '../../spec/src/index.js';
import { dissectorFieldName, DISSECTOR_PATH } from '../tools/dissector.js';

/** The committed dissector. */
export const luaPath = join(packageRoot(), DISSECTOR_PATH);
const model = new SpecModel(loadSpec());

/** Why tshark cannot run here (the skip reason of the tshark tests), or false when it can. */
export function tsharkMissing(): string | false {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  return r.error !== undefined || r.status !== 0
    ? 'tshark is not installed (Debian: apt-get install tshark): the dissector is not run'
    : false;
}

/** One jsripc tree tshark printed: one message. */
export interface Decoded {
  readonly frame: number;
  readonly stream: number;
  /** Sent by the side that is not on the server port. */
  readonly fromClient: boolean;
  /** The port of the side that is not the server. */
  readonly clientPort: number;
  /** Every field in tree order, values as tshark printed them. */
  readonly fields: Map<string, string[]>;
  /** Expert info names (`jsripc.expert.bad_magic`). */
  readonly experts: string[];
}

/** What one tshark run printed. */
export interface Run {
  readonly messages: Decoded[];
  /** Frames carrying a Lua error or the dissector's own bug report, with the text around it. */
  readonly luaErrors: string[];
  /** Frames Wireshark marks malformed (our MALFORMED expert infos do, so do exceptions). */
  readonly malformed: number[];
  readonly stderr: string;
  readonly status: number | null;
}

type JsonNode = string | JsonNode[] | { [key: string]: JsonNode };

function flatten(node: JsonNode, fields: Map<string, string[]>, experts: string[]): void {
  if (typeof node === 'string' || Array.isArray(node)) return;
  for (const [key, value] of Object.entries(node)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (key.startsWith('jsripc.expert.')) experts.push(key);
      if (typeof v === 'string') fields.set(key, [...(fields.get(key) ?? []), v]);
      else {
        // An item with children: `<field>_tree` holds a field's children; an FT_NONE field
        // or a text item is the key itself.
        if (!key.endsWith('_tree')) fields.set(key, [...(fields.get(key) ?? []), '']);
        flatten(v, fields, experts);
      }
    }
  }
}

/**
 * Runs tshark with a dissector (the committed one unless `lua` names another file) over a
 * capture; `-o` preferences as `name:value`.
 */
export function tshark(capture: string, prefs: readonly string[] = [], serverPort = 7000, lua = luaPath): Run {
  const r = spawnSync(
    'tshark',
    ['-X', `lua_script:${lua}`, '-r', capture, '-T', 'json', '--no-duplicate-keys', ...prefs.flatMap((p) => ['-o', p])],
    {
      encoding: 'utf8',
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  const packets = JSON.parse(r.stdout === '' ? '[]' : r.stdout) as { _source: { layers: Record<string, JsonNode> } }[];
  const messages: Decoded[] = [];
  const luaErrors: string[] = [];
  const malformed: number[] = [];
  for (const p of packets) {
    const layers = p._source.layers;
    const frame = Number((layers.frame as Record<string, string>)['frame.number']);
    const text = JSON.stringify(layers);
    const lua = /.{0,120}(_ws\.lua\.error|Lua Error|jsripc\.expert\.dissector_bug).{0,200}/.exec(text);
    if (lua !== null) luaErrors.push(`frame ${frame}: ${lua[0]}`);
    if (text.includes('"_ws.malformed"')) malformed.push(frame);
    if (layers.jsripc === undefined) continue;
    const tcp = layers.tcp as Record<string, string>;
    const fromClient = Number(tcp['tcp.srcport']) !== serverPort;
    const clientPort = Number(fromClient ? tcp['tcp.srcport'] : tcp['tcp.dstport']);
    for (const tree of Array.isArray(layers.jsripc) ? layers.jsripc : [layers.jsripc]) {
      const fields = new Map<string, string[]>();
      const experts: string[] = [];
      flatten(tree, fields, experts);
      messages.push({ frame, stream: Number(tcp['tcp.stream']), fromClient, clientPort, fields, experts });
    }
  }
  return { messages, luaErrors, malformed, stderr: r.stderr, status: r.status };
}

/** tshark's stderr without the warning it prints when run as root. */
const stderrOf = (run: Run): string =>
  run.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^Running as user "root"/.test(l))
    .join('\n');

/** tshark ran and the dissector never failed; `valid` also wants no frame marked malformed. */
export function checkClean(t: Test, run: Run, what: string, valid = true): void {
  t.equal(run.status, 0, `${what}: tshark exits 0`);
  t.equal(stderrOf(run), '', `${what}: tshark prints nothing on stderr`);
  t.same(run.luaErrors, [], `${what}: no Lua error, no dissector bug`);
  if (valid) t.same(run.malformed, [], `${what}: no frame is malformed`);
}

// ------------------------------------------------------------------ what tshark must print

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Names of the byte-string fields, whose values tshark prints with colons. */
const bytesFields = new Set<string>();
(function collectBytesFields(): void {
  const walk = (message: string, fields: readonly FieldSpec[], path: readonly string[]): void => {
    for (const f of fields) {
      const p = [...path, f.name];
      if (f.type === 'bytes' || f.type === 'reserved') bytesFields.add(dissectorFieldName(message, p));
      if (f.type === 'array') walk(message, model.struct(f.items ?? '').fields, p);
      if (f.type === 'struct') walk(message, model.struct(f.struct ?? '').fields, p);
    }
  };
  for (const m of model.messages) walk(m.name, m.fields, []);
})();

/** A printed value in comparable form: hex numbers in decimal, byte strings without separators. */
function canon(key: string, value: string): string {
  if (/^0x[0-9a-f]+$/i.test(value)) return BigInt(value).toString();
  if (key === 'jsripc.body' || bytesFields.has(key)) return value.replace(/:/g, '');
  return value;
}

/** The fields tshark must show for a body in the vectors' JSON form, derived and reserved ones included. */
function bodyFields(
  message: string,
  fields: readonly FieldSpec[],
  value: { [key: string]: VectorJson },
  path: readonly string[],
  out: Map<string, string[]>,
): void {
  const add = (name: string, v: string): void => {
    out.set(name, [...(out.get(name) ?? []), v]);
  };
  for (const f of fields) {
    const p = [...path, f.name];
    const name = dissectorFieldName(message, p);
    const v = value[f.name];
    if (f.type === 'reserved') add(name, '00'.repeat(f.size ?? 0));
    else if (f.derived?.lengthOf !== undefined) {
      const target = fields.find((x) => x.name === f.derived?.lengthOf);
      const of = value[f.derived.lengthOf] as string;
      add(name, String(target?.type === 'string' ? Buffer.byteLength(of, 'utf8') : of.length / 2));
    } else if (f.derived?.countOf !== undefined) add(name, String((value[f.derived.countOf] as VectorJson[]).length));
    else if (f.type === 'enum') {
      const named = model.spec.enums[f.enum ?? '']?.values.find((x) => x.name === v);
      add(name, String(named?.value ?? v));
    } else if (f.type === 'array') {
      add(name, '');
      for (const item of v as { [key: string]: VectorJson }[])
        bodyFields(message, model.struct(f.items ?? '').fields, item, p, out);
    } else if (f.type === 'struct') {
      add(name, '');
      bodyFields(message, model.struct(f.struct ?? '').fields, v as { [key: string]: VectorJson }, p, out);
    } else add(name, String(v));
  }
}

/** Every field tshark must show for a message, from its JSON form and its bytes. */
export function expectedFields(msg: VectorMessage, bytes: Uint8Array): Record<string, string[]> {
  const h = msg.header;
  const out = new Map<string, string[]>([
    ['jsripc.magic', [String(model.spec.header.magic)]],
    ['jsripc.version', [String(h.version)]],
    ['jsripc.flags', [String(h.flags)]],
    ...model.spec.flags.map((f): [string, string[]] => [
      `jsripc.flags.${f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
      [(h.flags & f.mask) !== 0 ? '1' : '0'],
    ]),
    ['jsripc.flags.reserved', [String(h.flags & ~model.spec.flags.reduce((m, f) => m | f.mask, 0) & 0xff)]],
    ['jsripc.type', [String(h.type)]],
    ['jsripc.subtype', [String(h.subtype)]],
    ['jsripc.length', [String(h.length)]],
    ['jsripc.seq', [String(h.seq)]],
    ['jsripc.body', [hex(bytes.subarray(16, h.length))]],
  ]);
  if (msg.name !== null) {
    out.set('jsripc.msg', [msg.name]);
    bodyFields(msg.name, model.message(msg.name)!.fields, msg.body as { [key: string]: VectorJson }, [], out);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** The fields tshark showed that a vector's JSON can say something about. */
export function shownFields(d: Decoded): Record<string, string[]> {
  const out: [string, string[]][] = [];
  for (const [key, values] of d.fields) {
    if (!key.startsWith('jsripc.') || key.startsWith('jsripc.expert.') || key === 'jsripc.channel') continue;
    out.push([key, values.map((v) => canon(key, v))]);
  }
  return Object.fromEntries(out.sort(([a], [b]) => a.localeCompare(b)));
}

/** Messages of a vector, each with its bytes. */
export function messagesOf(
  v: Vector & { expect: { messages: VectorMessage[] } },
): { msg: VectorMessage; bytes: Uint8Array }[] {
  const all = Buffer.from(v.hex, 'hex');
  let at = 0;
  return v.expect.messages.map((msg) => {
    const bytes = all.subarray(at, at + msg.header.length);
    at += msg.header.length;
    return { msg, bytes };
  });
}

/** The client-side messages of each stream, in order. */
export function byStream(run: Run): Map<number, Decoded[]> {
  const out = new Map<number, Decoded[]>();
  for (const m of run.messages) if (m.fromClient) out.set(m.stream, [...(out.get(m.stream) ?? []), m]);
  return out;
}

/** Compares the messages tshark showed on a stream with the vectors' expected messages. */
export function compareStream(
  t: Test,
  label: string,
  shown: readonly Decoded[],
  expected: readonly { id: string; msg: VectorMessage; bytes: Uint8Array }[],
  allowedExperts: (i: number) => readonly string[],
): void {
  t.equal(shown.length, expected.length, `${label}: ${expected.length} messages`);
  expected.forEach((e, i) => {
    const d = shown[i];
    if (d === undefined) return;
    t.same(shownFields(d), expectedFields(e.msg, e.bytes), `${label}: ${e.id} message ${i} has every field right`);
    const wanted = [...allowedExperts(i), ...(e.msg.name === null ? ['jsripc.expert.skipped'] : [])].sort();
    t.same([...d.experts].sort(), wanted, `${label}: ${e.id} message ${i} expert infos`);
  });
}
