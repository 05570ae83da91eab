/**
 * `encodeSplit`: a message whose body ends with a variable-length bytes field, encoded as a
 * head and the caller's own bytes, is exactly `encodeMessage`'s bytes when the two are written
 * one after the other; the tail is not copied; the checks and errors are `encodeMessage`'s.
 */
import t from 'tap';
import { SpecModel, loadSpec } from '../../spec/src/index.js';
import { encodeMessage, encodeSplit, toHex, type MessageInput } from '../src/index.js';
import { arbitraryMessage } from './arbitraries.js';
import { holds } from './support.js';

const model = new SpecModel(loadSpec());
const last = (name: string): { type: string; name: string } | undefined => {
  const fields = model.messages.find((m) => m.name === name)!.fields;
  return fields[fields.length - 1];
};
const splittable = model.messages.filter((m) => last(m.name)?.type === 'bytes').map((m) => m.name);
const whole = model.messages.filter((m) => !splittable.includes(m.name)).map((m) => m.name);

t.test('head + tail are the encoded message, for every message ending in a bytes field', async (t) => {
  t.ok(
    splittable.includes('prl.packet') && splittable.includes('sdrl.socketData'),
    'PACKET and SOCKET-DATA among them',
  );
  for (const name of splittable) {
    holds(
      t,
      `${name}: head then tail = encodeMessage`,
      arbitraryMessage(model, [name]),
      (msg) => {
        const split = encodeSplit(msg)!;
        const field = last(name)!.name;
        const tail = (msg.body as unknown as Record<string, Uint8Array>)[field];
        return split.tail === tail && toHex(Buffer.concat([split.head, split.tail])) === toHex(encodeMessage(msg));
      },
      100,
    );
  }
});

t.test('undefined for a message that does not end in a bytes field', async (t) => {
  for (const name of whole)
    holds(t, `${name}: no split`, arbitraryMessage(model, [name]), (msg) => encodeSplit(msg) === undefined, 20);
});

t.test("the same refusals as encodeMessage: the peer's limit, bad values", async (t) => {
  const big: MessageInput = {
    name: 'prl.packet',
    body: { handle: 1, direction: 1, ifIndex: 3, timestampNs: 1n, packet: new Uint8Array(5000) },
  };
  t.throws(() => encodeSplit(big, { maxMessage: 4096 }), { code: 'ERR_FRAME_TOO_LARGE' });
  t.throws(() => encodeMessage(big, { maxMessage: 4096 }), { code: 'ERR_FRAME_TOO_LARGE' });
  const bad = { ...big, body: { ...big.body, handle: -1 } } as MessageInput;
  t.throws(() => encodeSplit(bad), { code: 'ERR_VALUE_OUT_OF_RANGE' });
  const noBytes = { ...big, body: { ...big.body, packet: 'x' } } as unknown as MessageInput;
  t.throws(() => encodeSplit(noBytes), { code: 'ERR_INVALID_VALUE' });
});
