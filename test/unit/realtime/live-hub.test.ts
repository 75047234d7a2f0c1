/**
 * LiveHub on the in-memory bus and presence, with fake sockets and mocked timers: coalesced
 * counts, the per-turn outbox, the end of a session, and views_total that never goes backwards.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { MemoryBus } from '../../../src/realtime/bus-memory.js';
import { isViewsTotalFrame, LiveHub, type LiveHubOptions } from '../../../src/realtime/live-hub.js';
import { Peer } from '../../../src/realtime/peer.js';
import { MemoryPresence } from '../../../src/realtime/presence-memory.js';
import { CountingBus } from '../support/counting-bus.js';
import { FakeSocket } from '../support/fake-socket.js';
import { endedSession } from '../support/sessions.js';
import { recordingLog } from '../support/log.js';

type Views = ConstructorParameters<typeof LiveHub>[2];
type Comment = Parameters<LiveHub['commentPosted']>[0];

const S = '00000000-0000-4000-8000-000000000001';
const INTERVAL = 1_000;
const RECOUNT = 10_000;

/**
 * Unique views as the database would answer: `fail` makes the next reads reject, `gate` holds
 * them until it resolves; `reads` counts them.
 */
function fakeViews() {
  const views = {
    value: 0,
    fail: false,
    gate: undefined as Promise<void> | undefined,
    reads: 0,
    async total(): Promise<number> {
      views.reads++;
      await views.gate;
      if (views.fail) throw new Error('database down');
      return views.value;
    },
  };
  return views;
}

/** One instance: a hub over a bus and presence that other instances may share. */
function instance(
  bus = new MemoryBus(),
  presence = new MemoryPresence(),
  views = fakeViews(),
  pollTallies?: LiveHubOptions['pollTallies'],
) {
  const log = recordingLog();
  const options: LiveHubOptions = {
    viewerCountIntervalMs: INTERVAL,
    recountIntervalMs: RECOUNT,
    pollTallies,
  };
  const hub = new LiveHub(bus, presence, views as unknown as Views, options, log);
  return { hub, bus, presence, views, log };
}

function fakePeer() {
  const socket = new FakeSocket();
  const peer = new Peer(socket.ws, { maxBufferedBytes: 1 << 20 }, () => undefined);
  return { socket, peer };
}

/** Lets promises settle and the turn's outbox flush (setImmediate is left real). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Moves the mocked clock and timers, then lets what they started finish. */
async function advance(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await settle();
}

const comment = (n: number): Comment => ({
  id: `c${n}`,
  session_id: S,
  user_id: 'u1',
  user_name: 'Ann',
  message: `comment ${n}`,
  ts: new Date(0).toISOString(),
  offset: n,
});

const ended = endedSession(S);

const counts = (socket: FakeSocket) => socket.ofType('viewer_count').map((m) => m.count as number);
const totals = (socket: FakeSocket) => socket.ofType('views_total').map((m) => m.total as number);

