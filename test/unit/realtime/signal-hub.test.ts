/**
 * SignalHub on the in-memory bus with fake sockets: who hears whom, vendor replacement, the
 * announcements of vendors and viewers, and the end of a session. Two hubs on one bus play two
 * instances.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBus } from '../../../src/realtime/bus-memory.js';
import { Peer } from '../../../src/realtime/peer.js';
import { SignalHub, type SignalPeer } from '../../../src/realtime/signal-hub.js';
import { CountingBus } from '../support/counting-bus.js';
import { FakeSocket } from '../support/fake-socket.js';
import { endedSession } from '../support/sessions.js';
import { recordingLog } from '../support/log.js';

const S = '00000000-0000-4000-8000-000000000001';
const MAX = 1000;

function instance(bus = new MemoryBus()) {
  const log = recordingLog();
  return { hub: new SignalHub(bus, log), bus, log };
}

function signalPeer(role: SignalPeer['role'], peerId: string) {
  const socket = new FakeSocket();
  const me: SignalPeer = {
    peerId,
    role,
    userId: `user-${peerId}`,
    userName: `Name ${peerId}`,
    peer: new Peer(socket.ws, { maxBufferedBytes: MAX }, () => undefined),
  };
  return { me, socket };
}

const offer = (from: string) => JSON.stringify({ type: 'offer', sdp: 'v=0', from });
const offers = (socket: FakeSocket) => socket.ofType('offer');

/** A session with a vendor and two viewers on one instance, announcements cleared. */
function room() {
  const { hub, bus, log } = instance();
  const vendor = signalPeer('vendor', 'V');
  const a = signalPeer('viewer', 'A');
  const b = signalPeer('viewer', 'B');
  hub.join(S, vendor.me);
  hub.join(S, a.me);
  hub.join(S, b.me);
  for (const p of [vendor, a, b]) p.socket.writes.length = 0;
  return { hub, bus, log, vendor, a, b };
}

describe('SignalHub relaying', () => {
  test('a frame to the vendor reaches the vendor and no viewer', () => {
    const { hub, vendor, a, b } = room();
    hub.relay(S, 'vendor', offer('A'));
    assert.deepEqual(offers(vendor.socket), [JSON.parse(offer('A'))]);
    assert.deepEqual([offers(a.socket), offers(b.socket)], [[], []]);
  });

  test('a frame to one peer reaches that viewer only', () => {
    const { hub, vendor, a, b } = room();
    hub.relay(S, { peer: 'B' }, offer('V'));
    assert.equal(offers(b.socket).length, 1);
    assert.deepEqual([offers(vendor.socket), offers(a.socket)], [[], []]);
  });

  test('a frame to the viewers reaches every viewer and not the vendor', () => {
    const { hub, vendor, a, b } = room();
    hub.relay(S, 'viewers', offer('V'));
    assert.equal(offers(a.socket).length, 1);
    assert.equal(offers(b.socket).length, 1);
    assert.deepEqual(offers(vendor.socket), []);
  });

  test('a frame to an unknown peer reaches nobody', () => {
    const { hub, vendor, a, b } = room();
    hub.relay(S, { peer: 'nobody' }, offer('V'));
    for (const p of [vendor, a, b]) assert.deepEqual(offers(p.socket), []);
  });

  test('a frame reaches a viewer connected to another instance', () => {
    const here = instance();
    const there = instance(here.bus);
    const vendor = signalPeer('vendor', 'V');
    const a = signalPeer('viewer', 'A');
    here.hub.join(S, vendor.me);
    there.hub.join(S, a.me);
    here.hub.relay(S, { peer: 'A' }, offer('V'));
    assert.equal(offers(a.socket).length, 1);
  });

  test('relayed frames keep their order', () => {
    const { hub, vendor } = room();
    for (let i = 0; i < 5; i++) hub.relay(S, 'vendor', JSON.stringify({ type: 'candidate', i, from: 'A' }));
    assert.deepEqual(
      vendor.socket.ofType('candidate').map((m) => m.i),
      [0, 1, 2, 3, 4],
    );
  });

  test('a frame that would overfill its target is dropped and logged; the target stays', () => {
    const { hub, log, a } = room();
    a.socket.bufferedAmount = MAX / 2;
    hub.relay(S, { peer: 'A' }, offer('V'));
    assert.deepEqual(offers(a.socket), []);
    assert.equal(a.socket.terminated, false);
    assert.equal(log.warnings.length, 1);
  });

  test('vendorOf names the vendor peer this instance heard of', () => {
    const { hub } = room();
    assert.equal(hub.vendorOf(S), 'V');
    assert.equal(hub.vendorOf('00000000-0000-4000-8000-000000000002'), undefined);
  });
});

