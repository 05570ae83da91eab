// Keeps the codec benchmark alive: every case runs a handful of iterations (smoke mode) and the
// report has every required ratio. Timing is never asserted: numbers from a smoke run mean nothing.
import t from 'tap';
import { runCodecBench } from '../bench/codec-bench.js';

const REQUIRED_RATIOS = [
  'decode_vs_handwritten',
  'decode_vs_binary_parser',
  'decode_vs_protobufjs',
  'encode_vs_handwritten',
  'encode_vs_protobufjs',
  'framer1460_vs_decode',
];

t.test('the benchmark runs every case in smoke mode and reports every required ratio', async (t) => {
  // runCodecBench checks first that every baseline decodes and encodes what ours does; a
  // baseline that drifted from the codec throws here.
  const report = runCodecBench({ smoke: true });
  t.equal(report.mode, 'smoke');
  for (const key of REQUIRED_RATIOS) {
    const value: unknown = (report.ratios as unknown as Record<string, unknown>)[key];
    t.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `${key} is a finite positive number`);
  }
  const ids = report.cases.map((c) => c.id);
  for (const id of [
    'kkcm decode/control.ack',
    'handwritten decode/prl.packet 256B',
    'binary-parser decode/prl.packet 256B',
    'protobufjs encode/prl.packet 256B',
    'kkcm framer1460+decode/prl.packet 256B',
  ]) {
    t.ok(ids.includes(id), `has case ${id}`);
  }
  t.ok(
    report.cases.every((c) => Number.isFinite(c.opsPerSec) && c.opsPerSec > 0),
    'every case measured a finite rate',
  );
  t.equal(typeof report.machine.node, 'string', 'names the machine it ran on');
  // The generated C codec on the same messages, built with gcc -O2; left out with a reason without gcc.
  if (report.c.available) {
    for (const id of ['c decode/control.ack', 'c encode/prl.packet 256B', 'c framer1460+decode/prl.packet 256B'])
      t.ok(ids.includes(id), `has case ${id}`);
    const cVsTs = Object.values(report.c.cVsTs);
    t.ok(cVsTs.length === 7 && cVsTs.every((r) => Number.isFinite(r) && r > 0), 'seven finite C / TypeScript ratios');
  } else {
    console.log(`# no C columns: ${report.c.reason}`);
    t.match(report.c.reason, /not found/, 'says why the C columns are left out');
  }
});

t.test('the report serialises to one JSON object', async (t) => {
  const report = runCodecBench({ smoke: true, c: false });
  const parsed = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  t.same(Object.keys(parsed.ratios as object).sort(), [...REQUIRED_RATIOS].sort());
  t.ok(Array.isArray(parsed.cases));
  t.type(parsed.machine, 'object');
});
