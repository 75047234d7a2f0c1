/**
 * What an idle viewer is made of: V8 heap and off-heap memory per viewer after a forced GC, and
 * the heap snapshot's growth by constructor, for our server and for bare ws side by side. Where
 * the idle-memory figure misses its goal, the difference says which objects to look at (RSS
 * cannot; and RSS is not reported here, since taking a snapshot itself grows it).
 */
import { Fleet } from '../lib/fleet.js';
import { Inspector, type HeapSummary } from '../lib/inspector.js';
import { sleep } from '../lib/proc.js';
import { startTarget, type TargetName } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { hasPostgres } from './fanout.js';

interface MemoryUsage {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface HeapResult {
  target: TargetName;
  viewers: number;
  /** Per viewer, bytes, after a forced full GC. */
  heapUsedPerViewer: number;
  externalPerViewer: number;
  /** Heap snapshot growth per viewer, largest first: constructor, objects and bytes per viewer. */
  growth: { name: string; countPerViewer: number; bytesPerViewer: number }[];
  errors: string[];
}

export async function runHeap(
  plan: Plan,
  target: TargetName,
  log: (line: string) => void,
): Promise<HeapResult> {
  const n = plan.heap.viewers;
  const running = await startTarget(target, {
    postgres: hasPostgres(),
    lifetimeMs: plan.lifetimeMs,
    viewerUsers: plan.viewerUsers,
    nodeFlags: ['--inspect=127.0.0.1:0'],
  });
  const fleet = Fleet.start(plan.generators, plan.lifetimeMs);
  const service = running.services[0]!;
  let inspector: Inspector | undefined;
  try {
    const url = Inspector.urlIn(service.output());
    if (!url) throw new Error('the server printed no inspector URL');
    inspector = await Inspector.connect(url);
    const measure = async (): Promise<[MemoryUsage, HeapSummary]> => {
      await inspector!.collectGarbage();
      const usage = await inspector!.evaluate<MemoryUsage>('process.memoryUsage()');
      const heap = await inspector!.heapSummary();
      await inspector!.collectGarbage();
      return [usage, heap];
    };
    // Viewers joined before the first measurement pay the one-time costs (compiled code, object
    // shapes, pools), so that the difference is what each further viewer costs.
    await fleet.connect(
      running.viewerUrls[0]!,
      running.protocol,
      Math.max(20, n / 10),
      plan.idle.concurrency,
    );
    await sleep(plan.idle.settleMs);
    const [usageBefore, heapBefore] = await measure();
    const joined = await fleet.connect(running.viewerUrls[0]!, running.protocol, n, plan.idle.concurrency);
    const errors = joined.failed ? [`heap: ${joined.failed} of ${n} viewers failed to join`] : [];
    await sleep(plan.idle.settleMs);
    const [usageAfter, heapAfter] = await measure();
    const per = (a: number, b: number) => (b - a) / Math.max(1, joined.joined);
    const growth = [...heapAfter.byName.entries()]
      .map(([name, after]) => {
        const before = heapBefore.byName.get(name) ?? { count: 0, bytes: 0 };
        return {
          name,
          countPerViewer: per(before.count, after.count),
          bytesPerViewer: per(before.bytes, after.bytes),
        };
      })
      .sort((a, b) => b.bytesPerViewer - a.bytesPerViewer)
      .slice(0, 25);
    const result: HeapResult = {
      target,
      viewers: joined.joined,
      heapUsedPerViewer: per(usageBefore.heapUsed, usageAfter.heapUsed),
      externalPerViewer: per(usageBefore.external, usageAfter.external),
      growth,
      errors,
    };
    log(
      `  ${target}, ${result.viewers} viewers: per viewer V8 heap ${(result.heapUsedPerViewer / 1024).toFixed(1)} KiB, external ${(result.externalPerViewer / 1024).toFixed(1)} KiB; ` +
        `top: ${growth
          .slice(0, 5)
          .map((g) => `${g.name} ${g.bytesPerViewer.toFixed(0)} B`)
          .join(', ')}`,
    );
    return result;
  } finally {
    inspector?.close();
    await fleet.stop();
    await running.stop();
  }
}
