/**
 * Group commit: what arrives while a batch is being written waits, and goes in the next batch,
 * all together, whatever its key (a session). The first item on an idle writer is written at
 * once, so a lone comment waits for nothing; under load a batch holds what arrived during one
 * write, so the rate the writer can take grows with the load instead of queueing behind one
 * transaction per item, or per session: a hundred sessions that each get a comment every 50 ms
 * share one transaction rather than paying one commit each.
 *
 * One batch is written at a time. Each item settles with its own outcome; `write` gets the
 * batch grouped by key (keys and items in arrival order) and must settle every item (a throw
 * settles the ones it left with that error).
 */
export class Batches<T extends Settles> {
  /** The items waiting for the next batch, in arrival order; present while a batch is being written. */
  #waiting: { key: string; item: T }[] | undefined;

  constructor(
    private readonly write: (batch: Map<string, T[]>) => Promise<void>,
    /** Most items in one batch (a bound on one transaction's size). */
    private readonly maxBatch = 256,
  ) {}

  /** Queues `item` under `key` for the next batch, which starts now when none is being written. */
  add(key: string, item: T): void {
    if (this.#waiting) {
      this.#waiting.push({ key, item });
      return;
    }
    this.#waiting = [];
    void this.#drain([{ key, item }]);
  }

  /** Items waiting (not yet in a batch being written). */
  get waiting(): number {
    return this.#waiting?.length ?? 0;
  }

  async #drain(first: { key: string; item: T }[]): Promise<void> {
    let taken = first;
    while (taken.length > 0) {
      const batch = new Map<string, T[]>();
      for (const { key, item } of taken) {
        const items = batch.get(key);
        if (items) items.push(item);
        else batch.set(key, [item]);
      }
      await this.write(batch).catch((error: unknown) => {
        for (const { item } of taken) item.reject(error);
      });
      taken = this.#waiting?.splice(0, this.maxBatch) ?? [];
    }
    this.#waiting = undefined;
  }
}

/** An item of a batch: settled once, by the batch's writer (a second settle is a no-op). */
export interface Settles {
  reject(error: unknown): void;
}
