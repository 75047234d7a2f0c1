/**
 * Polls: the host asks the room. Two instances sharing PostgreSQL and Redis: a poll opened on one
 * reaches viewers on both as a chat event; votes from both reach every viewer's tallies, at most
 * one update a second; a changed vote moves; closing by DELETE and by time tells everyone the
 * final counts; `?since=` replays the opening and the closing; the host's rules (bans, blocked
 * terms) hold. One clock for both instances jumps past a poll's end instead of waiting for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { POLL_TALLY_MS } from '../src/contract/polls.js';
import { startPair, type RunningApp, type RunningPair } from './support/app.js';
import { jumpingClock } from './support/clock.js';
import { call, goLive, register } from './support/http.js';
import { needsPostgres, needsRedis } from './support/services.js';
import { SocketPool, type TestSocket } from './support/ws.js';

const QUESTION = { question: 'Which colour next?', options: ['Red', 'Green', 'Blue'], duration_seconds: 60 };

/** The latest state of a poll a socket knows: from session_info, then every `poll` event. */
function latest(socket: TestSocket, pollId: string): any {
  const info = socket.ofType('session_info')[0]?.poll;
  const events = socket.ofType('poll').map((m) => m.poll);
  return [info, ...events].filter((p) => p?.id === pollId).at(-1);
}

const votesOf = (poll: any): number[] => poll.options.map((o: { votes: number }) => o.votes);