// Scoped to this file's tests: the unit files share one process (test/unit/index.ts).
describe('LiveHub, on mocked timers', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  });
  afterEach(() => mock.timers.reset());

  describe('LiveHub viewer_count', () => {
    test('the first counted viewer gets viewer_count without waiting an interval', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      assert.deepEqual(counts(a.socket), [1]);
      hub.close();
    });

    test('joins within one interval are coalesced into one viewer_count', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      for (let i = 0; i < 3; i++) hub.join(S, fakePeer().peer, true);
      await advance(INTERVAL - 1);
      assert.deepEqual(counts(a.socket), [1], 'nothing before the interval is over');
      await advance(1);
      assert.deepEqual(counts(a.socket), [1, 4]);
      hub.close();
    });

    test('joins within one interval cost one recount', async () => {
      const { hub, views } = instance();
      hub.join(S, fakePeer().peer, true);
      await advance(1);
      for (let i = 0; i < 5; i++) hub.join(S, fakePeer().peer, true);
      await advance(INTERVAL);
      assert.equal(views.reads, 2);
      hub.close();
    });

    test('a join during a recount is counted by the next one', async () => {
      const { hub, views } = instance();
      const a = fakePeer();
      let open = () => undefined as void;
      views.gate = new Promise((resolve) => (open = resolve));
      hub.join(S, a.peer, true);
      mock.timers.tick(1); // the recount reads presence, then waits for the database
      hub.join(S, fakePeer().peer, true);
      open();
      await settle();
      assert.deepEqual(counts(a.socket), [1]);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1, 2]);
      hub.close();
    });

    test('the coalesced viewer_count carries the count at the end of the interval', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      const b = fakePeer();
      const c = fakePeer();
      hub.join(S, b.peer, true);
      hub.join(S, c.peer, true);
      hub.leave(S, c.peer, true);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1, 2]);
      hub.close();
    });

    test('an unchanged count is not sent again', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      const b = fakePeer();
      hub.join(S, b.peer, true);
      hub.leave(S, b.peer, true);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1]);
      hub.close();
    });

    test('vendors (not counted) do not change viewer_count', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      hub.join(S, fakePeer().peer, false);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1]);
      hub.close();
    });

    test('a viewer joining on another instance updates viewer_count here', async () => {
      const here = instance();
      const there = instance(here.bus, here.presence, here.views);
      const a = fakePeer();
      here.hub.join(S, a.peer, true);
      await advance(1);
      there.hub.join(S, fakePeer().peer, true);
      await advance(1);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1, 2]);
      here.hub.close();
      there.hub.close();
    });

    test('every room recounts each recount interval, so a silent change still shows', async () => {
      const { hub, presence } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      presence.add(S); // a viewer elsewhere whose announcement never came
      await advance(RECOUNT);
      assert.deepEqual(counts(a.socket), [1, 2]);
      hub.close();
    });

    test('a failed recount is logged, sends nothing, and the next change retries', async () => {
      const { hub, views, log } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      await advance(1);
      views.fail = true;
      hub.join(S, fakePeer().peer, true);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1]);
      assert.equal(log.warnings.length, 1);
      views.fail = false;
      hub.join(S, fakePeer().peer, true);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket), [1, 3]);
      hub.close();
    });
  });

  describe('LiveHub outbox', () => {
    test('comments published in one turn reach each peer in one write, in order', async () => {
      const { hub } = instance();
      const a = fakePeer();
      const b = fakePeer();
      hub.join(S, a.peer, false);
      hub.join(S, b.peer, false);
      for (const n of [1, 2, 3]) hub.commentPosted(comment(n));
      assert.equal(a.socket.writes.length, 0, 'sent at the end of the turn, not at once');
      await settle();
      for (const { socket } of [a, b]) {
        assert.equal(socket.writes.length, 1);
        assert.deepEqual(
          socket.messages().map((m) => m.message),
          ['comment 1', 'comment 2', 'comment 3'],
        );
      }
      hub.close();
    });

    test('a comment carries every field of the stored comment', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      hub.commentPosted(comment(1));
      await settle();
      assert.deepEqual(a.socket.messages(), [{ type: 'comment', ...comment(1) }]);
      hub.close();
    });

    test("a session's comments reach only that session's peers", async () => {
      const { hub } = instance();
      const a = fakePeer();
      const other = fakePeer();
      hub.join(S, a.peer, false);
      hub.join('00000000-0000-4000-8000-000000000002', other.peer, false);
      hub.commentPosted(comment(1));
      await settle();
      assert.equal(a.socket.messages().length, 1);
      assert.equal(other.socket.messages().length, 0);
      hub.close();
    });

    test('a peer that left gets nothing more', async () => {
      const { hub } = instance();
      const a = fakePeer();
      const b = fakePeer();
      hub.join(S, a.peer, false);
      hub.join(S, b.peer, false);
      hub.leave(S, b.peer, false);
      hub.commentPosted(comment(1));
      await settle();
      assert.equal(a.socket.messages().length, 1);
      assert.equal(b.socket.messages().length, 0);
      hub.close();
    });
  });

  describe('LiveHub rooms', () => {
    test('a room whose last peer left unsubscribes from the bus', () => {
      const bus = new CountingBus();
      const { hub } = instance(bus);
      const a = fakePeer();
      const b = fakePeer();
      hub.join(S, a.peer, true);
      hub.join(S, b.peer, false);
      hub.leave(S, a.peer, true);
      assert.equal(bus.subscriptions, 1, 'b is still there');
      hub.leave(S, b.peer, false);
      assert.equal(bus.subscriptions, 0);
    });

    test('stats() counts rooms, peers and their unsent bytes', () => {
      const { hub } = instance();
      const a = fakePeer();
      const b = fakePeer();
      a.socket.bufferedAmount = 10;
      b.socket.bufferedAmount = 5;
      hub.join(S, a.peer, false);
      hub.join('00000000-0000-4000-8000-000000000002', b.peer, false);
      assert.deepEqual(hub.stats(), { rooms: 2, peers: 2, bufferedBytes: 15 });
      hub.close();
    });

    test('a viewer leaving the last room here still tells the other instances', async () => {
      const here = instance();
      const there = instance(here.bus, here.presence, here.views);
      const a = fakePeer();
      here.hub.join(S, a.peer, true);
      const b = fakePeer();
      there.hub.join(S, b.peer, true);
      await advance(1);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket).at(-1), 2);
      there.hub.leave(S, b.peer, true);
      await advance(INTERVAL);
      assert.deepEqual(counts(a.socket).at(-1), 1);
      here.hub.close();
      there.hub.close();
    });
  });

  describe('LiveHub session end', () => {
    test('every peer gets session_ended, then a 1000 close', async () => {
      const { hub } = instance();
      const peers = [fakePeer(), fakePeer()];
      for (const p of peers) hub.join(S, p.peer, false);
      hub.sessionEnded(ended);
      for (const { socket } of peers) {
        const [message, ...rest] = socket.messages();
        assert.deepEqual(rest, []);
        assert.equal(message.type, 'session_ended');
        assert.equal(message.session_id, S);
        assert.equal(message.ended_at, ended.ended_at);
        assert.equal(message.live_duration_seconds, 60);
        assert.equal(socket.closed?.code, 1000);
        assert.equal(socket.closed?.afterWrites, 1, 'closed after session_ended');
      }
      hub.close();
    });

    test('comments queued this turn reach peers before session_ended', async () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      hub.commentPosted(comment(1));
      hub.sessionEnded(ended);
      await settle();
      assert.deepEqual(
        a.socket.messages().map((m) => m.type),
        ['comment', 'session_ended'],
      );
    });

    test('onSessionEnded listeners hear the ended session id', () => {
      const { hub } = instance();
      const heard: string[] = [];
      hub.onSessionEnded((id) => heard.push(id));
      hub.join(S, fakePeer().peer, false);
      hub.sessionEnded(ended);
      assert.deepEqual(heard, [S]);
    });

    test("an ended session's room unsubscribes from the bus", () => {
      const bus = new CountingBus();
      const { hub } = instance(bus);
      hub.join(S, fakePeer().peer, false);
      hub.sessionEnded(ended);
      assert.equal(bus.subscriptions, 0);
    });

    test('close() closes every peer with 1012', () => {
      const { hub } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, true);
      hub.close();
      assert.equal(a.socket.closed?.code, 1012);
    });
  });

  describe('LiveHub views_total', () => {
    test('views_total is broadcast when unique views grow', async () => {
      const { hub, views } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      views.value = 3;
      hub.viewsChanged(S);
      await advance(1);
      views.value = 4;
      hub.viewsChanged(S);
      await advance(INTERVAL);
      assert.deepEqual(totals(a.socket), [3, 4]);
      hub.close();
    });

    test('a read lower than the last broadcast is not broadcast', async () => {
      const { hub, views } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      views.value = 5;
      hub.viewsChanged(S);
      await advance(1);
      views.value = 4;
      hub.viewsChanged(S);
      await advance(INTERVAL);
      assert.deepEqual(totals(a.socket), [5]);
      hub.close();
    });

    test('a joiner opens with what the room broadcast when its own read is lower', async () => {
      const { hub, views } = instance();
      hub.join(S, fakePeer().peer, false);
      views.value = 5;
      hub.viewsChanged(S);
      await advance(1);
      assert.equal(hub.openingViews(S, 3), 5);
      assert.equal(hub.openingViews(S, 7), 7);
      hub.close();
    });

    test("a read below a peer's opening is not broadcast", async () => {
      const { hub, views } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      views.value = 5;
      hub.viewsChanged(S);
      await advance(1);
      assert.equal(hub.openingViews(S, 8), 8);
      views.value = 7; // raced the joiner's insert
      hub.viewsChanged(S);
      await advance(INTERVAL);
      views.value = 9;
      hub.viewsChanged(S);
      await advance(INTERVAL);
      assert.deepEqual(totals(a.socket), [5, 9]);
      hub.close();
    });

    test('a views_total queued before a held joiner opens is not delivered after its opening', async () => {
      const { hub, views } = instance();
      const a = fakePeer();
      hub.join(S, a.peer, false);
      views.value = 5;
      hub.viewsChanged(S);
      mock.timers.tick(1);
      for (let i = 0; i < 10; i++) await Promise.resolve();
      assert.equal(a.socket.writes.length, 0, 'views_total 5 is still in the outbox');
      // B read 6 while joining (its own view included) and is held until its opening is out.
      const b = fakePeer();
      b.peer.hold(isViewsTotalFrame);
      hub.join(S, b.peer, true);
      const opening = hub.openingViews(S, 6);
      b.peer.sendFirst({ type: 'views_total', total: opening });
      b.peer.release();
      await settle();
      assert.deepEqual(totals(b.socket), [6]);
      hub.close();
    });
  });

  describe('LiveHub chat-event order', () => {
    const offsets = (socket: FakeSocket) => socket.messages().map((m) => m.offset as number);

    test('an event that arrives ahead of an earlier offset waits for it, then both go in order', async () => {
      const { hub } = instance();
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      hub.seedOffset(S, 4);
      hub.commentPosted(comment(6));
      await settle();
      assert.deepEqual(offsets(socket), [], 'held while 5 is on its way');
      hub.commentPosted(comment(5));
      await settle();
      assert.deepEqual(offsets(socket), [5, 6]);
      hub.close();
    });

    test('a missing offset is given up on after a short wait, and a straggler is still delivered', async () => {
      const { hub } = instance();
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      hub.seedOffset(S, 0);
      hub.commentPosted(comment(2));
      await advance(199);
      assert.deepEqual(offsets(socket), []);
      await advance(1);
      assert.deepEqual(offsets(socket), [2]);
      hub.commentPosted(comment(1));
      await settle();
      assert.deepEqual(offsets(socket), [2, 1]);
      hub.close();
    });

    test('deliveredOffset is what the room delivered, 0 before anything', async () => {
      const { hub } = instance();
      const { peer } = fakePeer();
      hub.join(S, peer, false);
      assert.equal(hub.deliveredOffset(S), 0);
      hub.commentPosted(comment(1));
      hub.commentPosted(comment(2));
      await settle();
      assert.equal(hub.deliveredOffset(S), 2);
      hub.close();
    });

    test('a pin or settings change tells the chat-state listeners; a deletion does not', async () => {
      const { hub } = instance();
      const { peer } = fakePeer();
      hub.join(S, peer, false);
      const heard: string[] = [];
      hub.onChatStateChanged((id) => heard.push(id));
      hub.chatEvent(S, { type: 'comment_deleted', id: 'c1', offset: 1 });
      hub.chatEvent(S, { type: 'comment_unpinned', offset: 2 });
      hub.chatEvent(S, { type: 'chat_settings', slow_mode_seconds: 5, offset: 3 });
      await settle();
      assert.deepEqual(heard, [S, S]);
      hub.close();
    });
  });

  describe('LiveHub poll tallies', () => {
    const poll = (votes: number, status: 'open' | 'closed' = 'open') => ({
      id: 'p1',
      session_id: S,
      question: 'Q?',
      options: [
        { text: 'A', votes },
        { text: 'B', votes: 0 },
      ],
      status,
      total_votes: votes,
      created_at: new Date(0).toISOString(),
      ends_at: new Date(60_000).toISOString(),
      closed_at: null,
    });
    /** The database as the hub reads it: `answer` is what the next read returns. */
    function fakeTallies() {
      const db = {
        reads: 0,
        answer: { poll: poll(0), offset: 0 } as Awaited<
          ReturnType<NonNullable<LiveHubOptions['pollTallies']>>
        >,
      };
      const read = async () => {
        db.reads++;
        return db.answer;
      };
      return { db, read };
    }
    const tallies = (socket: FakeSocket) =>
      socket
        .messages()
        .filter((m) => m.type === 'poll')
        .map((m) => (m.poll as { total_votes: number }).total_votes);

    test('votes heard together are read once and sent once; later votes wait a window', async () => {
      const { db, read } = fakeTallies();
      const { hub } = instance(undefined, undefined, undefined, read);
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      db.answer = { poll: poll(3), offset: 0 };
      for (let i = 0; i < 3; i++) hub.pollVoted(S);
      await advance(0);
      assert.deepEqual(tallies(socket), [3]);
      assert.equal(db.reads, 1);
      db.answer = { poll: poll(4), offset: 0 };
      hub.pollVoted(S);
      await advance(500);
      assert.deepEqual(tallies(socket), [3], 'not before a window has passed');
      await advance(600);
      assert.deepEqual(tallies(socket), [3, 4]);
      hub.close();
    });

    test('a read overtaken by a delivered chat event (maybe the closing) is not sent, and is read again', async () => {
      const { db, read } = fakeTallies();
      const { hub } = instance(undefined, undefined, undefined, read);
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      hub.seedOffset(S, 0);
      hub.commentPosted(comment(1));
      await settle();
      db.answer = { poll: poll(2), offset: 0 };
      hub.pollVoted(S);
      await advance(0);
      assert.deepEqual(tallies(socket), [], 'offset 1 was delivered after a read at offset 0');
      db.answer = { poll: poll(2, 'closed'), offset: 1 };
      await advance(1_100);
      assert.equal(db.reads, 2, 'read again');
      assert.deepEqual(tallies(socket), [], 'a closed poll is never sent as a tally');
      hub.close();
    });
  });

  describe('LiveHub reactions', () => {
    const types = (socket: FakeSocket) =>
      socket.writes.map((w) =>
        (w.via === 'framed' ? w.messages : [w.message]).map((m) => JSON.parse(m).type),
      );

    test('in a busy chat the counts ride with the next comment, in the same write to each peer', async () => {
      const { hub } = instance();
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      hub.seedOffset(S, 0);
      hub.commentPosted(comment(1));
      await settle();
      hub.reactionsCounted(S, { heart: 3 });
      await advance(0);
      assert.deepEqual(types(socket), [['comment']], 'due, and waiting for the chat');
      hub.commentPosted(comment(2));
      await settle();
      assert.deepEqual(types(socket), [['comment'], ['comment', 'reactions']]);
      assert.deepEqual(socket.messages().at(-1).counts, { heart: 3 });
      hub.close();
    });

    test('with no flush of the chat to ride with, the counts go alone, at most a quarter second late', async () => {
      const { hub } = instance();
      const { socket, peer } = fakePeer();
      hub.join(S, peer, false);
      hub.reactionsCounted(S, { fire: 1 });
      await advance(0);
      assert.deepEqual(types(socket), [['reactions']], 'a quiet chat: at once');
      hub.seedOffset(S, 0);
      hub.commentPosted(comment(1));
      await settle();
      hub.reactionsCounted(S, { fire: 2 });
      await advance(1_000);
      assert.deepEqual(types(socket), [['reactions'], ['comment']]);
      await advance(250);
      assert.deepEqual(types(socket), [['reactions'], ['comment'], ['reactions']]);
      hub.close();
    });
  });
});
