// Keeps `npm run bench` alive: every end-to-end case and every codec case runs in smoke mode
// (tiny sizes, short runs, a one-second stall), worker processes and all, and the report has
// every required ratio. Timing is never asserted: numbers from a smoke run mean nothing.
import t from 'tap';
import { runBench } from '../run.js';

const E2E_RATIOS = [
  'e2e_64_vs_raw',
  'e2e_256_vs_raw',
  'e2e_1500_vs_raw',
  'e2e_64k_vs_raw',
  'rtt_p50_vs_raw',
  'rtt_p99_vs_raw',
  'scale_handles_100k_vs_1',
  'scale_clients_4_vs_1',
  'stalled_rss_mib',
];

const CODEC_RATIOS = [
  'decode_vs_handwritten',
  'decode_vs_binary_parser',
  'decode_vs_protobufjs',
  'encode_vs_handwritten',
  'encode_vs_protobufjs',
  'framer1460_vs_decode',
];

t.test('the benchmark runs every case in smoke mode and reports every ratio', async (t) => {
  // runBench checks first that the raw baseline sends exactly the bytes the codec encodes;
  // a drifted baseline, a link that drops or a worker that stops answering throws here.
  const report = await runBench({ smoke: true });
  t.equal(report.mode, 'smoke');
  for (const key of [...E2E_RATIOS, ...CODEC_RATIOS]) {
    const value: unknown = report.ratios[key];
    t.ok(typeof value === 'number' && Number.isFinite(value), `${key} is a finite number`);
  }
  for (const key of [...E2E_RATIOS, ...CODEC_RATIOS]) {
    const spread = report.spreads[key];
    t.ok(
      spread !== undefined && spread.min <= report.ratios[key]! && report.ratios[key]! <= spread.max,
      `${key}: its spread over the rounds holds the median`,
    );
  }
  t.ok(Array.isArray(report.warnings), 'says whether the machine was busy');
  for (const c of report.cases) {
    if (c.suite !== 'e2e' || c.type !== 'rtt') continue;
    t.equal(c.roundP99Us.length, c.roundP50Us.length, `${c.id}: a p50 and a p99 per round`);
    t.ok(c.tail.withGc <= c.tail.pings, `${c.id}: the slow pings with a collection are some of the slow pings`);
    for (const side of [c.sides.a, c.sides.b])
      t.ok(side.immediate.count > 0, `${c.id}: the flush scheduling was timed (every ping is flushed in an immediate)`);
  }
  for (const [key, value] of Object.entries(report.informational))
    t.ok(Number.isFinite(value), `informational ${key} is finite`);
  t.same(Object.keys(report.met).sort(), Object.keys(report.targets).sort(), 'every target has a verdict');

  const ids = report.cases.map((c) => ('id' in c ? c.id : ''));
  for (const id of [
    'kkcm e2e/prl.packet 64B',
    'raw e2e/prl.packet 256B',
    'kkcm e2e-send-promise/prl.packet 256B',
    'kkcm e2e/prl.packet 1500B',
    'raw e2e/prl.packet 64KiB',
    'kkcm rtt/prl.opaque 64B',
    'raw rtt/prl.opaque 64B',
    'kkcm scale/handles 100000/prl.packet 256B',
    'kkcm scale/clients 4/prl+sdrl+iha+psrm',
    'kkcm stall/prl.packet 64KiB',
    'raw stall/prl.packet 64KiB',
    'kkcm e2e-default-heap/prl.packet 64KiB',
    'kkcm decode/prl.packet 256B',
  ]) {
    t.ok(ids.includes(id), `has case ${id}`);
  }
  for (const c of report.cases) {
    if (c.suite === 'e2e' && c.type === 'stall') {
      t.ok(c.survived, `${c.id}: the link carried traffic again after the stall`);
      t.ok(c.queueMaxMiB <= c.queueLimitMiB, `${c.id}: the output queue stayed within its bound`);
    }
  }
  t.equal(typeof report.machine.node, 'string', 'names the machine it ran on');
  t.doesNotThrow(() => JSON.parse(JSON.stringify(report)), 'the report serialises to one JSON object');
});
