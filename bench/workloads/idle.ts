/**
 * Workload 2, idle memory: a fresh server per target, viewers joined at a steady pace (not a
 * storm, whose garbage would be counted as per-viewer memory), left idle, then
 * (RSS with N viewers − RSS with 0) / N.
 */
import { Fleet } from '../lib/fleet.js';
import { sampleProc, sleep } from '../lib/proc.js';
import { startTarget, type TargetName } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { hasPostgres } from './fanout.js';

export interface IdleResult {
  target: TargetName;
  viewers: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerViewer: number;
  /** Server CPU while the idle viewers were connected and nothing happened, % of one core. */
  idleCpu: number;
  errors: string[];
}

export async function runIdle(
  plan: Plan,
  target: TargetName,
  log: (line: string) => void,
): Promise<IdleResult> {
  const n = plan.idle.viewers;
  const running = await startTarget(target, {
    lifetimeMs: plan.lifetimeMs,
    postgres: hasPostgres(),
    viewerUsers: plan.viewerUsers,
  });
  const fleet = Fleet.start(plan.generators, plan.lifetimeMs);
  const pid = running.services[0]!.pid;
  const errors: string[] = [];
  try {
    await sleep(1000);
    const before = sampleProc(pid);
    const joined = await fleet.connect(running.viewerUrls[0]!, running.protocol, n, plan.idle.concurrency);
    if (joined.failed)
      errors.push(`idle ${target}: ${joined.failed} of ${n} failed to join: ${joined.errors.join('; ')}`);
    await sleep(plan.idle.settleMs);
    const quiet = sampleProc(pid);
    await sleep(plan.idle.settleMs);
    const after = sampleProc(pid);
    const progress = await fleet.progress();
    if (progress.open !== joined.joined)
      errors.push(`idle ${target}: ${joined.joined - progress.open} viewers dropped`);
    const result: IdleResult = {
      target,
      viewers: joined.joined,
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      bytesPerViewer: joined.joined ? (after.rssBytes - before.rssBytes) / joined.joined : NaN,
      idleCpu: ((after.cpuSeconds - quiet.cpuSeconds) / ((after.at - quiet.at) / 1000)) * 100,
      errors,
    };
    log(
      `  ${target}: ${result.viewers} idle viewers, RSS ${(before.rssBytes / 2 ** 20).toFixed(0)} → ` +
        `${(after.rssBytes / 2 ** 20).toFixed(0)} MiB, ${(result.bytesPerViewer / 1024).toFixed(1)} KiB/viewer`,
    );
    return result;
  } finally {
    await fleet.stop();
    await running.stop();
  }
}
