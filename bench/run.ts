/**
 * `npm run bench [-- --quick] [-- --only=guard,fanout,idle,heap,storm,rest,chat,reactions,redis,profile] [-- --render=results.json]`
 * `npm run bench -- --compare=<git ref>`: the guard and the chat workload also run the ref's server
 * (checked out in a temporary worktree) in the same alternation, and print this checkout's
 * figures beside the ref's.
 * `npm run bench -- --only=media`: video through Janus and over the mesh (workloads/media.ts), opt-in
 * only (never in the default or --quick run); it writes bench/MEDIA.md and bench/charts/media-*.svg.
 * `npm run bench -- --only=ingest`: RTMP ingest, passthrough against transcoding (workloads/ingest.ts),
 * opt-in as media; it writes bench/INGEST.md.
 *
 * Runs every workload against our server and the baselines, one target at a time (they share
 * the machine's cores with the generators), then writes results.json, the SVG charts and
 * RESULTS.md. The full run writes bench/RESULTS.md and bench/charts/; quick mode writes only under
 * bench/out/ (git-ignored). Exits non-zero when any workload errored, or when the guard's ratios
 * to the baselines of the same run fall below their floors (workloads/guard.ts); never on a
 * timing alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadAverage } from './lib/proc.js';
import { writeCharts } from './report/charts.js';
import { renderMarkdown } from './report/markdown.js';
import type { Results } from './report/results.js';
import { makePlan, type Plan } from './plan.js';
import { checkout } from './lib/checkout.js';
import { runChat } from './workloads/chat.js';
import { runReactions } from './workloads/reactions.js';
import { runFanout } from './workloads/fanout.js';
import { runGuard } from './workloads/guard.js';
import { runHeap } from './workloads/heap.js';
import { runIdle } from './workloads/idle.js';
import { runProfile } from './workloads/profile.js';
import { runRedis } from './workloads/redis.js';
import { runRest } from './workloads/rest.js';
import { runStorm } from './workloads/storm.js';

const WORKLOADS = [
  'guard',
  'fanout',
  'idle',
  'heap',
  'storm',
  'rest',
  'chat',
  'reactions',
  'redis',
  'profile',
] as const;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  // RESULTS.md only ever holds a complete run: a partial one writes under bench/out/partial.
  const plan = makePlan(args.includes('--quick'), only ? 'partial' : undefined);
  const render = args.find((a) => a.startsWith('--render='))?.slice('--render='.length);
  if (render) {
    // Re-renders the report and charts of a saved results.json (after a change to the report),
    // measuring nothing.
    const saved = JSON.parse(readFileSync(render, 'utf8')) as Results;
    const target = makePlan(saved.quick);
    const charts = writeCharts(saved, target.chartsDir);
    writeFileSync(
      target.reportPath,
      renderMarkdown(saved, charts, target.chartsLink, target.notesPath, target.soakPath, [
        target.media.reportPath,
        target.replaysPath,
      ]),
    );
    console.log(`rendered ${target.reportPath} and ${charts.length} charts from ${render}`);
    return 0;
  }
  const selected = WORKLOADS.filter((w) => !only || only.includes(w));
  if (only?.includes('media')) {
    // Opt-in, and a report of its own: it needs root, Janus and Chromium, and takes ~10 minutes.
    setTimeout(() => {
      console.error('bench: exceeded its time bound, exiting');
      process.exit(3);
    }, plan.lifetimeMs).unref();
    console.log('media: one publisher, N viewers, through Janus (SFU) and over the mesh');
    // Imported only here: it loads the app, Playwright and the media test support.
    const { runMedia } = await import('./workloads/media.js');
    const media = await runMedia(plan, (line) => console.log(line), measuredCommit());
    if (media.errors.length) console.error(`bench: media errors:\n${media.errors.join('\n')}`);
    if (!selected.length) return media.errors.length ? 1 : 0;
  }
  if (only?.includes('ingest')) {
    // Opt-in, as media: root, Janus, Chromium, FFmpeg and GStreamer.
    const { runIngest } = await import('./workloads/ingest.js');
    const ingest = await runIngest({
      quick: plan.quick,
      log: (line) => console.log(line),
      commit: measuredCommit(),
    });
    if (ingest.errors.length) console.error(`bench: ingest errors:\n${ingest.errors.join('\n')}`);
    if (!selected.length) return ingest.errors.length ? 1 : 0;
  }
  // Whatever happens, the orchestrator does not outlive its plan (children have their own lifelines).
  setTimeout(() => {
    console.error('bench: exceeded its time bound, exiting');
    process.exit(3);
  }, plan.lifetimeMs).unref();

  const log = (line: string) => console.log(line);
  const results: Results = {
    quick: plan.quick,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      kernel: release(),
    },
    commit: measuredCommit(),
    loadBefore: loadAverage(),
    loadAfter: '',
    generators: plan.generators,
    viewerUsers: plan.viewerUsers,
    goalStep: plan.fanout.goal,
    fanout: [],
    idle: [],
    storm: [],
    rest: undefined,
    redis: undefined,
    profile: undefined,
    errors: preflight(plan),
  };
  log(`bench (${plan.quick ? 'quick' : 'full'}): ${selected.join(', ')}; load ${results.loadBefore}`);

  const compareRef = args.find((a) => a.startsWith('--compare='))?.slice('--compare='.length);
  const compare = compareRef ? checkout(compareRef, log) : undefined;
  const runStarted = performance.now();
  const attempt = async (name: string, work: () => Promise<void>) => {
    const started = performance.now();
    if (started - runStarted > plan.budgetMs) {
      results.errors.push(
        `${name}: skipped, the run's time budget (${plan.budgetMs / 60_000} min) was spent`,
      );
      return log(`  ${name}: skipped (time budget)`);
    }
    try {
      await work();
    } catch (error) {
      results.errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      log(`  ${name} failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
    log(`  (${name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  };

  if (selected.includes('guard')) {
    log('0. guard: the core path as ratios to baselines of this run');
    await attempt('guard', async () => {
      results.guard = await runGuard(plan, log, compare);
      results.errors.push(...results.guard.errors);
      for (const v of results.guard.verdicts) {
        log(
          `  ${v.target}: comments ${v.commentsRatio.toFixed(3)} of the floor, fan-out ` +
            `${v.fanoutRatio.toFixed(2)} of Socket.IO: ${v.passes ? 'passes' : 'FAILS'} the guard`,
        );
      }
      const c = results.guard.compare;
      if (c)
        log(
          `  this checkout ÷ ${c.ref}: comments ${c.comments.toFixed(2)}×, fan-out ${c.fanout.toFixed(2)}×`,
        );
    });
  }
  if (selected.includes('fanout')) {
    log('1. fan-out');
    for (const target of plan.targets) {
      await attempt(`fan-out ${target}`, async () => {
        const result = await runFanout(plan, target, log);
        results.fanout.push(result);
        results.errors.push(...result.errors);
      });
    }
  }
  if (selected.includes('idle')) {
    log('2. idle memory');
    for (const target of plan.targets) {
      await attempt(`idle ${target}`, async () => {
        const result = await runIdle(plan, target, log);
        results.idle.push(result);
        results.errors.push(...result.errors);
      });
    }
  }
  if (selected.includes('heap')) {
    log('2b. heap breakdown of idle viewers: ours and bare ws');
    results.heap = [];
    for (const target of ['streammeon', 'ws-naive'] as const) {
      await attempt(`heap ${target}`, async () => {
        const result = await runHeap(plan, target, log);
        results.heap?.push(result);
        results.errors.push(...result.errors);
      });
    }
  }
  if (selected.includes('storm')) {
    log('3. join storm');
    for (const target of plan.targets) {
      await attempt(`storm ${target}`, async () => {
        const result = await runStorm(plan, target, log);
        results.storm.push(result);
        results.errors.push(...result.errors);
      });
    }
  }
  if (selected.includes('rest')) {
    log('4. REST');
    await attempt('rest', async () => {
      results.rest = await runRest(plan, log);
      results.errors.push(...results.rest.errors);
    });
  }
  if (selected.includes('chat')) {
    log(
      '4b. the chat path: REST at 50/10 connections, an open loop, many rooms' +
        (compare ? `, held fan-out beside ${compare.ref}` : ''),
    );
    await attempt('chat', async () => {
      results.chat = await runChat(plan, log, compare);
      results.errors.push(...results.chat.errors);
    });
  }
  if (selected.includes('reactions')) {
    log(`4c. reactions: ${plan.reactions.viewers} viewers tapping once a second beside a quiet room`);
    await attempt('reactions', async () => {
      results.reactions = await runReactions(plan, log);
      results.errors.push(...results.reactions.errors);
    });
  }
  if (selected.includes('redis')) {
    log('5. two instances over Redis');
    await attempt('redis', async () => {
      results.redis = await runRedis(plan, log);
      results.errors.push(...results.redis.errors);
      if (results.redis.skipped) log(`  skipped: ${results.redis.skipped}`);
    });
  }
  if (selected.includes('profile') && plan.profile) {
    log('profile');
    await attempt('profile', async () => {
      results.profile = await runProfile(plan, log);
    });
  }

  results.finishedAt = new Date().toISOString();
  results.loadAfter = loadAverage();
  mkdirSync(plan.outDir, { recursive: true });
  writeFileSync(join(plan.outDir, 'results.json'), JSON.stringify(results, null, 1));
  const charts = writeCharts(results, plan.chartsDir);
  writeFileSync(
    plan.reportPath,
    renderMarkdown(results, charts, plan.chartsLink, plan.notesPath, plan.soakPath, [
      plan.media.reportPath,
      plan.replaysPath,
    ]),
  );
  log(`wrote ${plan.reportPath} and ${charts.length} charts in ${plan.chartsDir}; load ${results.loadAfter}`);
  if (results.errors.length) {
    console.error(
      `bench: ${results.errors.length} error(s):\n${results.errors.map((e) => `  - ${e}`).join('\n')}`,
    );
    return 1;
  }
  return 0;
}

/**
 * Which code was measured. BENCH_COMMIT names it when the bench runs from an exported copy of a
 * commit (so that colleagues' uncommitted edits in a shared tree are not what gets measured).
 */
function measuredCommit(): string {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Problems that would make the run meaningless, found before it starts. */
function preflight(plan: Plan): string[] {
  const problems: string[] = [];
  const inCi = process.env.CI === 'true' || process.env.CI === '1';
  if (inCi && !process.env.DATABASE_URL)
    problems.push('CI needs DATABASE_URL for the REST and Redis workloads');
  if (inCi && !process.env.REDIS_URL) problems.push('CI needs REDIS_URL for the two-instance workload');
  // Children inherit this soft limit; the server needs one descriptor per viewer.
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? Infinity);
  const needed =
    Math.max(plan.storm.viewers, plan.idle.viewers, ...plan.fanout.sizes.map((s) => s.viewers)) + 1000;
  if (soft < needed) problems.push(`open-file limit ${soft} < ${needed}: run \`ulimit -n ${needed}\` first`);
  return problems;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
