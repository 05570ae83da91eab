import t from 'tap';
import { decodeMessage, encodeMessage } from '../src/index.js';

t.test('encodes and decodes an ACK', async (t) => {
  const b = encodeMessage({ name: 'control.ack', seq: 3, body: { upTo: 9 } });
  const m = decodeMessage(b);
  t.equal(m.name, 'control.ack');
  t.same(m.body, { upTo: 9 });
});
