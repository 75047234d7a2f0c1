import { MemoryBus } from '../../../src/realtime/bus-memory.js';
import type { BusHandler } from '../../../src/realtime/bus.js';

/** The in-memory bus, counting the subscriptions still open (a room that never unsubscribes leaks). */
export class CountingBus extends MemoryBus {
  subscriptions = 0;

  override subscribe(channel: string, handler: BusHandler): () => void {
    const unsubscribe = super.subscribe(channel, handler);
    this.subscriptions++;
    let done = false;
    return () => {
      if (!done) this.subscriptions--;
      done = true;
      unsubscribe();
    };
  }
}
