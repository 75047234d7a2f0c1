/** What one client may send on a socket: frame size, and messages and bytes over time. */
export interface ReceiveLimits {
  /** Largest frame, in bytes; larger ones close the socket with 1009. */
  maxFrameBytes: number;
  /** Messages a client may send per second on average… */
  messagesPerSecond: number;
  /** …and in one burst. */
  burst: number;
  /** Bytes a client may send per second on average… */
  bytesPerSecond: number;
  /** …and in one burst. Kept well below a receiver's send bound, so no one sender can fill it. */
  burstBytes: number;
}

/** Why a frame was refused: the socket closes with 1009 for `too_large`, 1008 otherwise. */
export type Refusal = 'too_large' | 'too_many_messages' | 'too_many_bytes';

/**
 * A client's allowance of messages and bytes (two token buckets), checked on every frame from
 * the first byte, before admission as after. The sender pays for flooding: a client over its
 * allowance is closed, so it can never queue more on another peer's socket than its burst.
 */
export class ReceiveBudget {
  #messages: number;
  #bytes: number;
  #refilledAt: number;

  constructor(
    readonly limits: ReceiveLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.#messages = limits.burst;
    this.#bytes = limits.burstBytes;
    this.#refilledAt = now();
  }

  /** Takes one frame of `size` bytes from the allowance; what is wrong with it, or undefined. */
  take(size: number): Refusal | undefined {
    const { maxFrameBytes, messagesPerSecond, burst, bytesPerSecond, burstBytes } = this.limits;
    if (size > maxFrameBytes) return 'too_large';
    const now = this.now();
    const seconds = (now - this.#refilledAt) / 1000;
    this.#refilledAt = now;
    this.#messages = Math.min(burst, this.#messages + seconds * messagesPerSecond);
    this.#bytes = Math.min(burstBytes, this.#bytes + seconds * bytesPerSecond);
    if (this.#messages < 1) return 'too_many_messages';
    if (this.#bytes < size) return 'too_many_bytes';
    this.#messages -= 1;
    this.#bytes -= size;
    return undefined;
  }
}

/** The close reason a client hears for each refusal. */
export const REFUSAL_REASON: Record<Refusal, string> = {
  too_large: 'frame too large',
  too_many_messages: 'too many messages',
  too_many_bytes: 'too many bytes: slow down',
};