describe('polls', { skip: needsPostgres() ?? needsRedis() }, () => {
  let pair: RunningPair;
  let a: RunningApp;
  let b: RunningApp;
  const clock = jumpingClock();
  const sockets = new SocketPool();

  before(async () => {
    pair = await startPair('sm-polls', { deps: { clock } });
    ({ a, b } = pair);
  });
  after(async () => {
    sockets.closeAll();
    await pair?.close();
  });

  const watch = async (server: RunningApp, sessionId: string, token: string, query = '') => {
    const socket = await sockets.open(`${server.wsUrl}/ws/live/${sessionId}?token=${token}${query}`);
    await socket.waitForType('session_info');
    return socket;
  };
  const open = (server: RunningApp, sessionId: string, token: string, body: unknown = QUESTION) =>
    call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/polls`, { token, body });
  const vote = (server: RunningApp, sessionId: string, pollId: string, token: string, option: number) =>
    call(server.baseUrl, 'POST', `/live/sessions/${sessionId}/polls/${pollId}/votes`, {
      token,
      body: { option },
    });
  const close = (server: RunningApp, sessionId: string, pollId: string, token: string) =>
    call(server.baseUrl, 'DELETE', `/live/sessions/${sessionId}/polls/${pollId}`, { token });

  test('the host opens a poll: viewers on both instances hear it with its offset, and a second is 409', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const viewer = await register(a.baseUrl);
    const [onA, onB] = await Promise.all([a, b].map((s) => watch(s, session.session_id, viewer.token)));
    const opened = await open(a, session.session_id, vendor.token);
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    const poll = opened.body;
    assert.equal(poll.status, 'open');
    assert.equal(poll.question, QUESTION.question);
    assert.deepEqual(poll.options, [
      { text: 'Red', votes: 0 },
      { text: 'Green', votes: 0 },
      { text: 'Blue', votes: 0 },
    ]);
    assert.equal(Date.parse(poll.ends_at) - Date.parse(poll.created_at), 60_000);
    for (const socket of [onA!, onB!]) {
      const event = await socket.waitForType('poll');
      assert.deepEqual(event.poll, poll);
      assert.equal(typeof event.offset, 'number');
    }
    const again = await open(b, session.session_id, vendor.token);
    assert.equal(again.status, 409);
    assert.match(again.body.detail, /another poll is open/i);
    const late = await watch(b, session.session_id, viewer.token);
    assert.deepEqual(late.ofType('session_info')[0].poll, poll, 'session_info carries the open poll');
  });

  test('votes from both instances reach every viewer, a changed vote moves, at most one tally a second', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const voters = await Promise.all(Array.from({ length: 6 }, () => register(a.baseUrl)));
    const viewers = await Promise.all(
      voters.map((u, i) => watch(i % 2 ? b : a, session.session_id, u.token)),
    );
    const { body: poll } = await open(a, session.session_id, vendor.token);
    const statuses = await Promise.all(
      voters.map((u, i) => vote(i % 2 ? b : a, session.session_id, poll.id, u.token, i % 3)),
    );
    assert.deepEqual([...new Set(statuses.map((s) => s.status))], [204]);
    assert.equal((await vote(b, session.session_id, poll.id, voters[0]!.token, 2)).status, 204);
    for (const viewer of viewers) {
      await viewer.waitFor(() => votesOf(latest(viewer, poll.id)).join() === '1,2,3', 5_000);
      assert.equal(latest(viewer, poll.id).total_votes, 6, 'each user counts once');
    }
    const listed = await call(b.baseUrl, 'GET', `/live/sessions/${session.session_id}/polls`);
    assert.deepEqual(votesOf(listed.body.items[0]), [1, 2, 3]);
  });

  test('closing by DELETE gives everyone the final counts; votes are then 409 and a second close answers the same', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const voter = await register(a.baseUrl);
    const viewer = await watch(b, session.session_id, voter.token);
    const { body: poll } = await open(a, session.session_id, vendor.token);
    await vote(a, session.session_id, poll.id, voter.token, 1);
    const closed = await close(b, session.session_id, poll.id, vendor.token);
    assert.equal(closed.status, 200);
    assert.equal(closed.body.status, 'closed');
    assert.deepEqual(votesOf(closed.body), [0, 1, 0]);
    assert.ok(closed.body.closed_at);
    const event = await viewer.waitFor((m) => m.type === 'poll' && m.poll.status === 'closed');
    assert.deepEqual(event.poll, closed.body);
    assert.equal(typeof event.offset, 'number');
    assert.equal((await vote(a, session.session_id, poll.id, voter.token, 0)).status, 409);
    assert.deepEqual((await close(a, session.session_id, poll.id, vendor.token)).body, closed.body);
    assert.equal((await open(a, session.session_id, vendor.token)).status, 200, 'the next poll may open');
  });

  test('a poll closes at its time on its own: everyone hears the final counts and later votes are 409', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const voter = await register(a.baseUrl);
    const viewer = await watch(b, session.session_id, voter.token);
    const { body: poll } = await open(a, session.session_id, vendor.token, {
      ...QUESTION,
      duration_seconds: 10,
    });
    await vote(b, session.session_id, poll.id, voter.token, 2);
    clock.jump(11_000);
    assert.equal((await vote(a, session.session_id, poll.id, voter.token, 0)).status, 409);
    const event = await viewer.waitFor((m) => m.type === 'poll' && m.poll.status === 'closed', 5_000);
    assert.deepEqual(votesOf(event.poll), [0, 0, 1]);
    assert.equal(event.poll.closed_at, poll.ends_at, 'it closed at its time');
  });

  test('only the host or a moderator opens and closes; a banned user cannot vote', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const [viewer, moderator, troll] = await Promise.all([1, 2, 3].map(() => register(a.baseUrl)));
    assert.equal((await open(a, session.session_id, viewer!.token)).status, 403);
    await call(a.baseUrl, 'PUT', `/me/moderators/${moderator!.user.id}`, { token: vendor.token });
    const opened = await open(b, session.session_id, moderator!.token);
    assert.equal(opened.status, 200);
    await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/bans`, {
      token: vendor.token,
      body: { user_id: troll!.user.id },
    });
    const refused = await vote(b, session.session_id, opened.body.id, troll!.token, 0);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.until, null);
    assert.equal((await close(a, session.session_id, opened.body.id, viewer!.token)).status, 403);
    assert.equal((await close(a, session.session_id, opened.body.id, moderator!.token)).status, 200);
  });

  test('blocked terms, blank or repeated options and bad votes are refused with the field named', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const viewer = await register(a.baseUrl);
    await call(a.baseUrl, 'PUT', '/me/blocked-terms', { token: vendor.token, body: { terms: ['spoiler'] } });
    const cases: [unknown, (string | number)[], string | undefined][] = [
      [{ ...QUESTION, question: 'Any SPOILER here?' }, ['body', 'question'], 'blocked_term'],
      [{ ...QUESTION, options: ['Yes', 'a spoiler'] }, ['body', 'options', 1], 'blocked_term'],
      [{ ...QUESTION, options: ['Yes', ' yes '] }, ['body', 'options', 1], 'value_error'],
      [{ ...QUESTION, options: ['Yes', '   '] }, ['body', 'options', 1], 'value_error'],
      [{ ...QUESTION, options: ['only one'] }, ['body', 'options'], undefined],
      [{ ...QUESTION, duration_seconds: 5 }, ['body', 'duration_seconds'], undefined],
    ];
    for (const [body, loc, type] of cases) {
      const res = await open(a, session.session_id, vendor.token, body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.deepEqual(res.body.detail[0].loc, loc, JSON.stringify(res.body));
      if (type) assert.equal(res.body.detail[0].type, type, JSON.stringify(res.body));
    }
    const { body: poll } = await open(a, session.session_id, vendor.token, {
      ...QUESTION,
      options: ['Yes', 'No'],
    });
    assert.equal(
      (await vote(a, session.session_id, poll.id, viewer.token, 2)).status,
      422,
      'no third option',
    );
    assert.equal((await vote(a, session.session_id, crypto.randomUUID(), viewer.token, 0)).status, 404);
    assert.equal((await vote(a, session.session_id, 'nope', viewer.token, 0)).status, 404);
    assert.equal(
      (
        await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/polls/${poll.id}/votes`, {
          body: { option: 0 },
        })
      ).status,
      401,
    );
  });

  test('?since= replays the opening and the closing; the end closes an open poll', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const viewer = await register(a.baseUrl);
    const first = await watch(a, session.session_id, viewer.token);
    const since = first.ofType('session_info')[0].offset;
    first.close();
    const { body: closedPoll } = await open(a, session.session_id, vendor.token);
    await close(a, session.session_id, closedPoll.id, vendor.token);
    const { body: openPoll } = await open(a, session.session_id, vendor.token);
    const back = await watch(b, session.session_id, viewer.token, `&since=${since}`);
    await back.waitForType('recovered');
    const replayed = back.ofType('poll').map((m) => [m.poll.id, m.poll.status]);
    assert.deepEqual(replayed, [
      [closedPoll.id, 'open'],
      [closedPoll.id, 'closed'],
      [openPoll.id, 'open'],
    ]);
    await call(a.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    const listed = await call(b.baseUrl, 'GET', `/live/sessions/${session.session_id}/polls`);
    assert.deepEqual(
      listed.body.items.map((p: any) => p.status),
      ['closed', 'closed'],
    );
    assert.equal((await vote(a, session.session_id, openPoll.id, viewer.token, 0)).status, 409);
    assert.equal((await open(a, session.session_id, vendor.token)).status, 409, 'no poll opens once ended');
  });

  test('tally updates are spaced a window apart on each connection', async () => {
    const { vendor, session } = await goLive(a.baseUrl);
    const voters = await Promise.all(Array.from({ length: 4 }, () => register(a.baseUrl)));
    const viewer = await watch(a, session.session_id, voters[0]!.token);
    const arrivals: number[] = [];
    viewer.ws.on('message', (data) => {
      const text = (data as Buffer).toString();
      if (text.startsWith('{"type":"poll"') && !text.includes('"offset"')) arrivals.push(performance.now());
    });
    const { body: poll } = await open(a, session.session_id, vendor.token);
    for (const [i, voter] of voters.entries()) {
      await vote(i % 2 ? b : a, session.session_id, poll.id, voter.token, 0);
      await viewer.waitFor(() => latest(viewer, poll.id).total_votes === i + 1, 5_000);
    }
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    assert.ok(arrivals.length >= 2, `${arrivals.length} updates`);
    assert.ok(
      gaps.every((gap) => gap >= POLL_TALLY_MS - 150),
      `gaps ${gaps.join(', ')}`,
    );
  });
});
