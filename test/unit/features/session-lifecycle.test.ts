import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { LiveSession } from '../../../src/contract/rest.js';
import {
  SessionLifecycle,
  type SessionChange,
  type SessionParties,
} from '../../../src/features/session-lifecycle.js';
import { MemoryBus } from '../../../src/realtime/bus-memory.js';
import { recordingLog } from '../support/log.js';
import { endedSession } from '../support/sessions.js';

/** One instance's parties, recording what each was told, in order. */
function instance(bus: MemoryBus) {
  const calls: string[] = [];
  const parties = {
    liveHub: { sessionEnded: (s: LiveSession) => calls.push(`live hub: ${s.session_id}`) },
    signalHub: { sessionEnded: (s: LiveSession) => calls.push(`signal hub: ${s.session_id}`) },
    media: {
      sessionEnded: async (id: string, destroyRoom: boolean) =>
        void calls.push(destroyRoom ? `media room destroyed: ${id}` : `media handles let go: ${id}`),
    },
    replays: { sessionEnded: async (id: string) => void calls.push(`replay queued: ${id}`) },
  } as unknown as SessionParties;
  const lifecycle = new SessionLifecycle(bus, parties, recordingLog());
  const changes: SessionChange[] = [];
  lifecycle.onChange((change) => changes.push(change));
  return { lifecycle, calls, changes };
}

/** Lets the media teardown's promise chain run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('the ending instance tells both hubs, destroys the media room, then queues the replay', async () => {
  const here = instance(new MemoryBus());
  const session = endedSession(randomUUID());
  here.lifecycle.ended(session);
  await settle();
  const id = session.session_id;
  assert.deepEqual(
    here.calls.filter((c) => !c.startsWith('media handles')),
    [`live hub: ${id}`, `signal hub: ${id}`, `media room destroyed: ${id}`, `replay queued: ${id}`],
  );
});

test('every other instance lets go of its media handles, without a /ws/live room of the session', async () => {
  const bus = new MemoryBus();
  const here = instance(bus);
  const there = instance(bus);
  const session = endedSession(randomUUID());
  here.lifecycle.ended(session);
  await settle();
  assert.deepEqual(there.calls, [`media handles let go: ${session.session_id}`]);
});

test('every instance hears starts and ends (the lobby snapshot drops on each)', () => {
  const bus = new MemoryBus();
  const here = instance(bus);
  const there = instance(bus);
  const session = endedSession(randomUUID());
  here.lifecycle.started(session);
  here.lifecycle.ended(session);
  const expected = [
    { kind: 'started', sessionId: session.session_id },
    { kind: 'ended', sessionId: session.session_id },
  ];
  assert.deepEqual(here.changes, expected);
  assert.deepEqual(there.changes, expected);
});

test('a closed lifecycle hears nothing more', () => {
  const bus = new MemoryBus();
  const here = instance(bus);
  const there = instance(bus);
  there.lifecycle.close();
  here.lifecycle.started(endedSession(randomUUID()));
  assert.equal(there.changes.length, 0);
});
