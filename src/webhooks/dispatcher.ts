import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import { SIGNATURE_HEADER } from '../contract/webhooks.js';
import type { Database } from '../db/schema.js';
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
interface Claimed {
  id: string;
  event_type: string;
  url: string;
  body: string;
  attempts: number;
}

/**
 * Delivers the webhook outbox, at least once. Every `pollMs` each instance claims the rows that
 * are due with one short statement (`FOR UPDATE SKIP LOCKED`: instances never claim the same
 * row), pushing their `next_attempt_at` past the delivery timeout as a lease; then POSTs each,
 * signed afresh, with no transaction or connection held while waiting. A 2xx deletes the row;
 * anything else (or no answer within the timeout) schedules the next attempt after the retry
 * delay, until the schedule is spent and the row is marked given up. An instance killed
 * mid-delivery leaves its rows leased: they come due again when the lease ends, on any instance.
 *
 * Nothing here runs on a request's or a socket's path: a slow or failing receiver costs the
 * service only these background attempts.
 */
export class WebhookDispatcher {
  readonly #leaseMs: number;
  readonly #concurrency: number;
  readonly #inFlight = new Map<string, AbortController>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: DispatcherOptions,
    private readonly log: FastifyBaseLogger,
    private readonly onOutcome: (outcome: DeliveryOutcome) => void = () => undefined,
  ) {
    // Longer than any attempt can last, so a row is never claimed again while one is in flight.
    this.#leaseMs = options.timeoutMs * 2 + 1_000;
    this.#concurrency = options.concurrency ?? 16;
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.#timer.unref();
    void this.poll();
  }

  /**
   * Claims what is due (as many as free delivery slots allow) and starts delivering it; resolves
   * once claimed, not delivered. Polls never overlap.
   */
  poll(): Promise<void> {
    this.#polling ??= this.#claimAndDeliver().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  /** Resolves when every delivery in flight has finished (tests). */
  async idle(): Promise<void> {
    while (this.#polling || this.#inFlight.size > 0) {
      await this.#polling;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Stops polling and aborts the deliveries in flight: their rows stay leased and come due again
   * (a receiver may have got the request: it de-duplicates by id). Call before closing the store.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const controller of this.#inFlight.values()) controller.abort(new Error('shutting down'));
    await this.#polling?.catch(() => undefined);
    while (this.#inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
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

  async #claimAndDeliver(): Promise<void> {
    const free = this.#concurrency - this.#inFlight.size;
    if (this.#stopped || free <= 0) return;
    let claimed: Claimed[];
    try {
      claimed = await this.#claim(free);
    } catch (error) {
      this.log.warn({ err: error }, 'webhook outbox poll failed');
      return;
    }
    for (const row of claimed) {
      const controller = new AbortController();
      this.#inFlight.set(row.id, controller);
      void this.#deliver(row, controller.signal).finally(() => this.#inFlight.delete(row.id));
    }
  }

  /** One statement: the due rows no other instance holds, leased to this one. */
  async #claim(limit: number): Promise<Claimed[]> {
    const result = await sql<Claimed>`
      update webhook_outbox o
      set attempts = o.attempts + 1,
          next_attempt_at = now() + ${this.#leaseMs} * interval '1 millisecond'
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

  async #deliver(row: Claimed, signal: AbortSignal): Promise<void> {
    let failure: string | undefined;
    try {
      const now = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
      const response = await fetch(row.url, {
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
      await response.body?.cancel().catch(() => undefined);
      if (response.status < 200 || response.status > 299) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure =
        error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
    }
    // Stopping mid-attempt: the lease stands, and the row comes due again after it.
    if (signal.aborted) return;
    try {
      if (failure === undefined) {
        await this.db.deleteFrom('webhook_outbox').where('id', '=', row.id).execute();
        this.onOutcome({ type: row.event_type, outcome: 'delivered' });
        return;
      }
      const delay = retryDelay(row.attempts, this.options.retryDelaysMs);
      await this.db
        .updateTable('webhook_outbox')
        .set({
          last_error: failure.slice(0, 500),
          ...(delay === undefined
            ? { given_up_at: sql<Date>`now()` }
            : { next_attempt_at: sql<Date>`now() + ${delay} * interval '1 millisecond'` }),
        })
        .where('id', '=', row.id)
        .where('attempts', '=', row.attempts)
        .execute();
      this.onOutcome({ type: row.event_type, outcome: delay === undefined ? 'gave_up' : 'failed' });
      const level = delay === undefined ? 'error' : 'warn';
      this.log[level](
        {
          receiver: hostOf(row.url),
          type: row.event_type,
          attempt: row.attempts,
          error: failure,
          retryInMs: delay,
        },
        delay === undefined ? 'webhook given up' : 'webhook attempt failed',
      );
    } catch (error) {
      // The database is down: the lease ends and the row comes due again.
      this.log.warn({ err: error }, 'webhook outbox update failed');
    }
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
