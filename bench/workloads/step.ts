/**
 * One fan-out step, shared by the fan-out, Redis and profile workloads: post comments at a fixed
 * rate for a while, wait until every viewer has them (or a drain deadline passes), and report
 * what was delivered, how late, and who spent the CPU.
 */
import type { Fleet } from '../lib/fleet.js';
import { Histogram, quantileMs, type HistogramData } from '../lib/histogram.js';
import { startWindow, type Usage } from '../lib/measure.js';
import { postComments } from '../lib/poster.js';
import { sleep } from '../lib/proc.js';
import type { Running } from '../lib/targets.js';

export interface StepResult {
  viewers: number;
  rate: number;
  /** Comments per second × viewers. */
  offeredPerSec: number;
  deliveredPerSec: number;
  posted: number;
  postFailures: Record<string, number>;
  expected: number;
  received: number;
  /** Fewest comments any viewer got: 0 means some viewer got nothing (an error). */
  minPerViewer: number;
  closed: number;
  closeCodes: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** Whether every expected message arrived before the drain deadline. */
  drained: boolean;
  usage: Usage;
  latency: HistogramData;
  /** The same latency, per fleet (the Redis workload gives each instance its own fleet). */
  perFleet: { p50: number; p99: number; max: number; received: number }[];
}

export interface StepOptions {
  running: Running;
  fleets: Fleet[];
  rate: number;
  stepMs: number;
  drainMs: number;
}

export async function fanoutStep({
  running,
  fleets,
  rate,
  stepMs,
  drainMs,
}: StepOptions): Promise<StepResult> {
  await Promise.all(fleets.map((f) => f.reset()));
  const viewers = (await Promise.all(fleets.map((f) => f.progress()))).reduce((sum, p) => sum + p.open, 0);
  const finish = startWindow(
    running.services.map((s) => s.pid),
    fleets,
  );
  const started = performance.now();
  const posted = await postComments({
    baseUrl: running.services[0]!.baseUrl,
    sessionId: running.sessionId,
    tokens: running.postTokens,
    rate,
    durationMs: stepMs,
  });
  const expected = posted.ok * viewers;
  const deadline = performance.now() + drainMs;
  let received = 0;
  let lastChange = performance.now();
  for (;;) {
    const now = (await Promise.all(fleets.map((f) => f.progress()))).reduce((a, p) => a + p.comments, 0);
    if (now !== received) lastChange = performance.now();
    received = now;
    if (received >= expected || performance.now() > deadline) break;
    await sleep(50);
  }
  // Delivery ends with the last message received, not with the poll that noticed it.
  const elapsed = Math.max(stepMs, (received >= expected ? lastChange : performance.now()) - started);
  const usage = finish();
  const reports = await Promise.all(fleets.map((f) => f.report()));
  const latency = Histogram.merge(reports.map((r) => r.latency));
  const closeCodes: Record<string, number> = {};
  for (const r of reports) {
    for (const [code, n] of Object.entries(r.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
  }
  const postFailures = Object.fromEntries(
    Object.entries(posted.statuses).filter(([status]) => status !== '200'),
  );
  return {
    viewers,
    rate,
    offeredPerSec: rate * viewers,
    deliveredPerSec: (received / elapsed) * 1000,
    posted: posted.ok,
    postFailures,
    expected,
    received,
    minPerViewer: Math.min(...reports.map((r) => r.minPerViewer)),
    closed: reports.reduce((a, r) => a + r.closed, 0),
    closeCodes,
    p50: quantileMs(latency, 0.5),
    p99: quantileMs(latency, 0.99),
    max: quantileMs(latency, 1),
    drained: received >= expected,
    usage,
    latency,
    perFleet: reports.map((r) => ({
      p50: quantileMs(r.latency, 0.5),
      p99: quantileMs(r.latency, 0.99),
      max: quantileMs(r.latency, 1),
      received: r.comments,
    })),
  };
}

/** Waits until viewers stop receiving (a saturated step's backlog has drained), at most `maxMs`. */
export async function quiesce(fleets: Fleet[], maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = -1;
  while (performance.now() < deadline) {
    const now = (await Promise.all(fleets.map((f) => f.progress()))).reduce((a, p) => a + p.comments, 0);
    if (now === last) return;
    last = now;
    await sleep(300);
  }
}
