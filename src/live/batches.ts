/**
 * Group commit, per key (a session): what arrives for a key while its previous batch is being
 * written waits, and goes in the next batch, all together. The first item for an idle key is
 * written at once, so a lone comment waits for nothing; under load a batch holds what arrived
 * during one write, so the rate a key can take grows with the load instead of queueing behind
 * one transaction per item.
 *
 * Keys are independent: one session's slow batch never holds another's. Each item settles
 * with its own outcome; `write` must settle every item of the batch it is given (a throw settles
 * the ones it left with that error).
 */
export class Batches<T extends Settles> {
  /** Per key: the items waiting for the next batch; present while a batch is being written. */
  readonly #waiting = new Map<string, T[]>();

  constructor(
    private readonly write: (key: string, batch: T[]) => Promise<void>,
    /** Most items in one batch (a bound on one transaction's size). */
    private readonly maxBatch = 256,
  ) {}

  /** Queues `item` for `key`'s next batch, which starts now when none is being written. */
  add(key: string, item: T): void {
    const waiting = this.#waiting.get(key);
    if (waiting) {
      waiting.push(item);
      return;
    }
    this.#waiting.set(key, []);
    void this.#drain(key, [item]);
  }

  /** Items waiting (not yet in a batch being written) over every key. */
  get waiting(): number {
    let count = 0;
    for (const items of this.#waiting.values()) count += items.length;
    return count;
  }

  async #drain(key: string, first: T[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      await this.write(key, batch).catch((error: unknown) => {
        for (const item of batch) item.reject(error);
      });
      const waiting = this.#waiting.get(key) ?? [];
      batch = waiting.splice(0, this.maxBatch);
    }
    this.#waiting.delete(key);
  }
}

/** An item of a batch: settled once, by the batch's writer (a second settle is a no-op). */
export interface Settles {
  reject(error: unknown): void;
}
