/**
 * Workload 1, comment fan-out: one live session per target, viewers added in steps (1k, 5k,
 * 10k: existing viewers stay connected), and at each size comments posted at increasing rates
 * until the target can no longer keep up (delivery under 90% of offered, or p99 past 1 s).
 */
import { Fleet } from '../lib/fleet.js';
import { startTarget, type TargetName } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { fanoutStep, quiesce, type StepResult } from './step.js';

export interface FanoutResult {
  target: TargetName;
  storage: string;
  steps: StepResult[];
  errors: string[];
}

/** `root`: another checkout of this repository to run as our server (`--compare`). */
export async function runFanout(plan: Plan, target: TargetName, log: (line: string) => void, root?: string) {
  const result: FanoutResult = { target, storage: '', steps: [], errors: [] };
  const running = await startTarget(target, {
    lifetimeMs: plan.lifetimeMs,
    postgres: hasPostgres(),
    viewerUsers: plan.viewerUsers,
    root,
  });
  result.storage = running.storage;
  const fleet = Fleet.start(plan.generators, plan.lifetimeMs);
  try {
    for (const size of plan.fanout.sizes) {
      const add = size.viewers - (await fleet.progress()).open;
      const joined = await fleet.connect(
        running.viewerUrls[0]!,
        running.protocol,
        add,
        plan.fanout.connectConcurrency,
      );
      if (joined.failed) {
        result.errors.push(
          `${target}: ${joined.failed} of ${add} viewers failed to join: ${joined.errors.join('; ')}`,
        );
        break;
      }
      await quiesce([fleet], 3000);
      const goal = plan.fanout.goal.viewers === size.viewers ? plan.fanout.goal.rate : undefined;
      const rates = [...size.rates];
      for (let i = 0; i < rates.length; i += 1) {
        const rate = rates[i]!;
        const step = await fanoutStep({
          running,
          fleets: [fleet],
          rate,
          stepMs: plan.fanout.stepMs,
          drainMs: plan.fanout.drainMs,
        });
        result.steps.push(step);
        log(
          `  ${target} ${step.viewers} viewers × ${rate}/s: ${Math.round(step.deliveredPerSec)} msg/s ` +
            `(offered ${step.offeredPerSec}), p50 ${step.p50.toFixed(1)} p99 ${step.p99.toFixed(1)} ms, ` +
            `server ${step.usage.serverCpu.map((c) => c.toFixed(0)).join('+')}% gen ${step.usage.generatorCpu.toFixed(0)}%`,
        );
        const problem = stepProblem(step);
        if (problem) result.errors.push(`${target} ${step.viewers}×${rate}/s: ${problem}`);
        const saturated = step.deliveredPerSec < 0.9 * step.offeredPerSec || step.p99 > 1000 || !step.drained;
        if (saturated) {
          await quiesce([fleet], 20_000);
          // Past saturation only the goal step is still worth running (its answer is then "no").
          const goalRun = goal === undefined || rates.slice(0, i + 1).includes(goal);
          if (goalRun) break;
          rates.splice(i + 1, rates.length, goal);
        }
      }
    }
  } finally {
    await fleet.stop();
    await running.stop();
  }
  return result;
}

/** What makes a step an error (not merely slow): a failed post, a viewer with nothing, a drop. */
export function stepProblem(
  step: Pick<StepResult, 'posted' | 'postFailures' | 'minPerViewer' | 'closed' | 'closeCodes'>,
): string | undefined {
  if (step.posted === 0 || Object.keys(step.postFailures).length) {
    return `posting failed: ${JSON.stringify(step.postFailures)}`;
  }
  if (step.minPerViewer === 0) return 'a viewer received no comments';
  if (step.closed) return `${step.closed} viewers were disconnected: ${JSON.stringify(step.closeCodes)}`;
  return undefined;
}

export const hasPostgres = () => Boolean(process.env.DATABASE_URL);
