/**
 * Bounded teardown. Every step that stops something a test started (a browser, an app, a
 * namespace, a Janus probe, a server process) runs under a time bound, so that a peer that never
 * answers cannot hold a suite until CI's limit: a step over its bound is logged by name,
 * force-stopped (its process group killed, its namespace deleted), and fails the hook with its
 * name, while the steps after it still run.
 */

/**
 * What a healthy step takes on a loaded 2-core machine, several times over (TEARDOWN_STEP_MS
 * overrides it: the runner's own test shortens it).
 */
export const TEARDOWN_STEP_MS = Number(process.env.TEARDOWN_STEP_MS ?? 10_000);

/** A teardown step that did not finish within its bound; its message names the step. */
export class TeardownTimeout extends Error {
  constructor(
    readonly step: string,
    readonly ms: number,
  ) {
    super(`teardown step "${step}" did not finish within ${ms} ms; it was force-stopped`);
    this.name = 'TeardownTimeout';
  }
}

export interface TeardownStep {
  /** What the step stops, as the failure names it: `browser.close`, `app.close`, … */
  name: string;
  run: () => unknown;
  /** Runs when `run` overruns: kill the process group, delete the namespace. */
  force?: () => unknown;
  /** The bound; default TEARDOWN_STEP_MS. */
  ms?: number;
}

/**
 * Runs one step under its bound. Over it: logs the step's name, runs `force` (itself bounded by
 * the same time), and rejects with TeardownTimeout. The overrunning `run` is left behind, never
 * awaited again.
 */
export async function boundedStep(step: TeardownStep): Promise<void> {
  const ms = step.ms ?? TEARDOWN_STEP_MS;
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<'overran'>((resolve) => {
    timer = setTimeout(() => resolve('overran'), ms);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(step.run), overran]);
    if (outcome !== 'overran') return;
  } finally {
    clearTimeout(timer);
  }
  // What the step may be waiting on (sockets, timers, child processes): the first clue to why.
  console.error(
    `teardown: ${step.name} did not finish within ${ms} ms; force-stopping it; ` +
      `pending: ${process.getActiveResourcesInfo().join(', ')}`,
  );
  if (step.force) {
    const forced = Promise.resolve()
      .then(step.force)
      .catch((error: unknown) => console.error(`teardown: forcing ${step.name} failed:`, error));
    await Promise.race([forced, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  }
  throw new TeardownTimeout(step.name, ms);
}

/**
 * Runs every step in order, each under its bound, even after one failed; then throws the first
 * failure (an AggregateError naming each when several failed). Falsy entries are skipped, so a
 * caller can list what it may not have started.
 */
export async function teardown(steps: (TeardownStep | false | undefined)[]): Promise<void> {
  const failures: Error[] = [];
  for (const step of steps) {
    if (!step) continue;
    try {
      await boundedStep(step);
    } catch (error) {
      failures.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  const [first] = failures;
  if (failures.length === 1 && first) throw first;
  if (failures.length > 1) {
    throw new AggregateError(failures, `teardown: ${failures.map((f) => f.message).join('; ')}`);
  }
}
