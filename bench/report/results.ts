/** Everything one `npm run bench` measured: written to results.json, read by the report. */
import type { ChatResult } from '../workloads/chat.js';
import type { ReactionsResult } from '../workloads/reactions.js';
import type { FanoutResult } from '../workloads/fanout.js';
import type { GuardResult } from '../workloads/guard.js';
import type { HeapResult } from '../workloads/heap.js';
import type { IdleResult } from '../workloads/idle.js';
import type { ProfileResult } from '../workloads/profile.js';
import type { RedisResult } from '../workloads/redis.js';
import type { RestResult } from '../workloads/rest.js';
import type { StepResult } from '../workloads/step.js';
import type { StormResult } from '../workloads/storm.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export interface Results {
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** The commit of the server measured, and whether src/ had uncommitted changes. */
  commit: string;
  /** /proc/loadavg before and after: other work on the machine shows here. */
  loadBefore: string;
  loadAfter: string;
  generators: number;
  /** Absent from runs made before it was recorded (they used 4). */
  viewerUsers?: number;
  /** The step the p99 goal is judged at. */
  goalStep: { viewers: number; rate: number };
  /** Absent from runs made before the guard existed. */
  guard?: GuardResult;
  fanout: FanoutResult[];
  idle: IdleResult[];
  /** Absent from runs made before the heap workload existed. */
  heap?: HeapResult[];
  storm: StormResult[];
  rest: RestResult | undefined;
  /** Absent from runs made before the chat workload existed. */
  chat?: ChatResult;
  /** Absent from runs made before the reactions workload existed. */
  reactions?: ReactionsResult;
  redis: RedisResult | undefined;
  profile: ProfileResult | undefined;
  errors: string[];
}

/** The step where a target delivered the most messages per second at `viewers`. */
export function peakStep(result: FanoutResult, viewers: number): StepResult | undefined {
  return result.steps
    .filter((s) => s.viewers === viewers)
    .reduce<StepResult | undefined>(
      (best, s) => (!best || s.deliveredPerSec > best.deliveredPerSec ? s : best),
      undefined,
    );
}

/** Whether the ladder at `viewers` pushed the target past what it could deliver. */
export function saturated(result: FanoutResult, viewers: number): boolean {
  return result.steps
    .filter((s) => s.viewers === viewers)
    .some((s) => s.deliveredPerSec < 0.9 * s.offeredPerSec || s.p99 > 1000 || !s.drained);
}
