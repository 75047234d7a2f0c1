/** Peer: the bound on unsent bytes, relaying, holding a peer behind its opening, and the heartbeat. */
import assert from 'node:assert/strict';
import { afterEach, describe, mock, test } from 'node:test';
import { WebSocket } from 'ws';
import { textFrames } from '../../../src/realtime/frames.js';
import { SocketTally } from '../../../src/metrics/metrics.js';
import { Heartbeat, Peer } from '../../../src/realtime/peer.js';
import { FakeSocket } from '../support/fake-socket.js';

const MAX = 1000;

function peerOn(socket = new FakeSocket()) {
  const dropped: number[] = [];
  const peer = new Peer(socket.ws, { maxBufferedBytes: MAX }, (_peer, bytes) => void dropped.push(bytes));
  return { socket, peer, dropped };
}

/** Numbered messages, to tell their order. */
const numbered = (n: number) => ({ type: 'viewer_count', count: n }) as const;
const msg = (n: number) => JSON.stringify(numbered(n));
const sentMessages = (socket: FakeSocket) => socket.messages().map((m) => m.count as number);

describe('Peer.send', () => {
  test('sends a text frame through ws', () => {
    const { socket, peer } = peerOn();
    peer.send(msg(1));
    assert.deepEqual(socket.writes, [{ via: 'send', message: msg(1), binary: false }]);
  });

  test('sends nothing on a socket that is no longer open', () => {
    const { socket, peer } = peerOn();
    socket.readyState = WebSocket.CLOSING;
    peer.send(msg(1));
    assert.equal(socket.writes.length, 0);
  });

  test('still sends while unsent bytes are at the bound', () => {
    const { socket, peer, dropped } = peerOn();
    socket.bufferedAmount = MAX;
    peer.send(msg(1));
    assert.equal(socket.writes.length, 1);
    assert.equal(socket.terminated, false);
    assert.deepEqual(dropped, []);
  });

  test('terminates a peer whose unsent bytes passed the bound and reports it dropped', () => {
    const { socket, peer, dropped } = peerOn();
    socket.bufferedAmount = MAX + 1;
    peer.send(msg(1));
    assert.equal(socket.terminated, true);
    assert.deepEqual(dropped, [MAX + 1]);
    assert.equal(socket.writes.length, 0, 'the frame is not queued on top');
  });
});

describe('Peer.relay', () => {
  test('sends and answers true while the frame fits in half the bound', () => {
    const { socket, peer } = peerOn();
    socket.bufferedAmount = MAX / 2 - 100;
    assert.equal(peer.relay('x'.repeat(100)), true);
    assert.equal(socket.writes.length, 1);
  });

  test('drops a frame that would pass half the bound instead of terminating the peer', () => {
    const { socket, peer, dropped } = peerOn();
    socket.bufferedAmount = MAX / 2 - 100;
    assert.equal(peer.relay(Buffer.alloc(101, 'x')), false);
    assert.equal(socket.writes.length, 0);
    assert.equal(socket.terminated, false);
    assert.deepEqual(dropped, []);
  });

  test('counts a string frame by its UTF-8 bytes', () => {
    const { socket, peer } = peerOn();
    socket.bufferedAmount = MAX / 2 - 100;
    // 34 characters, 102 bytes.
    assert.equal(peer.relay('€'.repeat(34)), false);
  });
});

describe('Peer.hold and release', () => {
  test('what sendFirst sends goes ahead of what was sent while held', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    peer.send(msg(2));
    peer.sendFirst(numbered(1));
    assert.deepEqual(sentMessages(socket), [1]);
    peer.release();
    assert.deepEqual(sentMessages(socket), [1, 2]);
  });

  test('release sends the held messages in the order they were sent', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    for (const n of [1, 2, 3]) peer.send(msg(n));
    peer.release();
    assert.deepEqual(sentMessages(socket), [1, 2, 3]);
  });

  test('messages the superseded predicate matches are dropped while held', () => {
    const { socket, peer } = peerOn();
    peer.hold((data) => data.toString() === msg(2));
    for (const n of [1, 2, 3]) peer.send(msg(n));
    peer.release();
    assert.deepEqual(sentMessages(socket), [1, 3]);
  });

  test('a close while held waits for release and comes after the held messages', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    peer.send(msg(1));
    peer.close(1000, 'session ended');
    peer.send(msg(2));
    const closedWhileHeld = socket.closed;
    peer.release();
    assert.equal(closedWhileHeld, undefined);
    assert.equal(socket.closed?.code, 1000);
    assert.equal(socket.closed?.afterWrites, 1);
    assert.deepEqual(sentMessages(socket), [1], 'nothing is sent after the close');
  });

  test('refuse while held closes at once and drops what was held: a refused socket hears only its code', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    peer.send(msg(1));
    peer.refuse(4410, 'Session has ended');
    assert.equal(socket.closed?.code, 4410);
    peer.release();
    assert.deepEqual(sentMessages(socket), []);
  });

  test('a frame relayed to a held peer waits for release', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    assert.equal(peer.relay(msg(2)), true);
    peer.sendFirst(numbered(1));
    peer.release();
    assert.deepEqual(sentMessages(socket), [1, 2]);
  });
});

