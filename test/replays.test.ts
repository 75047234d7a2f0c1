/**
 * Replays of sessions published through Janus: Chromium publishes over WHIP, the vendor ends the
 * session, and a processing instance makes the recording into one file that plays with HTTP
 * Range. The processing instances are server processes on the same PostgreSQL database and
 * RECORDINGS_DIR as the SFU server (which processes nothing: REPLAY_JOBS=0); one is killed in
 * the middle of a job, and the next completes it once.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.js';
import { startApp, type RunningApp } from './support/app.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './support/databases.js';
import { call, goLive, register } from './support/http.js';
import { publishFromPage, whipConnected } from './support/media-clients.js';
import { createMediaNet, needsMedia, type MediaNet } from './support/media-net.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import { needsPostgres } from './support/services.js';

const skip = needsMedia() ?? needsPostgres();
const API_SECRET = 'replays-api-secret';
const PUBLISH_MS = 12_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('replays of sessions published through Janus', { skip, timeout: 240_000 }, () => {
  let net: MediaNet;
  let database: ThrowawayDatabase;
  let db: pg.Client;
  let server: RunningApp;
  let browser: Browser;
  let recordings: string;
  const workers: ServerProcess[] = [];

  before(async () => {
    recordings = mkdtempSync(join(tmpdir(), 'replays-test-'));
    net = await createMediaNet();
    const janus = await net.startJanus({ apiSecret: API_SECRET });
    database = await createThrowawayDatabase();
    server = await startApp({
      host: net.hostAddress,
      store: 'postgres',
      databaseUrl: database.url,
      env: {
        JANUS_URLS: janus.url,
        JANUS_API_SECRET: API_SECRET,
        RECORDINGS_DIR: recordings,
        REPLAY_JOBS: '0',
      },
    });
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    browser = await launchChromium({
      executablePath: net.chromiumExecutable(),
      args: net.chromiumArgs([server.baseUrl]),
    });
  });

  after(async () => {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await server?.close();
    await net?.close();
    await database?.drop();
    if (recordings) rmSync(recordings, { recursive: true, force: true });
  });

  /** A processing instance: the same database and folder, no Janus; leases of 3 s. */
  function startWorker(): Promise<ServerProcess> {
    return startServerProcess({
      DATABASE_URL: database.url,
      RECORDINGS_DIR: recordings,
      REPLAY_JOBS: '1',
      REPLAY_LEASE_SECONDS: '3',
      LOG_LEVEL: 'info',
    }).then((worker) => {
      workers.push(worker);
      return worker;
    });
  }

  async function replayOf(sessionId: string) {
    return (await call(server.baseUrl, 'GET', `/live/sessions/${sessionId}/replay`)).body;
  }

  async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  const statusIs = (sessionId: string, status: string) => () =>
    replayOf(sessionId).then((r) => (r.status === status ? r : undefined));

  async function newPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/app-config.json`);
    return page;
  }

  /** A session ended without ever publishing, whose replay the test makes a job of by hand. */
  async function enqueuedByHand(notBefore: string): Promise<string> {
    const { vendor, session } = await goLive(server.baseUrl);
    await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, { token: vendor.token });
    mkdirSync(join(recordings, 'raw', session.session_id), { recursive: true });
    await db.query(
      `insert into replays (session_id, status, not_before) values ($1, 'processing', now() - $2::interval)`,
      [session.session_id, notBefore],
    );
    return session.session_id;
  }

  const folderBytes = (dir: string) =>
    readdirSync(dir).reduce((total, name) => total + statSync(join(dir, name)).size, 0);

  let recorded: { sessionId: string; vendorToken: string; streamedSeconds: number; rawBytes: number };
  let notRecorded: string;
  let killed: string;
  let corrupt: string;
  let processingMs: number | undefined;

  it('records a WHIP publish; a session created with record: false is not recorded', async () => {
    const { vendor, session } = await goLive(server.baseUrl, 'Recorded');
    const quiet = await call(server.baseUrl, 'POST', '/live/sessions', {
      token: vendor.token,
      body: { title: 'Not recorded', record: false },
    });
    assert.equal(quiet.status, 200);
    notRecorded = quiet.body.session_id;

    const [page, other] = await Promise.all([newPage(), newPage()]);
    const published = await publishFromPage(page, `/live/sessions/${session.session_id}/whip`, vendor.token);
    assert.equal(published.status, 201, published.body);
    assert.equal(await whipConnected(page), 'connected');
    const since = Date.now();
    const quietPublish = await publishFromPage(other, `/live/sessions/${notRecorded}/whip`, vendor.token);
    assert.equal(quietPublish.status, 201, quietPublish.body);
    assert.equal(await whipConnected(other), 'connected');
    assert.equal((await replayOf(session.session_id)).status, 'recording');

    await sleep(PUBLISH_MS - (Date.now() - since));
    const ended = await call(server.baseUrl, 'POST', `/live/sessions/${session.session_id}/end`, {
      token: vendor.token,
    });
    const streamedSeconds = (Date.now() - since) / 1000;
    assert.equal(ended.status, 200);
    await call(server.baseUrl, 'POST', `/live/sessions/${notRecorded}/end`, { token: vendor.token });
    await Promise.all([page.close(), other.close()]);

    await waitFor('processing', statusIs(session.session_id, 'processing'), 10_000);
    assert.equal((await replayOf(notRecorded)).status, 'none');
    assert.equal(existsSync(join(recordings, 'raw', notRecorded)), false);
    // Janus closed its files when the room was destroyed; nothing processes yet (REPLAY_JOBS=0).
    await sleep(500);
    const raw = join(recordings, 'raw', session.session_id);
    const files = readdirSync(raw).filter((name) => name.endsWith('.mjr'));
    assert.ok(
      files.some((f) => f.includes('-audio')) && files.some((f) => f.includes('-video')),
      String(files),
    );
    recorded = {
      sessionId: session.session_id,
      vendorToken: vendor.token,
      streamedSeconds,
      rawBytes: folderBytes(raw),
    };

    // The job to be interrupted: four copies of this recording, as four publishers, due first.
    killed = await enqueuedByHand('1 hour');
    for (let copy = 0; copy < 4; copy++) {
      for (const name of files) {
        copyFileSync(
          join(raw, name),
          join(recordings, 'raw', killed, name.replace(/-user-(\d+)-/, `-user-$1${copy}-`)),
        );
      }
    }
    // A corrupt one: garbage and an empty file where Janus's recordings would be.
    corrupt = await enqueuedByHand('30 minutes');
    writeFileSync(join(recordings, 'raw', corrupt, 'videoroom-1-user-2-3-video-1.mjr'), randomBytes(4096));
    writeFileSync(join(recordings, 'raw', corrupt, 'videoroom-1-user-2-3-audio-0.mjr'), '');
  });

  it('a processing instance killed mid-job: the next completes it once, leaving no temp folder', async () => {
    const first = await startWorker();
    // Killed as soon as it holds the interrupted job (the first due).
    await waitFor(
      'the job to be claimed',
      async () => {
        const { rows } = await db.query('select attempts from replays where session_id = $1', [killed]);
        return rows[0]?.attempts === 1 ? true : undefined;
      },
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the worker said:\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    await first.stop();
    const { rows: held } = await db.query(
      `select status, lease_until > now() as leased from replays where session_id = $1`,
      [killed],
    );
    assert.deepEqual(held[0], { status: 'processing', leased: true }, 'killed with the job leased');

    const second = await startWorker();
    const replay = await waitFor('the interrupted job', statusIs(killed, 'ready'), 60_000).catch(
      (error: unknown) => {
        throw new Error(`${(error as Error).message}; the worker said:\n${second.output()}`);
      },
    );
    assert.equal(replay.content_type, 'video/webm');
    assert.equal(replay.timeline.length, 4, 'four publishers, four segments');
    const { rows } = await db.query('select attempts from replays where session_id = $1', [killed]);
    assert.equal(rows[0].attempts, 2, 'taken up once more after the lease ran out');
    const stored = readdirSync(join(recordings, 'replays')).filter((name) => name.startsWith(killed));
    assert.deepEqual(stored, [`${killed}.webm`]);
    await waitFor('the other jobs', async () =>
      (await replayOf(recorded.sessionId)).status === 'ready' && (await replayOf(corrupt)).status === 'failed'
        ? true
        : undefined,
    );
    assert.deepEqual(readdirSync(join(recordings, 'tmp')), [], 'no temp folder left');
    assert.equal(existsSync(join(recordings, 'raw', killed)), false, 'raw recording deleted once ready');
    for (const line of second.output().split('\n')) {
      if (line.includes('"replay ready"') && line.includes(recorded.sessionId)) {
        processingMs = (JSON.parse(line) as { ms: number }).ms;
      }
    }
  });

  it('the replay is ready, as long as what was streamed, with one video and one audio stream', async (t) => {
    const replay = await replayOf(recorded.sessionId);
    assert.equal(replay.status, 'ready');
    assert.equal(replay.url, `/live/sessions/${recorded.sessionId}/replay/media`);
    assert.equal(replay.content_type, 'video/webm');
    assert.ok(
      Math.abs(replay.duration_seconds - recorded.streamedSeconds) <= 1,
      `${replay.duration_seconds} s recorded of ${recorded.streamedSeconds} s streamed`,
    );
    assert.equal(replay.timeline.length, 1);
    assert.equal(replay.timeline[0].offset_seconds, 0);
    assert.ok(Math.abs(Date.parse(replay.timeline[0].at) - Date.now()) < 120_000);

    const viewer = await register(server.baseUrl);
    const whole = await fetch(`${server.baseUrl}${replay.url}?token=${viewer.token}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(whole.headers.get('content-type'), 'video/webm');
    assert.match(whole.headers.get('cache-control') ?? '', /private/);
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(bytes.length, replay.size_bytes);
    const file = join(recordings, 'downloaded.webm');
    writeFileSync(file, bytes);
    const { stdout } = await promisify(execFile)('ffprobe', [
      '-v',
      'error',
      '-show_streams',
      '-of',
      'json',
      file,
    ]);
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string }[] }).streams;
    assert.deepEqual(streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), [
      'audio:opus',
      'video:vp8',
    ]);

    t.diagnostic(
      `streamed ${recorded.streamedSeconds.toFixed(1)} s; raw .mjr ${recorded.rawBytes} B ` +
        `(${Math.round((recorded.rawBytes / recorded.streamedSeconds) * 60)} B/min); final ${bytes.length} B ` +
        `(${Math.round((bytes.length / replay.duration_seconds) * 60)} B/min); processed in ${processingMs} ms`,
    );
  });

  it('serves byte ranges: 206 with Content-Range equal to that slice, 416 beyond the end', async () => {
    const { url, size_bytes: size } = await replayOf(recorded.sessionId);
    const viewer = await register(server.baseUrl);
    const auth = { authorization: `Bearer ${viewer.token}` };
    const whole = Buffer.from(await (await fetch(server.baseUrl + url, { headers: auth })).arrayBuffer());
    const start = Math.floor(size / 2);
    const middle = await fetch(server.baseUrl + url, {
      headers: { ...auth, range: `bytes=${start}-${start + 999}` },
    });
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get('content-range'), `bytes ${start}-${start + 999}/${size}`);
    assert.deepEqual(Buffer.from(await middle.arrayBuffer()), whole.subarray(start, start + 1000));
    const tail = await fetch(server.baseUrl + url, { headers: { ...auth, range: 'bytes=-100' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(size - 100));
    const open = await fetch(server.baseUrl + url, { headers: { ...auth, range: `bytes=${size - 10}-` } });
    assert.equal(open.headers.get('content-range'), `bytes ${size - 10}-${size - 1}/${size}`);
    assert.deepEqual(Buffer.from(await open.arrayBuffer()), whole.subarray(size - 10));
    const beyond = await fetch(server.baseUrl + url, { headers: { ...auth, range: `bytes=${size}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);
    assert.equal((await fetch(server.baseUrl + url)).status, 401, 'signed-in users only');
  });

  it('lists ready replays with their sessions', async () => {
    const page = await call(server.baseUrl, 'GET', '/live/sessions/replays?limit=1');
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 1);
    assert.ok(page.body.next_cursor);
    const rest = await call(server.baseUrl, 'GET', `/live/sessions/replays?cursor=${page.body.next_cursor}`);
    const ids = [...page.body.items, ...rest.body.items].map(
      (item: { session: { session_id: string } }) => item.session.session_id,
    );
    assert.deepEqual(ids.sort(), [recorded.sessionId, killed].sort());
    const item = [...page.body.items, ...rest.body.items].find(
      (i: { session: { session_id: string } }) => i.session.session_id === recorded.sessionId,
    );
    assert.equal(item.session.title, 'Recorded');
    assert.equal(item.session.replay_status, 'ready');
    assert.equal(item.replay.status, 'ready');
  });

  it('a corrupt recording fails with a reason; the session still answers, replay_status failed', async () => {
    const replay = await replayOf(corrupt);
    assert.equal(replay.status, 'failed');
    assert.match(replay.error, /no playable track/);
    assert.equal(replay.url, null);
    const session = await call(server.baseUrl, 'GET', `/live/sessions/${corrupt}`);
    assert.equal(session.status, 200);
    assert.equal(session.body.replay_status, 'failed');
  });

  it('ids that are not UUIDs are 404 before any file system access', async () => {
    const viewer = await register(server.baseUrl);
    for (const path of ['..%2F..%2Fetc%2Fpasswd', '..', 'x.webm']) {
      const media = await call(server.baseUrl, 'GET', `/live/sessions/${path}/replay/media`, {
        token: viewer.token,
      });
      assert.equal(media.status, 404, path);
      assert.equal((await call(server.baseUrl, 'GET', `/live/sessions/${path}/replay`)).status, 404, path);
    }
  });

  it("another vendor's delete is 403; the owner's is 204, and then there is no replay", async () => {
    const other = await register(server.baseUrl, 'vendor');
    const path = `/live/sessions/${recorded.sessionId}/replay`;
    const refused = await call(server.baseUrl, 'DELETE', path, { token: other.token });
    assert.equal(refused.status, 403);
    assert.ok(refused.body.detail);
    const deleted = await call(server.baseUrl, 'DELETE', path, { token: recorded.vendorToken });
    assert.equal(deleted.status, 204);
    assert.equal((await replayOf(recorded.sessionId)).status, 'none');
    assert.equal(existsSync(join(recordings, 'replays', `${recorded.sessionId}.webm`)), false);
    const again = await call(server.baseUrl, 'DELETE', path, { token: recorded.vendorToken });
    assert.equal(again.status, 404);
    const viewer = await register(server.baseUrl);
    assert.equal((await call(server.baseUrl, 'GET', `${path}/media`, { token: viewer.token })).status, 404);
  });
});
