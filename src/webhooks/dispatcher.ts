import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import { SIGNATURE_HEADER } from '../contract/webhooks.js';
import type { Database } from '../db/schema.js';
import { JobQueue, type Job, type JobTable } from '../jobs/job-queue.js';
import { signatureHeader } from './signature.js';

export interface DispatcherOptions {
  secret: string;
  /** An attempt with no answer (status line) after this long failed. */
  timeoutMs: number;
  /** Waits after the 1st, 2nd, … failed attempt; after the last, the event is given up. */
  retryDelaysMs: readonly number[];
  /** How often this instance looks for events due. */
  pollMs: number;
  /** Deliveries in flight at once on this instance. */
  concurrency?: number;
  /** Seconds since the epoch for the signature's `t` (tests move it). */
  nowSeconds?: () => number;
}

export interface DeliveryOutcome {
  type: string;
  outcome: 'delivered' | 'failed' | 'gave_up';
}

/** A row claimed for one attempt. */
interface Claimed extends Job {
  id: string;
  event_type: string;
  url: string;
  body: string;
}

/**
 * Delivers the webhook outbox, at least once, on the job queue (jobs/job-queue.ts): each due row
 * is claimed with its `next_attempt_at` pushed past the delivery timeout as a lease, then POSTed,
 * signed afresh, with no transaction or connection held while waiting. A 2xx deletes the row;
 * anything else (or no answer within the timeout) schedules the next attempt after the retry
 * delay, until the schedule is spent and the row is marked given up. An instance killed
 * mid-delivery leaves its rows leased: they come due again when the lease ends, on any instance.
 *
 * Nothing here runs on a request's or a socket's path: a slow or failing receiver costs the
 * service only these background attempts.
 */
export class WebhookDispatcher {
  readonly #queue: JobQueue<Claimed>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: DispatcherOptions,
    log: FastifyBaseLogger,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {
    this.#queue = new JobQueue(
      new OutboxRows(db),
      (row, { signal }) => this.#deliver(row, signal),
      {
        name: 'webhook outbox',
        concurrency: options.concurrency ?? 16,
        pollMs: options.pollMs,
        // Longer than any attempt can last, so a row is never claimed again while one is in flight.
        leaseMs: options.timeoutMs * 2 + 1_000,
        retryDelayMs: (row) => retryDelay(row.attempts, options.retryDelaysMs),
        onFailure: (row, error, retryInMs) => {
          this.onOutcome({ type: row.event_type, outcome: retryInMs === undefined ? 'gave_up' : 'failed' });
          log[retryInMs === undefined ? 'error' : 'warn'](
            { receiver: hostOf(row.url), type: row.event_type, attempt: row.attempts, error, retryInMs },
            retryInMs === undefined ? 'webhook given up' : 'webhook attempt failed',
          );
        },
      },
      log,
    );
  }

  start(): void {
    this.#queue.start();
  }

  /** Claims what is due and starts delivering it; resolves once claimed, not delivered. */
  poll(): Promise<void> {
    return this.#queue.poll();
  }

  /** Resolves when every delivery in flight has finished (tests). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Stops polling and aborts the deliveries in flight: their rows stay leased and come due again
   * (a receiver may have got the request: it de-duplicates by id). Call before closing the store.
   */
  stop(): Promise<void> {
    return this.#queue.stop();
  }

  /** Rows neither delivered nor given up (the metrics' pending gauge). */
  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom('webhook_outbox')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('given_up_at', 'is', null)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  /** One attempt: resolves when delivered (the row deleted), throws what went wrong otherwise. */
  async #deliver(row: Claimed, signal: AbortSignal): Promise<void> {
    const now = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    let response: Response;
    try {
      response = await fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Streammeon-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(this.options.secret, row.body, now),
        },
        body: row.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
    } catch (error) {
      // fetch's own message ("fetch failed") says nothing; its cause says what (ECONNREFUSED, …).
      throw error instanceof Error && error.cause instanceof Error ? error.cause : error;
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`HTTP ${response.status}`);
    if (signal.aborted) return;
    await this.db.deleteFrom('webhook_outbox').where('id', '=', row.id).execute();
    this.onOutcome({ type: row.event_type, outcome: 'delivered' });
  }
}

/** The outbox as the job queue's table: `next_attempt_at` is both the due time and the lease. */
class OutboxRows implements JobTable<Claimed> {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(limit: number, leaseMs: number): Promise<Claimed[]> {
    const result = await sql<Claimed>`
      update webhook_outbox o
      set attempts = o.attempts + 1,
          next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
      from (
        select id from webhook_outbox
        where given_up_at is null and next_attempt_at <= now()
        order by next_attempt_at, id
        limit ${limit}
        for update skip locked
      ) due
      where o.id = due.id
      returning o.id::text as id, o.event_type, o.url, o.body, o.attempts`.execute(this.db);
    return result.rows;
  }

  async renew(row: Claimed, leaseMs: number): Promise<boolean> {
    const renewed = await this.#held(row)
      .set({ next_attempt_at: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
      .returning('id')
      .executeTakeFirst();
    return renewed !== undefined;
  }

  async retry(row: Claimed, delayMs: number, error: string): Promise<void> {
    await this.#held(row)
      .set({ last_error: error, next_attempt_at: sql<Date>`now() + ${delayMs} * interval '1 millisecond'` })
      .execute();
  }

  async giveUp(row: Claimed, error: string): Promise<void> {
    await this.#held(row)
      .set({ last_error: error, given_up_at: sql<Date>`now()` })
      .execute();
  }

  #held(row: Claimed) {
    return this.db
      .updateTable('webhook_outbox')
      .where('id', '=', row.id)
      .where('attempts', '=', row.attempts)
      .where('given_up_at', 'is', null);
  }
}

/**
 * The wait after failed attempt number `attempt` (1 = the first), or undefined when the schedule
 * is spent and the event is given up.
 */
export function retryDelay(attempt: number, delaysMs: readonly number[]): number | undefined {
  return delaysMs[attempt - 1];
}

/** How long after the first attempt the last one is made: the time an event is retried for. */
export function retryWindowMs(delaysMs: readonly number[]): number {
  return delaysMs.reduce((total, delay) => total + delay, 0);
}

/** A receiver as the logs name it: its host, never a path or credentials it may carry. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}
