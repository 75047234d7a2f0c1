/**
 * The one background job queue: webhook delivery and replay processing both run on it, and so
 * does any job added later (a new table gets a `JobTable` beside its feature, nothing else).
 *
 * Jobs are rows. Every `pollMs` an instance claims the due rows no one holds with one statement
 * (`FOR UPDATE SKIP LOCKED`, so instances never claim the same row), leasing them to itself and
 * counting the attempt; the attempt number is the holder's fencing token: every later write
 * about the job (renew, retry, give up, and the handler's own success) applies only while the
 * row still shows it. A job whose instance was killed comes due again when its lease runs out,
 * on any instance, and the old holder's late writes change nothing.
 */
import type { FastifyBaseLogger } from 'fastify';

/** A claimed job: its attempt number (1 = the first) fences every write about it. */
export interface Job {
  readonly attempts: number;
}

/**
 * Where one kind of job is kept (its table). Each write is conditional on the job's attempt
 * number, so a holder that lost its lease changes nothing.
 */
export interface JobTable<J extends Job> {
  /** Leases up to `limit` due jobs nobody holds to this instance for `leaseMs`, counting an attempt. */
  claim(limit: number, leaseMs: number): Promise<J[]>;
  /** Pushes the lease `leaseMs` ahead; false when the job is no longer this holder's. */
  renew(job: J, leaseMs: number): Promise<boolean>;
  /** Releases the job, due again after `delayMs`, with what went wrong. */
  retry(job: J, delayMs: number, error: string): Promise<void>;
  /** Ends the job as failed for good, with what went wrong. */
  giveUp(job: J, error: string): Promise<void>;
}

/** What a handler gets beside its job. */
export interface JobContext {
  /** Aborted when the queue stops or the lease is lost: stop, and record nothing. */
  readonly signal: AbortSignal;
  /** Renews the lease now (before a step that must only happen while held); false: lost. */
  readonly renew: () => Promise<boolean>;
}

/**
 * Does one job. Resolving means done: the handler records its own success (it knows what
 * success writes) under the job's fence. Throwing means this attempt failed: the queue retries
 * or gives up, as `retryDelayMs` says.
 */
export type JobHandler<J extends Job> = (job: J, context: JobContext) => Promise<void>;

export interface JobQueueOptions<J extends Job> {
  /** What the logs call this queue: `webhook outbox`, `replay job`. */
  name: string;
  /** Jobs in hand at once on this instance (0: this instance runs none). */
  concurrency: number;
  /** How often this instance looks for due jobs. */
  pollMs: number;
  /** How long a claim holds a job before another instance may take it. */
  leaseMs: number;
  /** Renew the lease this often while a job runs; none: the lease outlasts any attempt. */
  renewEveryMs?: number;
  /** The wait before the next attempt after this one failed; undefined gives the job up. */
  retryDelayMs: (job: J, error: unknown) => number | undefined;
  /** Hears each failed attempt, after it is recorded (logs, metrics). */
  onFailure?: (job: J, error: string, retryInMs: number | undefined) => void;
}

/**
 * Claims due jobs while slots are free and runs them with their lease kept; records a failed
 * attempt's retry or give-up; stops by aborting the jobs in hand and awaiting them.
 */
export class JobQueue<J extends Job> {
  /** The jobs in hand: each one's abort, and the promise of its run. */
  readonly #running = new Map<AbortController, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly table: JobTable<J>,
    private readonly handler: JobHandler<J>,
    private readonly options: JobQueueOptions<J>,
    private readonly log: Pick<FastifyBaseLogger, 'warn'>,
  ) {}

  /** Polls every `pollMs` from now on (and once at once); nothing when concurrency is 0. */
  start(): void {
    if (this.#timer || this.#stopped || this.options.concurrency <= 0) return;
    this.#timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.#timer.unref();
    void this.poll();
  }

  /**
   * Claims what is due (as many as free slots allow) and starts it; resolves once claimed, not
   * done. Polls never overlap.
   */
  poll(): Promise<void> {
    this.#polling ??= this.#claimAndStart().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  /** Jobs in hand on this instance now. */
  get size(): number {
    return this.#running.size;
  }

  /** Resolves once no poll is under way and no job is in hand (tests). */
  async idle(): Promise<void> {
    while (this.#polling || this.#running.size > 0) {
      await Promise.allSettled([this.#polling, ...this.#running.values()]);
    }
  }

  /**
   * No more claims; the jobs in hand are aborted and awaited. Their leases stand, so they come
   * due again after them, on any instance. Call before closing the database.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#running.keys()) controller.abort(new Error('shutting down'));
    await this.#polling?.catch(() => undefined);
    await Promise.allSettled(this.#running.values());
  }

  async #claimAndStart(): Promise<void> {
    const free = this.options.concurrency - this.#running.size;
    if (this.#stopped || free <= 0) return;
    let claimed: J[];
    try {
      claimed = await this.table.claim(free, this.options.leaseMs);
    } catch (error) {
      this.log.warn({ err: error }, `${this.options.name} poll failed`);
      return;
    }
    for (const job of claimed) {
      const controller = new AbortController();
      const done = this.#run(job, controller).finally(() => this.#running.delete(controller));
      this.#running.set(controller, done);
    }
  }

  async #run(job: J, controller: AbortController): Promise<void> {
    const renew = async () => {
      const held = await this.table.renew(job, this.options.leaseMs);
      if (!held) controller.abort(new Error('the job is no longer held by this instance'));
      return held;
    };
    const renewal =
      this.options.renewEveryMs === undefined
        ? undefined
        : setInterval(
            () =>
              void renew().catch((error: unknown) =>
                this.log.warn({ err: error }, `${this.options.name} lease renewal failed`),
              ),
            this.options.renewEveryMs,
          );
    try {
      await this.handler(job, { signal: controller.signal, renew });
    } catch (error) {
      // Stopping, or taken over: the lease (or the new holder) decides what happens next.
      if (!controller.signal.aborted) await this.#failed(job, error);
    } finally {
      clearInterval(renewal);
    }
  }

  async #failed(job: J, error: unknown): Promise<void> {
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
    const delay = this.options.retryDelayMs(job, error);
    try {
      if (delay === undefined) await this.table.giveUp(job, reason);
      else await this.table.retry(job, delay, reason);
    } catch (updateError) {
      // The database is down: the lease runs out and the job comes due again.
      this.log.warn({ err: updateError }, `${this.options.name} could not record a failed attempt`);
      return;
    }
    this.options.onFailure?.(job, reason, delay);
  }
}
