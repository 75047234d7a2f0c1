/**
 * The bus: fan-out of realtime messages between instances.
 *
 * A message published on a channel reaches every subscriber of that channel on every instance,
 * in the order its publisher published it. Subscribers on the publishing instance get it at once
 * (synchronously), so local delivery never waits for, or depends on, the network. The memory
 * backend (bus-memory.ts) serves one process; the Redis backend (bus-redis.ts) many.
 *
 * Messages are strings, opaque to the bus; the hubs encode what they mean (live-hub.ts and signal-hub.ts).
 */
export interface Bus {
  /** Delivers `message` to this instance's subscribers now, and to other instances' soon. */
  publish(channel: string, message: string): void;
  /** Calls `handler` for every message on `channel`; returns the function that unsubscribes. */
  subscribe(channel: string, handler: BusHandler): () => void;
  /** `memory` for a single process; `redis` when connected; `down` while Redis is unreachable. */
  status(): BusStatus;
  close(): Promise<void>;
}

export type BusHandler = (message: string) => void;

export type BusStatus = 'memory' | 'redis' | 'down';

/** Local subscribers by channel: shared bookkeeping of both backends. */
export class Subscriptions {
  readonly #handlers = new Map<string, Set<BusHandler>>();

  /** Adds a handler; returns true when it is the channel's first. */
  add(channel: string, handler: BusHandler): boolean {
    let set = this.#handlers.get(channel);
    const first = !set;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    return first;
  }

  /** Removes a handler; returns true when the channel has none left. */
  remove(channel: string, handler: BusHandler): boolean {
    const set = this.#handlers.get(channel);
    if (!set) return false;
    set.delete(handler);
    if (set.size > 0) return false;
    this.#handlers.delete(channel);
    return true;
  }

  deliver(channel: string, message: string): void {
    const set = this.#handlers.get(channel);
    if (!set) return;
    for (const handler of set) handler(message);
  }

  channels(): IterableIterator<string> {
    return this.#handlers.keys();
  }

  clear(): void {
    this.#handlers.clear();
  }
}
