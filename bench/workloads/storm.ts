/**
 * Workload 3, join storm, on a fresh server per target: every viewer connects at once (each
 * generator opens its whole slice concurrently). Time until all are in, until our viewer_count
 * has converged on every viewer, connection errors, messages the server sent, its CPU and RSS.
 */
import { Fleet } from '../lib/fleet.js';
import { epochMs } from '../lib/protocol.js';
import { sampleProc, sleep } from '../lib/proc.js';
import { startTarget, type TargetName } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { hasPostgres } from './fanout.js';

export interface StormResult {
  target: TargetName;
  viewers: number;
  joined: number;
  failed: number;
  errors: string[];
  /** From the first connect to the last viewer in, ms. */
  allInMs: number;
  /** Until every viewer's latest viewer_count equals N (our server only), ms. */
  convergedMs: number | undefined;
  /** viewer_count the REST API reports afterwards (our server only). */
  restViewerCount: number | undefined;
  /** Messages viewers received from the server, from the first connect until settled. */
  serverMessages: number;
  serverCpuSeconds: number;
  peakRssBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerViewer: number;
  generatorCpuSeconds: number;
  /** Viewers in over time: [ms since start, count], thinned for the chart. */
  curve: [number, number][];
}

export async function runStorm(
  plan: Plan,
  target: TargetName,
  log: (line: string) => void,
  nodeFlags: string[] = [],
) {
  const n = plan.storm.viewers;
  const running = await startTarget(target, {
    lifetimeMs: plan.lifetimeMs,
    viewerUsers: plan.viewerUsers,
    postgres: hasPostgres(),
    nodeFlags,
  });
  const fleet = Fleet.start(plan.generators, plan.lifetimeMs);
  const pid = running.services[0]!.pid;
  const errors: string[] = [];
  try {
    await sleep(1000); // generators loaded, server idle
    const before = sampleProc(pid);
    const generatorsBefore = fleet.sample();
    let peak = before.rssBytes;
    const watch = setInterval(() => (peak = Math.max(peak, sampleProc(pid).rssBytes)), 100);
    const t0 = epochMs();
    const joined = await fleet.connect(running.viewerUrls[0]!, running.protocol, n, n);
    const allInMs = (joined.joinTimes.at(-1) ?? t0) - t0;
    if (joined.failed)
      errors.push(`${target}: ${joined.failed} of ${n} failed to join: ${joined.errors.join('; ')}`);

    let convergedMs: number | undefined;
    if (running.protocol === 'live') {
      const deadline = t0 + plan.storm.deadlineMs;
      while (epochMs() < deadline) {
        const progress = await fleet.progress(joined.joined);
        if (progress.converged === joined.joined) {
          convergedMs = epochMs() - t0;
          break;
        }
        await sleep(50);
      }
      if (convergedMs === undefined)
        errors.push(`${target}: viewer_count did not converge on ${joined.joined}`);
    }
    await sleep(plan.storm.idleSettleMs);
    clearInterval(watch);
    const after = sampleProc(pid);
    const progress = await fleet.progress();
    if (progress.closed) errors.push(`${target}: ${progress.closed} viewers were dropped after joining`);
    let restViewerCount: number | undefined;
    if (running.protocol === 'live') {
      const res = await fetch(`${running.services[0]!.baseUrl}/live/sessions/${running.sessionId}`);
      restViewerCount = ((await res.json()) as { viewer_count: number }).viewer_count;
      if (restViewerCount !== joined.joined) errors.push(`${target}: REST viewer_count ${restViewerCount}`);
    }
    const result: StormResult = {
      target,
      viewers: n,
      joined: joined.joined,
      failed: joined.failed,
      errors,
      allInMs,
      convergedMs,
      restViewerCount,
      serverMessages: progress.others + progress.comments,
      serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssBytes: Math.max(peak, after.rssBytes),
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      bytesPerViewer: joined.joined ? (after.rssBytes - before.rssBytes) / joined.joined : NaN,
      generatorCpuSeconds: fleet.sample().cpuSeconds - generatorsBefore.cpuSeconds,
      curve: thin(
        joined.joinTimes.map((t, i) => [t - t0, i + 1]),
        200,
      ),
    };
    log(
      `  ${target}: ${result.joined}/${n} in after ${allInMs.toFixed(0)} ms` +
        (convergedMs !== undefined ? `, converged ${convergedMs.toFixed(0)} ms` : '') +
        `, ${result.serverMessages} msgs, ${(result.bytesPerViewer / 1024).toFixed(1)} KiB RSS/viewer`,
    );
    return result;
  } finally {
    await fleet.stop();
    await running.stop();
  }
}

/** At most `max` points, always keeping the last. */
function thin(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const every = Math.ceil(points.length / max);
  return points.filter((_, i) => i % every === 0 || i === points.length - 1);
}
