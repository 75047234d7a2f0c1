import type { Presence } from './presence.js';

/** Presence for a single process: the local counts are the whole truth. */
export class MemoryPresence implements Presence {
  readonly #counts = new Map<string, number>();
  readonly #peaks = new Map<string, number>();

  add(sessionId: string): void {
    const n = (this.#counts.get(sessionId) ?? 0) + 1;
    this.#counts.set(sessionId, n);
    if (n > (this.#peaks.get(sessionId) ?? 0)) this.#peaks.set(sessionId, n);
  }

  async peak(sessionId: string): Promise<number> {
    return this.#peaks.get(sessionId) ?? 0;
  }

  forgetPeak(sessionId: string): void {
    this.#peaks.delete(sessionId);
  }

  remove(sessionId: string): void {
    const n = (this.#counts.get(sessionId) ?? 0) - 1;
    if (n > 0) this.#counts.set(sessionId, n);
    else this.#counts.delete(sessionId);
  }

  async count(sessionId: string): Promise<number> {
    return this.#counts.get(sessionId) ?? 0;
  }

  async counts(sessionIds: readonly string[]): Promise<Map<string, number>> {
    return new Map(sessionIds.map((id) => [id, this.#counts.get(id) ?? 0]));
  }

  async close(): Promise<void> {
    this.#counts.clear();
    this.#peaks.clear();
  }
}
