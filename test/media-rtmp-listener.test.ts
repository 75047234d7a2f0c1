/**
 * The RTMP listener on its own (no Janus, no database): a real RTMP client (FFmpeg) publishes
 * over RTMP and RTMPS, and the listener says which application and key it asked for, takes no
 * packet before the publish is accepted, passes each packet with the facts the ingest plan reads,
 * refuses playing, and tells its owner once when the encoder went.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DomainError } from '../src/contract/errors.js';
import { RtmpListener, type RtmpPublishHandler, type RtmpSink } from '../src/ingest/rtmp-listener.js';
import type { PacketFacts } from '../src/media/ingest-plan.js';
import { needsMedia } from './support/media-net.js';
import { recordingLog } from './unit/support/log.js';

const skip = needsMedia();

/** What one publish handed to its sink. */
interface Received {
  request: { app: string; key: string };
  facts: PacketFacts[];
  bytes: number;
  closed: { reason: string; failed: boolean }[];
}

/** Two seconds of Baseline H.264 and AAC, as fast as FFmpeg makes them; resolves with its exit code. */
function publish(url: string, extra: string[] = []): Promise<number | null> {
  const child = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '2', '-map', '0:v', '-map', '1:a'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '30', '-c:a', 'aac'],
      ...extra,
      ...['-f', 'flv', url],
    ],
    { stdio: 'ignore' },
  );
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Waits until `received` heard the close (the listener learns it just after the client exits). */
async function closedOf(received: Received): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (received.closed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('the RTMP listener', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'streammeon-rtmp-'));
  const received: Received[] = [];
  let refuse = false;
  const handler: RtmpPublishHandler = async (request) => {
    if (refuse) throw new DomainError('unauthorized', 'Invalid or revoked stream key');
    const entry: Received = { request, facts: [], bytes: 0, closed: [] };
    received.push(entry);
    const sink: RtmpSink = {
      packet(tag, facts) {
        entry.facts.push(facts);
        entry.bytes += tag.length;
      },
      closed: (reason, failed) => void entry.closed.push({ reason, failed }),
    };
    return sink;
  };
  let plain: RtmpListener;
  let tls: RtmpListener;
  let plainPort = 0;
  let tlsPort = 0;

  before(async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
        ...['-keyout', key, '-out', cert],
      ],
      { stdio: 'ignore' },
    );
    plain = new RtmpListener(handler, recordingLog());
    tls = new RtmpListener(handler, recordingLog(), { cert, key });
    plainPort = await plain.listen(0, '127.0.0.1');
    tlsPort = await tls.listen(0, '127.0.0.1');
  });

  after(async () => {
    await plain?.close();
    await tls?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands over the application, the key and every packet with its facts, then the close, once', async () => {
    received.length = 0;
    assert.equal(await publish(`rtmp://127.0.0.1:${plainPort}/live/smk_plain`), 0);
    const [entry] = received;
    assert.ok(entry);
    await closedOf(entry);
    assert.deepEqual(entry.request, { app: 'live', key: 'smk_plain' });
    const video = entry.facts.filter((f) => f.kind === 'video');
    assert.equal(video[0]?.profile, 66, 'the sequence header names Baseline');
    assert.ok(video.filter((f) => f.keyframe).length >= 2, 'a key frame each second');
    assert.ok(
      video.every((f) => f.ctsMs === 0),
      'Baseline has no B-frames',
    );
    assert.ok(entry.facts.some((f) => f.kind === 'audio'));
    assert.deepEqual(entry.closed, [{ reason: 'the encoder disconnected', failed: false }]);
  });

  it('speaks RTMPS with a certificate', async () => {
    received.length = 0;
    assert.equal(await publish(`rtmps://127.0.0.1:${tlsPort}/live/smk_tls`), 0);
    assert.deepEqual(received[0]?.request, { app: 'live', key: 'smk_tls' });
    assert.ok((received[0]?.bytes ?? 0) > 10_000, 'the media arrived over TLS');
  });

  it('a refused publish ends the encoder before any packet is taken', async () => {
    received.length = 0;
    refuse = true;
    try {
      const started = Date.now();
      assert.notEqual(await publish(`rtmp://127.0.0.1:${plainPort}/live/smk_wrong`), 0);
      assert.ok(Date.now() - started < 2_000, 'refused at once, not after two seconds of media');
      assert.equal(received.length, 0);
    } finally {
      refuse = false;
    }
  });

  it('refuses to play', async () => {
    received.length = 0;
    const child = spawn(
      'ffmpeg',
      ['-loglevel', 'error', '-i', `rtmp://127.0.0.1:${plainPort}/live/smk_x`, '-f', 'null', '-'],
      {
        stdio: 'ignore',
      },
    );
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.equal(received.length, 0);
  });
});
