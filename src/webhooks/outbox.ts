import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { WebhookEvent, WebhookEventType, WebhookEvents } from '../contract/webhooks.js';
import type { Database } from '../db/schema.js';

/**
 * Records webhook events in the outbox, inside the caller's transaction: the event exists exactly
 * when the change it reports was committed. Any service calls it with its own transaction:
 *
 *     await outbox.enqueue(trx, 'session.started', { session_id, … });
 *
 * One row per receiver (WEBHOOK_URLS), each delivered and retried on its own by the
 * WebhookDispatcher, all with the event's one id. With no receiver configured nothing is written.
 */
export class WebhookOutbox {
  constructor(
    private readonly urls: readonly string[],
    private readonly clock: Clock,
  ) {}

  /** True when events are recorded (a receiver is configured). */
  get enabled(): boolean {
    return this.urls.length > 0;
  }

  /** Adds the event to the outbox within `trx`; resolves with the event (undefined when disabled). */
  async enqueue<T extends WebhookEventType>(
    trx: Kysely<Database>,
    type: T,
    data: WebhookEvents[T],
  ): Promise<WebhookEvent<T> | undefined> {
    if (this.urls.length === 0) return undefined;
    const event: WebhookEvent<T> = {
      id: randomUUID(),
      type,
      created_at: new Date(this.clock.now()).toISOString(),
      data,
    };
    const body = JSON.stringify(event);
    await trx
      .insertInto('webhook_outbox')
      .values(this.urls.map((url) => ({ event_id: event.id, event_type: type, url, body })))
      .execute();
    return event;
  }
}
