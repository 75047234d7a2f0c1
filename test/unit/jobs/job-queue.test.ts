import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { test } from 'node:test';
import {
  JobQueue,
  type Job,
  type JobHandler,
  type JobQueueOptions,
  type JobTable,
} from '../../../src/jobs/job-queue.js';
import { recordingLog } from '../support/log.js';

interface FakeJob extends Job {
  id: string;
}

interface Row {
  attempts: number;
  due: boolean;
  state: 'queued' | 'held' | 'given_up';
  error?: string;
  retryInMs?: number;
}

/**
 * A job table in memory with the fence of a real one: every write names the attempt it holds
 * and changes nothing once the row shows another. Each call is announced as an event.
 */
class FakeTable extends EventEmitter implements JobTable<FakeJob> {
  readonly rows = new Map<string, Row>();
  readonly claims: number[] = [];
  failClaims = false;

  add(...ids: string[]): void {
    for (const id of ids) this.rows.set(id, { attempts: 0, due: true, state: 'queued' });
  }

  async claim(limit: number): Promise<FakeJob[]> {
    this.claims.push(limit);
    if (this.failClaims) throw new Error('database down');
    const claimed: FakeJob[] = [];
    for (const [id, row] of this.rows) {
      if (claimed.length === limit) break;
      if (row.state !== 'queued' || !row.due) continue;
      row.attempts += 1;
      row.state = 'held';
      claimed.push({ id, attempts: row.attempts });
    }
    return claimed;
  }

  async renew(job: FakeJob): Promise<boolean> {
    const held = this.#held(job) !== undefined;
    this.emit('renew', job, held);
    return held;
  }

  async retry(job: FakeJob, delayMs: number, error: string): Promise<void> {
    const row = this.#held(job);
    if (row) Object.assign(row, { state: 'queued', due: false, error, retryInMs: delayMs });
  }

  async giveUp(job: FakeJob, error: string): Promise<void> {
    const row = this.#held(job);
    if (row) Object.assign(row, { state: 'given_up', error });
  }

  /** What a handler does on success: the row goes, only for its holder. */
  complete(job: FakeJob): void {
    if (this.#held(job)) this.rows.delete(job.id);
  }

  /** Another instance takes the job over (its lease ran out): the attempt moves on. */
  takeOver(id: string): void {
    const row = this.rows.get(id);
    if (row) row.attempts += 1;
  }

  #held(job: FakeJob): Row | undefined {
    const row = this.rows.get(job.id);
    return row?.state === 'held' && row.attempts === job.attempts ? row : undefined;
  }
}

/** A handler the test finishes by hand: each job waits until the test resolves or fails it. */
function handHandler() {
  const started = new EventEmitter();
  const pending = new Map<
    string,
    { resolve: () => void; reject: (error: Error) => void; signal: AbortSignal }
  >();
  const handler: JobHandler<FakeJob> = (job, { signal }) =>
    new Promise<void>((resolve, reject) => {
      pending.set(job.id, { resolve, reject, signal });
      signal.addEventListener('abort', () => reject(signal.reason as Error));
      started.emit('job', job);
    });
  return { handler, started, pending };
}

function queueOf(
  table: FakeTable,
  handler: JobHandler<FakeJob>,
  options: Partial<JobQueueOptions<FakeJob>> = {},
) {
  const failures: [string, string, number | undefined][] = [];
  const log = recordingLog();
  const queue = new JobQueue(
    table,
    handler,
    {
      name: 'test job',
      concurrency: 2,
      pollMs: 60_000,
      leaseMs: 30_000,
      retryDelayMs: (job) => (job.attempts < 3 ? job.attempts * 1_000 : undefined),
      onFailure: (job, error, retryInMs) => failures.push([job.id, error, retryInMs]),
      ...options,
    },
    log,
  );
  return { queue, failures, log };
}

test('a claimed job runs once and is done when its handler resolves', async () => {
  const table = new FakeTable();
  table.add('a');
  let runs = 0;
  const { queue } = queueOf(table, async (job) => {
    runs += 1;
    table.complete(job);
  });
  await queue.poll();
  await queue.idle();
  await queue.poll();
  await queue.idle();
  assert.equal(runs, 1);
  assert.equal(table.rows.size, 0);
});

test('a failed attempt is retried after the delay the policy gives, with its error', async () => {
  const table = new FakeTable();
  table.add('a');
  const { queue, failures } = queueOf(table, async () => {
    throw new Error('receiver said 500');
  });
  await queue.poll();
  await queue.idle();
  assert.deepEqual(table.rows.get('a'), {
    attempts: 1,
    due: false,
    state: 'queued',
    error: 'receiver said 500',
    retryInMs: 1_000,
  });
  assert.deepEqual(failures, [['a', 'receiver said 500', 1_000]]);
});

