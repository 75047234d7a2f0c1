import type { FastifyBaseLogger } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Poll } from '../contract/polls.js';
import type { Database } from '../db/schema.js';
import { JobQueue, type JobTable } from '../jobs/job-queue.js';
import type { Polls } from './polls.js';

/** An open poll whose time came, claimed by this instance. */
interface DuePoll {
  id: string;
  session_id: string;
  attempts: number;
}

/** How often an instance looks for polls past their time (the bound when their opener died). */
const POLL_MS = 1_000;
const LEASE_MS = 10_000;

/**
 * Polls close at their `ends_at` on the one job queue: an open poll past it is a due job, so
 * whichever instance is up closes it, once (the claim's attempt fences the close). The instance
 * that opened a poll also looks at once when its time comes, so a poll closes on time rather
 * than up to a poll interval late.
 */
export class PollDeadlines {
  readonly #queue: JobQueue<DuePoll>;
  readonly #wakeUps = new Set<NodeJS.Timeout>();
  #stopped = false;

  constructor(
    db: Kysely<Database>,
    polls: Polls,
    private readonly clock: Clock,
    log: FastifyBaseLogger,
  ) {
    this.#queue = new JobQueue(
      new DuePolls(db, clock),
      (job) => polls.closeDue(job),
      {
        name: 'poll deadline',
        concurrency: 4,
        pollMs: POLL_MS,
        leaseMs: LEASE_MS,
        retryDelayMs: (job) => Math.min(30_000, job.attempts * 1_000),
        onFailure: (job, error) =>
          log.warn({ poll: job.id, attempt: job.attempts, error }, 'could not close a poll'),
      },
      log,
    );
  }

  start(): void {
    this.#queue.start();
  }

  /** Looks for due polls when `poll` is due (this instance opened it). */
  opened(poll: Poll): void {
    if (this.#stopped) return;
    const wait = Math.max(0, Date.parse(poll.ends_at) - this.clock.now());
    const timer = setTimeout(() => {
      this.#wakeUps.delete(timer);
      void this.#queue.poll();
    }, wait + 5);
    timer.unref();
    this.#wakeUps.add(timer);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#wakeUps) clearTimeout(timer);
    this.#wakeUps.clear();
    await this.#queue.stop();
  }
}

/** The open polls as the job queue's table: one past `ends_at` is due (by the app's clock). */
class DuePolls implements JobTable<DuePoll> {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async claim(limit: number, leaseMs: number): Promise<DuePoll[]> {
    const result = await sql<DuePoll>`
      update polls
      set lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
      where id in (
        select id from polls
        where status = 'open' and ends_at <= ${new Date(this.clock.now())}
          and (lease_until is null or lease_until < now())
        order by ends_at
        limit ${limit}
        for update skip locked
      )
      returning id::text as id, session_id::text as session_id, attempts`.execute(this.db);
    return result.rows;
  }

  async renew(job: DuePoll, leaseMs: number): Promise<boolean> {
    const row = await this.#held(job)
      .set({ lease_until: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async retry(job: DuePoll, delayMs: number): Promise<void> {
    await this.#held(job)
      .set({ lease_until: sql<Date>`now() + ${delayMs} * interval '1 millisecond'` })
      .execute();
  }

  /** Never called (every failure is retried); releases the job as retry would. */
  async giveUp(job: DuePoll): Promise<void> {
    await this.#held(job).set({ lease_until: null }).execute();
  }

  #held(job: DuePoll) {
    return this.db
      .updateTable('polls')
      .where('id', '=', job.id)
      .where('status', '=', 'open')
      .where('attempts', '=', job.attempts);
  }
}