describe('SignalHub announcements', () => {
  test('the vendor hears peer_joined for a viewer that joins', () => {
    const { hub } = instance();
    const vendor = signalPeer('vendor', 'V');
    hub.join(S, vendor.me);
    hub.join(S, signalPeer('viewer', 'A').me);
    assert.deepEqual(vendor.socket.ofType('peer_joined'), [
      { type: 'peer_joined', peer_id: 'A', user_id: 'user-A', user_name: 'Name A' },
    ]);
  });

  test('a vendor that joins hears peer_joined for each viewer already there (roll call)', () => {
    const { hub } = instance();
    hub.join(S, signalPeer('viewer', 'A').me);
    hub.join(S, signalPeer('viewer', 'B').me);
    const vendor = signalPeer('vendor', 'V');
    hub.join(S, vendor.me);
    assert.deepEqual(
      vendor.socket.ofType('peer_joined').map((m) => m.peer_id),
      ['A', 'B'],
    );
  });

  test('the roll call reaches viewers on other instances', () => {
    const here = instance();
    const there = instance(here.bus);
    there.hub.join(S, signalPeer('viewer', 'A').me);
    const vendor = signalPeer('vendor', 'V');
    here.hub.join(S, vendor.me);
    assert.deepEqual(
      vendor.socket.ofType('peer_joined').map((m) => m.peer_id),
      ['A'],
    );
  });

  test('the vendor hears peer_left when a viewer leaves', () => {
    const { hub, vendor, a } = room();
    hub.leave(S, a.me);
    assert.deepEqual(vendor.socket.messages(), [{ type: 'peer_left', peer_id: 'A' }]);
  });

  test('viewers hear vendor_joined when the vendor joins', () => {
    const { hub } = instance();
    const a = signalPeer('viewer', 'A');
    hub.join(S, a.me);
    hub.join(S, signalPeer('vendor', 'V').me);
    assert.deepEqual(a.socket.messages(), [{ type: 'vendor_joined', peer_id: 'V' }]);
  });

  test('a viewer joining after the vendor hears vendor_joined once', () => {
    const { hub } = instance();
    hub.join(S, signalPeer('vendor', 'V').me);
    const a = signalPeer('viewer', 'A');
    hub.join(S, a.me);
    assert.deepEqual(a.socket.messages(), [{ type: 'vendor_joined', peer_id: 'V' }]);
  });

  test('viewers hear vendor_left when the vendor leaves', () => {
    const { hub, vendor, a, b } = room();
    hub.leave(S, vendor.me);
    for (const p of [a, b]) assert.deepEqual(p.socket.messages(), [{ type: 'vendor_left', peer_id: 'V' }]);
    assert.equal(hub.vendorOf(S), undefined);
  });

  test('viewers hear nothing of each other', () => {
    const { hub } = instance();
    const a = signalPeer('viewer', 'A');
    hub.join(S, a.me);
    const b = signalPeer('viewer', 'B');
    hub.join(S, b.me);
    hub.leave(S, b.me);
    assert.deepEqual(a.socket.messages(), []);
  });
});

describe('SignalHub vendor replacement', () => {
  test('a newer vendor connection closes the older one with 4409', () => {
    const { hub, vendor } = room();
    hub.join(S, signalPeer('vendor', 'V2').me);
    assert.equal(vendor.socket.closed?.code, 4409);
  });

  test('a vendor replaced on another instance is closed with 4409', () => {
    const here = instance();
    const there = instance(here.bus);
    const old = signalPeer('vendor', 'V');
    here.hub.join(S, old.me);
    there.hub.join(S, signalPeer('vendor', 'V2').me);
    assert.equal(old.socket.closed?.code, 4409);
  });

  test('the replaced vendor leaves without vendor_left; viewers hear the new vendor', () => {
    const { hub, vendor, a } = room();
    hub.join(S, signalPeer('vendor', 'V2').me);
    hub.leave(S, vendor.me);
    assert.deepEqual(a.socket.messages(), [{ type: 'vendor_joined', peer_id: 'V2' }]);
    assert.equal(hub.vendorOf(S), 'V2');
  });

  test('the new vendor hears peer_joined for the viewers already there', () => {
    const { hub } = room();
    const v2 = signalPeer('vendor', 'V2');
    hub.join(S, v2.me);
    assert.deepEqual(
      v2.socket.ofType('peer_joined').map((m) => m.peer_id),
      ['A', 'B'],
    );
  });

  test('frames to the vendor reach the new vendor only', () => {
    const { hub, vendor } = room();
    const v2 = signalPeer('vendor', 'V2');
    hub.join(S, v2.me);
    hub.relay(S, 'vendor', offer('A'));
    assert.equal(offers(v2.socket).length, 1);
    assert.deepEqual(offers(vendor.socket), []);
  });
});

describe('SignalHub session end', () => {
  const ended = endedSession(S);

  test('every peer gets session_ended, then a 1000 close', () => {
    const { hub, vendor, a, b } = room();
    hub.sessionEnded(ended);
    for (const p of [vendor, a, b]) {
      const [message, ...rest] = p.socket.messages();
      assert.deepEqual(rest, []);
      assert.equal(message.type, 'session_ended');
      assert.equal(message.session_id, S);
      assert.equal(message.ended_at, ended.ended_at);
      assert.equal(p.socket.closed?.code, 1000);
      assert.equal(p.socket.closed?.afterWrites, 1);
    }
  });

  test('close() closes every peer with 1012', () => {
    const { hub, vendor, a } = room();
    hub.close();
    assert.deepEqual([vendor.socket.closed?.code, a.socket.closed?.code], [1012, 1012]);
  });

  test("an ended session's room unsubscribes from the bus", () => {
    const bus = new CountingBus();
    const { hub } = instance(bus);
    hub.join(S, signalPeer('vendor', 'V').me);
    hub.sessionEnded(ended);
    assert.equal(bus.subscriptions, 0);
  });

  test('a room whose last peer left unsubscribes from the bus', () => {
    const bus = new CountingBus();
    const { hub } = instance(bus);
    const vendor = signalPeer('vendor', 'V');
    const a = signalPeer('viewer', 'A');
    hub.join(S, vendor.me);
    hub.join(S, a.me);
    hub.leave(S, a.me);
    assert.equal(bus.subscriptions, 1, 'the vendor is still there');
    hub.leave(S, vendor.me);
    assert.equal(bus.subscriptions, 0);
  });
});
