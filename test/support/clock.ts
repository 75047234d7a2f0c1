import type { Clock } from '../../src/clock.js';

/**
 * The system's time, moved forward whenever a test jumps: for waiting out a window, a timeout or
 * a snapshot's age without sleeping through it. Starts at the real time, so issued tokens and
 * stored timestamps look ordinary.
 */
export function jumpingClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return { now: () => Date.now() + offset, jump: (ms) => (offset += ms) };
}
