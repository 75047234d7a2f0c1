import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FLV_H264, H264_BASELINE, IngestPlanner, type PacketFacts } from '../../../src/media/ingest-plan.js';

const AAC = 10;

/** A GOP-structured stream: a key frame every `keyEveryMs`, frames every 33 ms, audio beside. */
function* stream(options: {
  keyEveryMs: number;
  bframes?: boolean;
  codec?: number;
  profile?: number;
  audio?: boolean;
}) {
  const codec = options.codec ?? FLV_H264;
  yield {
    kind: 'video',
    codec,
    keyframe: false,
    dtsMs: 0,
    ctsMs: 0,
    profile: options.profile ?? H264_BASELINE,
  } as PacketFacts;
  for (let t = 0; t < 10_000; t += 33) {
    const keyframe = t % options.keyEveryMs < 33;
    const ctsMs = options.bframes && !keyframe && (t / 33) % 3 === 1 ? 66 : 0;
    yield { kind: 'video', codec, keyframe, dtsMs: t, ctsMs } as PacketFacts;
    if (options.audio !== false)
      yield { kind: 'audio', codec: AAC, keyframe: false, dtsMs: t, ctsMs: 0 } as PacketFacts;
  }
}

function planOf(packets: Iterable<PacketFacts>) {
  const planner = new IngestPlanner();
  let seen = 0;
  for (const packet of packets) {
    seen += 1;
    const plan = planner.observe(packet);
    if (plan) return { plan, seen };
  }
  return { plan: planner.decide(), seen };
}

describe('IngestPlanner', () => {
  test('Baseline H.264 with key frames every second is passed through, decided at the second key frame', () => {
    const { plan, seen } = planOf(stream({ keyEveryMs: 1_000 }));
    assert.deepEqual(plan, {
      video: 'copy',
      audio: true,
      reason: 'H.264 Baseline, key frames every 1023 ms',
    });
    assert.ok(seen < 70, `decided after about a second of packets (${seen})`);
  });

  test('B-frames (a composition offset) make it transcode', () => {
    const { plan } = planOf(stream({ keyEveryMs: 1_000, bframes: true }));
    assert.equal('video' in plan && plan.video, 'transcode');
    assert.match('reason' in plan ? plan.reason : '', /B-frames/);
  });

  test('High profile makes it transcode, even without B-frames, decided at the first key frame', () => {
    const { plan, seen } = planOf(stream({ keyEveryMs: 2_000, profile: 100 }));
    assert.equal('video' in plan && plan.video, 'transcode');
    assert.match('reason' in plan ? plan.reason : '', /profile 100/);
    assert.ok(seen <= 3, `no waiting for a second key frame (${seen} packets)`);
  });

  test('without audio by then, an early decision waits half a second for it, then goes without', () => {
    const { plan, seen } = planOf(stream({ keyEveryMs: 2_000, profile: 100, audio: false }));
    assert.equal('audio' in plan && plan.audio, false);
    assert.ok(seen > 10 && seen < 30, `about half a second of video (${seen} packets)`);
  });

  test('key frames further apart than 2 s make it transcode, decided within the 3 s window', () => {
    const { plan, seen } = planOf(stream({ keyEveryMs: 8_000 }));
    assert.equal('video' in plan && plan.video, 'transcode');
    assert.ok(seen < 200, `decided once 3 s of media were seen (${seen})`);
  });

  test('a codec other than H.264 is transcoded', () => {
    const { plan } = planOf(stream({ keyEveryMs: 1_000, codec: 12 }));
    assert.equal('video' in plan && plan.video, 'transcode');
  });

  test('video without audio is published without an audio track', () => {
    const { plan } = planOf(stream({ keyEveryMs: 1_000, audio: false }));
    assert.equal('audio' in plan && plan.audio, false);
  });

  test('audio alone is refused', () => {
    const audioOnly = [...stream({ keyEveryMs: 1_000 })].filter((p) => p.kind === 'audio');
    assert.deepEqual(planOf(audioOnly).plan, { refused: 'the stream has no video' });
  });

  test('what was seen decides when the encoder stops early, and script data alone decides nothing', () => {
    const planner = new IngestPlanner();
    assert.equal(planner.observe({ kind: 'data', codec: 0, keyframe: false, dtsMs: 0, ctsMs: 0 }), undefined);
    planner.observe({
      kind: 'video',
      codec: FLV_H264,
      keyframe: true,
      dtsMs: 0,
      ctsMs: 0,
      profile: H264_BASELINE,
    });
    assert.equal(planner.plan, undefined);
    const plan = planner.decide();
    assert.equal('video' in plan && plan.video, 'transcode', 'one key frame says nothing of the interval');
  });
});
