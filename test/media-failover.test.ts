/**
 * Two Janus servers (JANUS_URLS): sessions spread over both, and when one dies its sessions'
 * viewers hear `reconnecting` on /ws/live, the publisher publishes again onto the survivor, and
 * viewers play again, within 10 s and without restarting our server. /health follows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';
import { playFromPage, publishFromPage, whipConnected } from './support/media-clients.js';
import { needsMedia, type JanusProcess } from './support/media-net.js';
import { startMediaStack, type MediaStack } from './support/media-stack.js';
import { eventually, SocketPool } from './support/ws.js';
import { serverName } from '../src/media/janus-pool.js';

const skip = needsMedia();

interface Live {
  vendor: { token: string };
  sessionId: string;
  page: Page;
}

describe('two Janus servers: placement and failover', { skip }, () => {
  let stack: MediaStack;
  let janus: JanusProcess[];
  let server: RunningApp;
  let viewerPage: Page;
  const sockets = new SocketPool();
  const lives: Live[] = [];

  before(async () => {
    stack = await startMediaStack({ janusServers: 2 });
    ({ janus, server } = stack);
    viewerPage = await stack.browser.newPage();
    await viewerPage.goto(`${server.baseUrl}/app-config.json`);
  });

  after(async () => {
    sockets.closeAll();
    await stack?.close();
  });

  async function serverOf(sessionId: string): Promise<string | undefined> {
    return (await server.app.media.sfu().rooms.get(sessionId))?.server;
  }

  async function health(): Promise<{ status: string; reachable: Record<string, boolean> }> {
    const reply = await call(server.baseUrl, 'GET', '/health');
    const servers: { name: string; reachable: boolean }[] = reply.body.media.servers;
    return {
      status: reply.body.status,
      reachable: Object.fromEntries(servers.map((s) => [s.name, s.reachable])),
    };
  }

  it('places the rooms of four sessions on both servers; /health lists both reachable', async () => {
    const names = janus.map((j) => serverName(j.url));
    assert.deepEqual(await health(), {
      status: 'ok',
      reachable: { [names[0]!]: true, [names[1]!]: true },
    });
    for (let i = 0; i < 4; i++) {
      const { vendor, session } = await goLive(server.baseUrl, `failover ${i}`);
      const page = await stack.browser.newPage();
      await page.goto(`${server.baseUrl}/app-config.json`);
      const reply = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
      assert.equal(reply.status, 201, reply.body);
      assert.equal(await whipConnected(page), 'connected');
      lives.push({ vendor, sessionId: session.session_id, page });
    }
    const placed = await Promise.all(lives.map((live) => serverOf(live.sessionId)));
    assert.deepEqual(
      names.map((name) => placed.filter((p) => p === name).length),
      [2, 2],
      `placement: ${placed.join(', ')}`,
    );
  });

  it('moves the sessions of a killed Janus to the other within 10 s; /health says degraded', async (t) => {
    assert.equal(lives.length, 4, 'needs the sessions of the previous test');
    const killed = janus[0]!;
    const killedName = serverName(killed.url);
    const survivorName = serverName(janus[1]!.url);
    const onKilled: Live[] = [];
    for (const l of lives) if ((await serverOf(l.sessionId)) === killedName) onKilled.push(l);
    assert.equal(onKilled.length, 2);
    const target = onKilled[0]!;
    const viewer = await register(server.baseUrl);
    const socket = await sockets.open(`${server.wsUrl}/ws/live/${target.sessionId}?token=${viewer.token}`);
    await socket.waitFor((m) => m.type === 'media' && m.state === 'live');
    const before = await playFromPage(viewerPage, target.sessionId, viewer.token);
    assert.ok(before.width > 0 && before.advancing, 'the viewer plays before the kill');

    const seen = socket.messages.length;
    const killedAt = Date.now();
    await killed.kill('SIGKILL');
    await socket.waitFor((m) => m.type === 'media' && m.state === 'reconnecting', 10_000, seen);
    const reconnectingAfter = Date.now() - killedAt;

    // What the studio does on `reconnecting`: publish again to the same session.
    const again = await publishFromPage(
      target.page,
      `/live/sessions/${target.sessionId}/whip`,
      target.vendor.token,
    );
    assert.equal(again.status, 201, again.body);
    assert.equal(await whipConnected(target.page), 'connected');
    assert.equal(await serverOf(target.sessionId), survivorName, 'the room moved to the surviving Janus');
    await socket.waitFor((m) => m.type === 'media' && m.state === 'live', 10_000, seen);
    const played = await playFromPage(viewerPage, target.sessionId, viewer.token);
    assert.equal(played.post, 406);
    assert.equal(played.patch, 204);
    assert.ok(played.width > 0, 'the viewer decodes video from the surviving Janus');
    assert.ok(played.advancing, 'playback advances');
    const failover = Date.now() - killedAt;
    t.diagnostic(`failover: reconnecting after ${reconnectingAfter} ms, playing again after ${failover} ms`);
    assert.ok(failover < 10_000, `failover took ${failover} ms`);

    // The other session on the killed server was told too; the survivor's sessions were not.
    const other = onKilled[1]!;
    assert.equal((await server.app.media.sfu().rooms.get(other.sessionId))?.state, 'reconnecting');
    for (const l of lives.filter((x) => !onKilled.includes(x))) {
      assert.equal((await server.app.media.sfu().rooms.get(l.sessionId))?.state, 'live');
    }

    assert.deepEqual(await health(), {
      status: 'degraded',
      reachable: { [killedName]: false, [survivorName]: true },
    });

    // Janus back on the same address: the pool finds it again.
    const [first, last] = killed.rtpPorts;
    janus[0] = await stack.net.startJanus({
      apiSecret: killed.apiSecret,
      wsPort: Number(new URL(killed.url).port),
      rtpPorts: [first, last],
    });
    await eventually(async () => (await health()).status === 'ok', '/health says ok again', 10_000);
    assert.deepEqual((await health()).reachable, { [killedName]: true, [survivorName]: true });
  });
});
