import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { eventually } from './support/ws.js';

const VIEWERS = 2_000;
const INTERVAL_MS = 500;

/** A lean viewer: 2,000 of the full test sockets would cost the test more than the server. */
interface Viewer {
  ws: WebSocket;
  /** Arrival times and values of viewer_count broadcasts (after the opening three events). */
  counts: { at: number; count: number }[];
  opening: number;
  comments: string[];
}

describe('2,000 concurrent viewers in one session', () => {
  let server: RunningApp;
  const viewers: Viewer[] = [];

  before(async () => {
    server = await startApp();
  });
  after(async () => {
    for (const v of viewers) v.ws.terminate();
    await server.close();
  });

  test(
    'every viewer receives a posted comment, and at most one viewer_count per 500 ms during the join storm',
    { timeout: 120_000 },
    async () => {
      const { session } = await goLive(server.baseUrl);
      const tokens = await Promise.all(Array.from({ length: 20 }, () => register(server.baseUrl)));
      const url = (i: number) =>
        `${server.wsUrl}/ws/live/${session.session_id}?token=${tokens[i % tokens.length]!.token}`;

      const opened: Promise<void>[] = [];
      for (let i = 0; i < VIEWERS; i++) {
        const viewer: Viewer = { ws: new WebSocket(url(i)), counts: [], opening: 0, comments: [] };
        viewer.ws.on('message', (data) => {
          const message = JSON.parse((data as Buffer).toString());
          if (viewer.opening < 3) {
            viewer.opening += 1;
            return;
          }
          if (message.type === 'viewer_count') viewer.counts.push({ at: Date.now(), count: message.count });
          else if (message.type === 'comment') viewer.comments.push(message.id);
        });
        viewers.push(viewer);
        opened.push(
          new Promise((resolve, reject) => {
            viewer.ws.once('open', () => resolve());
            viewer.ws.once('error', reject);
          }),
        );
      }
      await Promise.all(opened);
      await eventually(
        () => viewers.every((v) => v.counts.at(-1)?.count === VIEWERS),
        `every viewer's last viewer_count is ${VIEWERS}`,
        30_000,
      );

      for (const viewer of viewers) {
        const { counts } = viewer;
        const span = counts.length > 1 ? counts.at(-1)!.at - counts[0]!.at : 0;
        // One per interval over the span, plus the first, plus one for delivery jitter across ticks.
        const allowed = Math.floor(span / INTERVAL_MS) + 2;
        assert.ok(
          counts.length <= allowed,
          `a viewer got ${counts.length} viewer_count events in ${span} ms`,
        );
      }
      const sent = viewers.reduce((n, v) => n + v.counts.length, 0);
      assert.ok(sent < VIEWERS * 20, `${sent} viewer_count events in all, not ~${VIEWERS}² `);

      const posted = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: tokens[0]!.token,
        body: { message: 'to all two thousand' },
      });
      assert.equal(posted.status, 200);
      await eventually(
        () => viewers.every((v) => v.comments.includes(posted.body.id)),
        'every viewer received the comment',
        30_000,
      );
    },
  );
});
