import { Subscriptions, type Bus, type BusHandler, type BusStatus } from './bus.js';

/** The bus of a single process: publishing is calling the local subscribers. */
export class MemoryBus implements Bus {
  readonly #subscriptions = new Subscriptions();

  publish(channel: string, message: string): void {
    this.#subscriptions.deliver(channel, message);
  }

  subscribe(channel: string, handler: BusHandler): () => void {
    this.#subscriptions.add(channel, handler);
    return () => void this.#subscriptions.remove(channel, handler);
  }

  status(): BusStatus {
    return 'memory';
  }

  async close(): Promise<void> {
    this.#subscriptions.clear();
  }
}