describe('Peer.sendFramed', () => {
  const payloads = [1, 2, 3].map((n) => Buffer.from(msg(n)));

  test("writes a turn's messages to the TCP socket in one write", () => {
    const { socket, peer } = peerOn();
    peer.sendFramed(textFrames(payloads), payloads);
    assert.deepEqual(socket.writes, [{ via: 'framed', messages: [msg(1), msg(2), msg(3)] }]);
  });

  test("goes through ws, message by message, while ws's sender has frames queued", () => {
    const { socket, peer } = peerOn();
    socket._sender._state = 1;
    peer.sendFramed(textFrames(payloads), payloads);
    assert.deepEqual(
      socket.writes.map((w) => w.via),
      ['send', 'send', 'send'],
    );
    assert.deepEqual(sentMessages(socket), [1, 2, 3]);
  });

  test('queues behind the opening while the peer is held', () => {
    const { socket, peer } = peerOn();
    peer.hold();
    peer.sendFramed(textFrames(payloads), payloads);
    peer.sendFirst(numbered(0));
    peer.release();
    assert.deepEqual(sentMessages(socket), [0, 1, 2, 3]);
  });

  test('a write that would pass the bound goes through send, which keeps the bound', () => {
    const { socket, peer } = peerOn();
    const framed = textFrames(payloads);
    socket.bufferedAmount = MAX - framed.length + 1;
    peer.sendFramed(framed, payloads);
    assert.ok(socket.writes.every((w) => w.via === 'send'));
    assert.equal(socket.writes.length, 3);
  });

  test('writes nothing to a socket that is no longer open', () => {
    const { socket, peer } = peerOn();
    socket.readyState = WebSocket.CLOSED;
    peer.sendFramed(textFrames(payloads), payloads);
    assert.equal(socket.writes.length, 0);
  });
});

describe('Peer.close', () => {
  test('closes an open socket with the code and reason', () => {
    const { socket, peer } = peerOn();
    peer.close(4409, 'replaced');
    assert.deepEqual(socket.closed, { code: 4409, reason: 'replaced', afterWrites: 0 });
  });

  test('does not close a socket that is already closing', () => {
    const { socket, peer } = peerOn();
    socket.readyState = WebSocket.CLOSING;
    peer.close(1000);
    assert.equal(socket.closed, undefined);
  });
});

describe('Heartbeat', () => {
  afterEach(() => mock.timers.reset());

  const start = () => {
    mock.timers.enable({ apis: ['setInterval'] });
    return new Heartbeat(1000);
  };

  test('pings every peer each interval', () => {
    const heartbeat = start();
    const { socket, peer } = peerOn();
    heartbeat.add(peer);
    mock.timers.tick(1000);
    assert.equal(socket.pings, 1);
    socket.pong();
    mock.timers.tick(1000);
    assert.equal(socket.pings, 2);
    heartbeat.stop();
  });

  test('keeps a peer that answered the previous ping', () => {
    const heartbeat = start();
    const { socket, peer } = peerOn();
    heartbeat.add(peer);
    for (let i = 0; i < 3; i++) {
      mock.timers.tick(1000);
      socket.pong();
    }
    assert.equal(socket.terminated, false);
    heartbeat.stop();
  });

  test('terminates a peer that missed a ping at the next beat', () => {
    const heartbeat = start();
    const { socket, peer } = peerOn();
    heartbeat.add(peer);
    mock.timers.tick(1000);
    assert.equal(socket.terminated, false);
    mock.timers.tick(1000);
    assert.equal(socket.terminated, true);
    heartbeat.stop();
  });

  test('terminates a peer whose ping throws', () => {
    const heartbeat = start();
    const { socket, peer } = peerOn();
    socket.pingFails = true;
    heartbeat.add(peer);
    mock.timers.tick(1000);
    assert.equal(socket.terminated, true);
    heartbeat.stop();
  });

  test('no longer pings a peer once deleted', () => {
    const heartbeat = start();
    const { socket, peer } = peerOn();
    heartbeat.add(peer);
    heartbeat.delete(peer);
    mock.timers.tick(3000);
    assert.equal(socket.pings, 0);
    assert.equal(socket.terminated, false);
    heartbeat.stop();
  });
});

describe('Peer counting for the metrics (SocketTally)', () => {
  function counted(socket = new FakeSocket()) {
    const tally = new SocketTally();
    const peer = new Peer(socket.ws, { maxBufferedBytes: MAX, tally }, () => undefined);
    return { socket, peer, tally };
  }

  test('a message written counts as sent', () => {
    const { peer, tally } = counted();
    peer.send(msg(1));
    peer.sendJson(numbered(2));
    assert.equal(tally.sent, 2);
  });

  test('a message for a socket no longer open counts as dropped not_open, not sent', () => {
    const { socket, peer, tally } = counted();
    socket.readyState = WebSocket.CLOSING;
    peer.send(msg(1));
    assert.deepEqual([tally.sent, tally.dropped.not_open], [0, 1]);
  });

  test('the message that finds the peer over its bound counts as dropped slow_reader', () => {
    const { socket, peer, tally } = counted();
    socket.bufferedAmount = MAX + 1;
    peer.send(msg(1));
    assert.deepEqual([tally.sent, tally.dropped.slow_reader], [0, 1]);
  });

  test('a relayed frame refused for a half-full peer counts as dropped relay_backpressure', () => {
    const { socket, peer, tally } = counted();
    socket.bufferedAmount = MAX / 2;
    assert.equal(peer.relay('x'), false);
    assert.equal(tally.dropped.relay_backpressure, 1);
  });

  test('held messages count as sent when released, superseded ones as dropped', () => {
    const { peer, tally } = counted();
    peer.hold((data) => String(data).includes('"count":1'));
    peer.send(msg(1));
    peer.send(msg(2));
    assert.equal(tally.sent, 0, 'nothing is sent while held');
    peer.release();
    assert.deepEqual([tally.sent, tally.dropped.superseded], [1, 1]);
  });

  test('sendFramed returns the messages it wrote and leaves counting them to its caller', () => {
    const { peer, tally } = counted();
    const payloads = [Buffer.from(msg(1)), Buffer.from(msg(2))];
    assert.equal(peer.sendFramed(textFrames(payloads), payloads), 2);
    assert.equal(tally.sent, 0);
  });
});
