import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import type { IngestMedia, IngestServices, IngestSource } from '../../../src/ingest/ingests.js';
import { Ingests } from '../../../src/ingest/ingests.js';
import { FLV_H264, type PacketFacts } from '../../../src/media/ingest-plan.js';
import { recordingLog } from '../support/log.js';

const HIGH = 100;
const video = (dtsMs: number, keyframe = false, profile?: number): PacketFacts => ({
  kind: 'video',
  codec: FLV_H264,
  keyframe,
  dtsMs,
  ctsMs: 0,
  ...(profile === undefined ? {} : { profile }),
});
const audio = (dtsMs: number): PacketFacts => ({
  kind: 'audio',
  codec: 10,
  keyframe: false,
  dtsMs,
  ctsMs: 0,
});

/** Fakes around one Ingests: a session that starts when the test says, pipelines that record. */
function harness() {
  // Every caller waiting for the session hears it at once, as callers of a real store would.
  const waiting: ((id: string) => void)[] = [];
  const pipelines: { written: Buffer[]; stopped: boolean }[] = [];
  const published: string[] = [];
  const stopped: string[] = [];
  const closedSources: string[] = [];
  const services: IngestServices = {
    streamKeys: { authenticate: async () => ({ userId: 'vendor-1', keyId: 'k1', title: 'Show' }) },
    sessions: { liveOrStart: () => new Promise<string>((resolve) => waiting.push(resolve)) },
    media: {
      sfu: () =>
        ({
          publishers: {
            publish: async (sessionId: string) => {
              published.push(sessionId);
              return { resourceId: 'r1', etag: '"e"', answer: 'v=0 answer' };
            },
            stop: async (sessionId: string) => void stopped.push(sessionId),
          },
        }) as never,
    },
    thumbnails: { save: async () => true },
    pipelines: () => {
      const record = { written: [] as Buffer[], stopped: false };
      pipelines.push(record);
      const media: IngestMedia = {
        write: (bytes) => void record.written.push(bytes),
        offer: async () => 'v=0 offer',
        answer: () => {},
        onEnded: () => {},
        stop: async () => void (record.stopped = true),
        lastWords: '',
      };
      return media;
    },
    log: recordingLog(),
    streams: new Counter({
      name: 'test_ingest_streams',
      help: 'h',
      labelNames: ['protocol', 'video'],
      registers: [new Registry()],
    }),
  };
  const source: IngestSource = {
    protocol: 'rtmp',
    remote: '10.0.0.9:5000',
    format: 'flv',
    close: () => void closedSources.push('closed'),
  };
  return {
    ingests: new Ingests(services),
    source,
    pipelines,
    published,
    stopped,
    closedSources,
    startSession: (id: string) => waiting.splice(0).forEach((resolve) => resolve(id)),
  };
}

describe('Ingests', () => {
  test('packets that arrive while the session starts are held for the one pipeline, in order', async () => {
    const h = harness();
    const ingest = await h.ingests.accept('smk_key', h.source);
    const bytes = (n: number) => Buffer.from([n]);
    ingest.write(bytes(0));
    ingest.write(bytes(1), video(0, false, HIGH));
    ingest.write(bytes(2), video(0, true));
    ingest.write(bytes(3), audio(0)); // decided here: High profile must be transcoded
    for (let n = 4; n < 40; n++) ingest.write(bytes(n), n % 2 ? audio(n * 20) : video(n * 20));
    assert.equal(h.pipelines.length, 0, 'nothing runs before the session exists');
    h.startSession('session-1');
    await new Promise((resolve) => setImmediate(resolve));
    ingest.write(bytes(40), video(800));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.pipelines.length, 1, 'one pipeline, however many packets came meanwhile');
    assert.deepEqual(
      h.pipelines[0]?.written.map((b) => b[0]),
      Array.from({ length: 41 }, (_, n) => n),
    );
    assert.deepEqual(h.published, ['session-1']);
  });

  test('a stream without video is refused: its connection closes and no session is started', async () => {
    const h = harness();
    const ingest = await h.ingests.accept('smk_key', h.source);
    for (let t = 0; t <= 3_000; t += 20) ingest.write(Buffer.from([1]), audio(t));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.closedSources, ['closed']);
    assert.equal(h.pipelines.length, 0);
    assert.equal(h.ingests.size, 0);
  });

  test('the encoder going away stops the pipeline and the publisher, once', async () => {
    const h = harness();
    const ingest = await h.ingests.accept('smk_key', h.source);
    ingest.write(Buffer.from([1]), video(0, true, HIGH));
    ingest.write(Buffer.from([2]), audio(0));
    h.startSession('session-2');
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([ingest.stop('the encoder disconnected'), ingest.stop('again')]);
    assert.equal(h.pipelines[0]?.stopped, true);
    assert.deepEqual(h.stopped, ['session-2']);
    assert.equal(h.ingests.size, 0);
  });
});
