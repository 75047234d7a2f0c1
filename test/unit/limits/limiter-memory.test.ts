/** The Limiter contract on the in-process counters, on a manual clock. */
import { MemoryLimiter } from '../../../src/limits/limiter-memory.js';
import { limiterSuite } from '../../backends/limiter.suite.js';

limiterSuite('memory', {
  shared: false,
  windowMs: 60_000,
  create() {
    let now = 1_000_000;
    const clock = { now: () => now };
    const instances: MemoryLimiter[] = [];
    return {
      async open() {
        const limiter = new MemoryLimiter(clock);
        instances.push(limiter);
        return limiter;
      },
      async wait(ms) {
        now += ms;
      },
      async cleanup() {
        await Promise.all(instances.map((l) => l.close()));
      },
    };
  },
});
