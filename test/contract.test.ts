/**
 * One definition of what crosses the wire: the contract's objects reach every surface whole. A
 * field added to `Comment` (or `LiveSession`) in src/contract/rest.ts appears in REST answers,
 * the WebSocket events that carry the object, the OpenAPI document and the web client's types,
 * with no other edit; these tests check each surface against the contract's own field list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Static } from 'typebox';
import type { CommentMessage, SessionInfoMessage } from '../src/contract/live-protocol.js';
import type { Poll } from '../src/contract/polls.js';
import type { ReactionTotals } from '../src/contract/reactions.js';
import type { ChatStateSchema, CommentSchema, SessionSchema } from '../src/contract/rest.js';
import type { Comment as WebComment, LiveSession as WebSession } from '../web/src/client/types.js';
import { startApp, type RunningApp } from './support/app.js';
import {
  CHAT_STATE_FIELDS,
  COMMENT_FIELDS,
  ORIGINAL_COMMENT_FIELDS,
  ORIGINAL_SESSION_FIELDS,
  SESSION_FIELDS,
} from './support/contract.js';
import { call, goLive, register } from './support/http.js';
import { TestSocket } from './support/ws.js';

/** An object type with its intersections flattened, to compare it field by field. */
type Flat<T> = { [K in keyof T]: T[K] };

/** True when A and B are the same type (checked by tsc in `npm run lint`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// The web client's types and the WebSocket events are the contract's, not copies of it.
const webComment: Equal<WebComment, Static<typeof CommentSchema>> = true;
const webSession: Equal<WebSession, Static<typeof SessionSchema>> = true;
const wsComment: Equal<Omit<CommentMessage, 'type'>, Static<typeof CommentSchema>> = true;
const wsSessionInfo: Equal<
  Flat<Omit<SessionInfoMessage, 'type'>>,
  Flat<
    Static<typeof SessionSchema> &
      Static<typeof ChatStateSchema> & { reactions_total: ReactionTotals; poll: Poll | null }
  >
> = true;

describe('the contract reaches every surface', () => {
  let server: RunningApp;
  let openapi: any;
  before(async () => {
    server = await startApp();
    openapi = (await call(server.baseUrl, 'GET', '/openapi.json')).body;
  });
  after(async () => {
    await server.close();
  });

  const jsonSchema = (path: string, method: string) =>
    openapi.paths[path][method].responses['200'].content['application/json'].schema;

  test("the contract keeps every field of the original's objects", () => {
    assert.ok([webComment, webSession, wsComment, wsSessionInfo].every(Boolean));
    for (const field of ORIGINAL_COMMENT_FIELDS) assert.ok(COMMENT_FIELDS.includes(field), field);
    for (const field of ORIGINAL_SESSION_FIELDS) assert.ok(SESSION_FIELDS.includes(field), field);
  });

  test("a comment has exactly the contract's fields over REST, on /ws/live and in OpenAPI", async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
    );
    await socket.waitForType('session_info');
    const posted = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
      token: viewer.token,
      body: { message: 'fields' },
    });
    const listed = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}/comments`);
    const { type, ...event } = await socket.waitForType('comment');
    socket.close();
    assert.equal(type, 'comment');
    assert.deepEqual(Object.keys(posted.body).sort(), COMMENT_FIELDS);
    assert.deepEqual(Object.keys(listed.body.items[0]).sort(), COMMENT_FIELDS);
    assert.deepEqual(Object.keys(event).sort(), COMMENT_FIELDS);
    assert.deepEqual(
      Object.keys(jsonSchema('/live/sessions/{session_id}/comments', 'post').properties).sort(),
      COMMENT_FIELDS,
    );
    assert.deepEqual(
      Object.keys(
        jsonSchema('/live/sessions/{session_id}/comments', 'get').properties.items.items.properties,
      ).sort(),
      COMMENT_FIELDS,
    );
  });

  test("a session has exactly the contract's fields over REST and in OpenAPI, and session_info adds the chat's, the reactions so far and the open poll", async () => {
    const { session } = await goLive(server.baseUrl);
    const viewer = await register(server.baseUrl);
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
    );
    const { type, ...info } = await socket.waitForType('session_info');
    socket.close();
    const fetched = await call(server.baseUrl, 'GET', `/live/sessions/${session.session_id}`);
    assert.equal(type, 'session_info');
    assert.deepEqual(Object.keys(session).sort(), SESSION_FIELDS);
    assert.deepEqual(Object.keys(fetched.body).sort(), SESSION_FIELDS);
    assert.deepEqual(
      Object.keys(info).sort(),
      [...SESSION_FIELDS, ...CHAT_STATE_FIELDS, 'poll', 'reactions_total'].sort(),
    );
    assert.deepEqual(
      Object.keys(jsonSchema('/live/sessions/{session_id}', 'get').properties).sort(),
      SESSION_FIELDS,
    );
  });

  test("a poll has exactly the contract's fields over REST, in OpenAPI and on the socket", async () => {
    const { vendor, session } = await goLive(server.baseUrl);
    const socket = await TestSocket.open(
      `${server.wsUrl}/ws/live/${session.session_id}?token=${vendor.token}`,
    );
    const opened = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/polls`, {
      token: vendor.token,
      body: { question: 'Q?', options: ['A', 'B'], duration_seconds: 60 },
    });
    const event = await socket.waitForType('poll');
    socket.close();
    const fields = Object.keys(jsonSchema('/live/sessions/{session_id}/polls', 'post').properties).sort();
    assert.deepEqual(Object.keys(opened.body).sort(), fields);
    assert.deepEqual(Object.keys(event.poll).sort(), fields);
    assert.deepEqual(Object.keys(event).sort(), ['offset', 'poll', 'type']);
  });
});
