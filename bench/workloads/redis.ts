/**
 * Workload 5, two instances over Redis: the same viewers and comment rate against one instance
 * and then against two instances sharing PostgreSQL and Redis, viewers split evenly, comments
 * posted to the first. Each half of the viewers has its own generators, so the latency of
 * viewers on the instance that took the POST ("local") and on the other ("remote", one Redis
 * hop further) are reported apart. The overhead is remote minus the single instance.
 */
import { Fleet } from '../lib/fleet.js';
import { startOurs } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { stepProblem } from './fanout.js';
import { fanoutStep, type StepResult } from './step.js';

export interface RedisCase {
  name: 'one instance' | 'two instances: local' | 'two instances: remote';
  step: StepResult;
  /** This case's viewers only. */
  view: StepResult['perFleet'][number];
}

export interface RedisResult {
  cases: RedisCase[];
  errors: string[];
  skipped?: string;
}

export async function runRedis(plan: Plan, log: (line: string) => void): Promise<RedisResult> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl || !process.env.DATABASE_URL) {
    return {
      cases: [],
      errors: [],
      skipped: 'needs both REDIS_URL and DATABASE_URL (instances share PostgreSQL)',
    };
  }
  const result: RedisResult = { cases: [], errors: [] };
  const half = Math.floor(plan.redis.viewers / 2);
  const generatorsEach = Math.max(1, Math.floor(plan.generators / 2));
  for (const instances of [1, 2]) {
    const running = await startOurs({
      instances,
      redisUrl: instances === 2 ? redisUrl : undefined,
      postgres: true,
      lifetimeMs: plan.lifetimeMs,
      viewerUsers: plan.viewerUsers,
    });
    const fleets = [
      Fleet.start(generatorsEach, plan.lifetimeMs),
      Fleet.start(generatorsEach, plan.lifetimeMs),
    ];
    try {
      for (const [i, fleet] of fleets.entries()) {
        const urls = running.viewerUrls[Math.min(i, running.viewerUrls.length - 1)]!;
        const joined = await fleet.connect(urls, running.protocol, half, 100);
        if (joined.failed) result.errors.push(`redis ${instances}: ${joined.failed} viewers failed to join`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // One step for all viewers; each fleet's own latency tells local from remote apart.
      const step = await fanoutStep({
        running,
        fleets,
        rate: plan.redis.rate,
        stepMs: plan.redis.stepMs,
        drainMs: 10_000,
      });
      const problem = stepProblem(step);
      if (problem) result.errors.push(`redis, ${instances} instance(s): ${problem}`);
      const cases: RedisCase[] =
        instances === 1
          ? [
              {
                name: 'one instance',
                step,
                view: { p50: step.p50, p99: step.p99, max: step.max, received: step.received },
              },
            ]
          : [
              { name: 'two instances: local', step, view: step.perFleet[0]! },
              { name: 'two instances: remote', step, view: step.perFleet[1]! },
            ];
      for (const c of cases) {
        result.cases.push(c);
        log(
          `  ${c.name}: p50 ${c.view.p50.toFixed(1)} p99 ${c.view.p99.toFixed(1)} max ${c.view.max.toFixed(1)} ms`,
        );
      }
    } finally {
      await Promise.all(fleets.map((f) => f.stop()));
      await running.stop();
    }
  }
  return result;
}
