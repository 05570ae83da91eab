import t from 'tap';
import { PeerError, type PeerEvent } from '../src/index.js';
import { compileTraceFilter, messageNameOf, parseTraceFilter, type TracedMessage } from '../src/trace/filter.js';

const msg = (over: Partial<TracedMessage> = {}): TracedMessage => ({
  direction: 'tx',
  channel: 'receive',
  type: 0x20,
  name: 'prl.packet',
  ...over,
});
const txEvent = (
  type: number,
  subtype: number,
  channel: 'send' | 'receive' = 'send',
): Extract<PeerEvent, { event: 'tx' }> => ({
  event: 'tx',
  channel,
  type,
  subtype,
  seq: 0,
  length: 16,
  name: messageNameOf(type, subtype),
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PeerError ? err.code : `not a PeerError: ${String(err)}`;
  }
  return undefined;
}

t.test('parses type lists in hex, decimal and by type name', async (t) => {
  t.same(parseTraceFilter('type=0x20,0x7f'), { types: [0x20, 0x7f] });
  t.same(parseTraceFilter('type=32'), { types: [32] });
  t.same(parseTraceFilter('type=prl,control'), { types: [0x20, 0x01] });
});

t.test('parses names, events and channels, separated by spaces or semicolons', async (t) => {
  t.same(parseTraceFilter('name=prl.*'), { names: ['prl.*'] });
  t.same(parseTraceFilter('event=tx,rx,session-up;channel=receive'), {
    events: ['tx', 'rx', 'session-up'],
    channels: ['receive'],
  });
  t.same(parseTraceFilter('events=tx  names=control.hello*'), { events: ['tx'], names: ['control.hello*'] });
});

t.test('merges repeated keys and repeated flag strings', async (t) => {
  t.same(parseTraceFilter(['type=0x20', 'type=0x7f name=control.ack']), {
    types: [0x20, 0x7f],
    names: ['control.ack'],
  });
});

t.test('keeps everything for an empty string', async (t) => {
  t.same(parseTraceFilter(''), {});
  const m = compileTraceFilter(parseTraceFilter('  '));
  t.ok(m.acceptsEvent({ event: 'peer-up' }));
  t.ok(m.acceptsMessage(msg()));
});

t.test('rejects malformed filters with ERR_BAD_INPUT', async (t) => {
  for (const bad of [
    'type',
    'type=',
    'type=0x20,',
    'type=256',
    'type=0x100',
    'type=-1',
    'type=nope',
    'colour=red',
    'event=sesion-up',
    'channel=both',
    'name=prl.pakcet',
    'name=',
  ]) {
    t.equal(
      codeOf(() => parseTraceFilter(bad)),
      'ERR_BAD_INPUT',
      bad,
    );
  }
});

t.test('rejects type numbers out of range in a filter object', async (t) => {
  t.equal(
    codeOf(() => compileTraceFilter({ types: [300] })),
    'ERR_BAD_INPUT',
  );
  t.equal(
    codeOf(() => compileTraceFilter({ types: [1.5] })),
    'ERR_BAD_INPUT',
  );
});

t.test('selects a message by type number or by name glob, either one sufficing', async (t) => {
  const m = compileTraceFilter({ types: [0x7f], names: ['control.hello*'] });
  t.ok(m.acceptsMessage(msg({ type: 0x7f, name: 'probe.echo' })), 'by type');
  t.ok(m.acceptsMessage(msg({ type: 0x01, name: 'control.helloAck' })), 'by name');
  t.notOk(m.acceptsMessage(msg({ type: 0x01, name: 'control.ack' })), 'neither');
  t.notOk(m.acceptsMessage(msg()), 'prl is not selected');
});

t.test('matches a name glob against the whole name, with * and ? only', async (t) => {
  const m = compileTraceFilter({ names: ['prl.packet'] });
  t.ok(m.acceptsMessage(msg({ name: 'prl.packet' })));
  t.notOk(m.acceptsMessage(msg({ name: 'prl.packetDrop' })), 'no implicit prefix match');
  const q = compileTraceFilter({ names: ['prl.pac?et*'] });
  t.ok(q.acceptsMessage(msg({ name: 'prl.packetDrop' })));
  t.notOk(q.acceptsMessage(msg({ name: 'prlXpacket' })), 'the dot is literal');
});

t.test('lets an unknown message through only by its type number', async (t) => {
  t.notOk(compileTraceFilter({ names: ['*'] }).acceptsMessage(msg({ type: 0x55, name: null })));
  t.ok(compileTraceFilter({ types: [0x55] }).acceptsMessage(msg({ type: 0x55, name: null })));
});

t.test('applies message selectors to tx and rx only, and event names to all events', async (t) => {
  const m = compileTraceFilter(parseTraceFilter('type=0x20'));
  t.ok(
    m.acceptsEvent({ event: 'session-up', sessionId: '1', version: 1, role: 'master', features: 0 }),
    'other events pass',
  );
  t.notOk(m.acceptsEvent(txEvent(0x01, 0x01)), 'control tx is filtered out');
  t.ok(m.acceptsEvent(txEvent(0x20, 0x01, 'receive')), 'prl tx passes');

  const e = compileTraceFilter(parseTraceFilter('event=rx,cleanup'));
  t.notOk(e.acceptsEvent(txEvent(0x20, 0x01)), 'tx left out');
  t.ok(e.acceptsEvent({ ...txEvent(0x20, 0x01), event: 'rx' }));
  t.ok(e.acceptsEvent({ event: 'cleanup', client: 'prl', reason: 'peerDown', detail: 'none', sessionId: '1' }));
  t.notOk(e.acceptsEvent({ event: 'peer-up' }));
  t.notOk(e.acceptsMessage(msg({ direction: 'tx' })), 'the direction counts for messages too');
});

t.test('restricts messages to the given channels', async (t) => {
  const m = compileTraceFilter({ channels: ['send'] });
  t.ok(m.acceptsMessage(msg({ channel: 'send' })));
  t.notOk(m.acceptsMessage(msg({ channel: 'receive' })));
  t.ok(m.acceptsEvent({ event: 'peer-down' }), 'non-message events are not affected');
});

t.test('names messages from the spec by type and subtype', async (t) => {
  t.equal(messageNameOf(0x01, 0x01), 'control.hello');
  t.equal(messageNameOf(0x20, 0x02), 'prl.packetDrop');
  t.equal(messageNameOf(0x20, 0xee), null);
});