test('a job is given up when the policy has no more delays', async () => {
  const table = new FakeTable();
  table.add('a');
  const { queue, failures } = queueOf(table, async () => {
    throw new Error('no playable track');
  });
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    table.rows.get('a')!.due = true;
    await queue.poll();
    await queue.idle();
  }
  assert.equal(table.rows.get('a')?.state, 'given_up');
  assert.deepEqual(
    failures.map(([, , delay]) => delay),
    [1_000, 2_000, undefined],
  );
});

test('never more jobs in hand than the concurrency, and a claim asks only for free slots', async () => {
  const table = new FakeTable();
  table.add('a', 'b', 'c');
  const { handler, pending } = handHandler();
  const { queue } = queueOf(table, handler, { concurrency: 2 });
  await queue.poll();
  assert.equal(queue.size, 2);
  await queue.poll();
  assert.deepEqual(table.claims, [2]);
  pending.get('a')!.resolve();
  // The finished job leaves its slot once its promise settles (a turn of the event loop).
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(queue.size, 1);
  await queue.poll();
  assert.deepEqual(table.claims, [2, 1]);
  assert.equal(queue.size, 2);
  await queue.stop();
});

test('polls never overlap', async () => {
  const table = new FakeTable();
  const { queue } = queueOf(table, async () => undefined);
  const first = queue.poll();
  assert.equal(queue.poll(), first);
  await first;
  assert.deepEqual(table.claims, [2]);
});

test('stop() aborts the job in hand, awaits it, records nothing and claims no more', async () => {
  const table = new FakeTable();
  table.add('a', 'b');
  const { handler, pending } = handHandler();
  const { queue, failures } = queueOf(table, handler, { concurrency: 1 });
  await queue.poll();
  const job = pending.get('a')!;
  await queue.stop();
  assert.equal(job.signal.aborted, true);
  assert.equal(queue.size, 0);
  // Its lease stands (the row still held, as a killed instance leaves it); no failure recorded.
  assert.equal(table.rows.get('a')?.state, 'held');
  assert.deepEqual(failures, []);
  await queue.poll();
  assert.deepEqual(table.claims, [1]);
});

test('the lease is renewed while a job runs', async () => {
  const table = new FakeTable();
  table.add('a');
  const { handler, pending } = handHandler();
  const { queue } = queueOf(table, handler, { renewEveryMs: 5 });
  await queue.poll();
  const [renewed, held] = await once(table, 'renew');
  assert.equal(renewed.id, 'a');
  assert.equal(held, true);
  pending.get('a')!.resolve();
  await queue.idle();
});

test('a lost lease aborts the job, and its holder records nothing', async () => {
  const table = new FakeTable();
  table.add('a');
  const { handler, pending } = handHandler();
  const { queue, failures } = queueOf(table, handler, { renewEveryMs: 5 });
  await queue.poll();
  table.takeOver('a');
  const [, held] = await once(table, 'renew');
  assert.equal(held, false);
  await queue.idle();
  assert.equal(pending.get('a')!.signal.aborted, true);
  assert.deepEqual(failures, []);
  assert.equal(table.rows.get('a')?.error, undefined);
});

test("a handler's renew() says whether the job is still held", async () => {
  const table = new FakeTable();
  table.add('a');
  const answers: boolean[] = [];
  const { queue } = queueOf(table, async (job, { renew }) => {
    answers.push(await renew());
    table.takeOver(job.id);
    answers.push(await renew());
  });
  await queue.poll();
  await queue.idle();
  assert.deepEqual(answers, [true, false]);
});

test('a claim that fails is logged and the next poll claims again', async () => {
  const table = new FakeTable();
  table.add('a');
  table.failClaims = true;
  let runs = 0;
  const { queue, log } = queueOf(table, async (job) => {
    runs += 1;
    table.complete(job);
  });
  await queue.poll();
  assert.match(String(log.warnings[0]?.[1]), /test job poll failed/);
  table.failClaims = false;
  await queue.poll();
  await queue.idle();
  assert.equal(runs, 1);
});

test('a queue with no concurrency never polls', async () => {
  const table = new FakeTable();
  const { queue } = queueOf(table, async () => undefined, { concurrency: 0, pollMs: 1 });
  queue.start();
  await queue.idle();
  assert.deepEqual(table.claims, []);
  await queue.stop();
});
