/**
 * Preloaded (`--import`) into every process the bench starts: servers, baselines, generators.
 * A benchmark must never leave load running on a shared machine, so each child exits on its
 * own when its parent goes away or when its lifetime (BENCH_LIFETIME_MS) runs out, even if
 * the parent was SIGKILLed and never reached its `finally`. The timers are unref'd: they never
 * keep a process alive, and they add nothing measurable to the process they guard.
 */
const parent = process.ppid;
const lifetimeMs = Number(process.env.BENCH_LIFETIME_MS ?? 25 * 60_000);

setTimeout(() => {
  console.error(`bench lifeline: pid ${process.pid} outlived ${lifetimeMs} ms, exiting`);
  process.exit(70);
}, lifetimeMs).unref();

setInterval(() => {
  if (process.ppid !== parent) process.exit(71);
}, 1000).unref();
