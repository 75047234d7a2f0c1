/**
 * How big each workload is. The full plan is what RESULTS.md reports; the quick plan runs every
 * workload at toy sizes so CI proves the scripts still work (its figures mean nothing).
 */
import { fileURLToPath } from 'node:url';
import { TARGETS, type TargetName } from './lib/targets.js';

export interface FanoutSize {
  viewers: number;
  /** Comments per second, tried in order until the target saturates. */
  rates: number[];
}

export interface Plan {
  quick: boolean;
  /** Where RESULTS.md / results.json go, and the charts under it. */
  outDir: string;
  reportPath: string;
  /** Hand-written notes on the committed run, merged into RESULTS.md when they name its start. */
  notesPath: string;
  /** The last soak's report (npm run soak), appended to every RESULTS.md. */
  soakPath: string;
  /** The last replay benchmark's report (npm run bench:replays), appended like the media run's. */
  replaysPath: string;
  chartsDir: string;
  /** Charts as RESULTS.md links them (relative to reportPath). */
  chartsLink: string;
  targets: readonly TargetName[];
  generators: number;
  /** Users registered for viewers; their tokens are reused round-robin across connections. */
  viewerUsers: number;
  /** Upper bound on the life of every child process. */
  lifetimeMs: number;
  fanout: {
    sizes: FanoutSize[];
    stepMs: number;
    drainMs: number;
    connectConcurrency: number;
    /** The step the p99 goal is judged at: run even when the ladder stopped below it. */
    goal: { viewers: number; rate: number };
  };
  /** Workloads not yet started when this much time has passed are skipped (and reported). */
  budgetMs: number;
  storm: { viewers: number; deadlineMs: number; idleSettleMs: number };
  /** Viewers joined `concurrency` at a time per generator, then left idle `settleMs` twice. */
  idle: { viewers: number; concurrency: number; settleMs: number };
  /** Heap breakdown of our server's idle viewers (joined like `idle`). */
  heap: { viewers: number };
  rest: { sessions: number; durationS: number; connections: number };
  /** The guard (workloads/guard.ts): closed-loop comments and a fan-out burst, best of `rounds`. */
  guard: { viewers: number; comments: number; durationS: number; connections: number; rounds: number };
  redis: { viewers: number; rate: number; stepMs: number };
  /** The chat path's goals (workloads/chat.ts). */
  chat: {
    postConnections: number;
    getConnections: number;
    durationS: number;
    rounds: number;
    openLoop: { rate: number; durationMs: number };
    rooms: { sessions: number; viewers: number; rate: number; stepMs: number; drainMs: number };
  };
  /** Reactions (workloads/reactions.ts): every viewer tapping once a second beside a quiet room. */
  reactions: {
    viewers: number;
    /** Users the viewers are spread over: viewers / users taps a second each, under the budget of 10. */
    users: number;
    commentRate: number;
    stepMs: number;
    drainMs: number;
    rounds: number;
  };
  /** A --cpu-prof run of our server (full mode only). */
  profile: { viewers: number; rate: number; stepMs: number } | undefined;
  /** Video through Janus and over the mesh: only with --only=media (see workloads/media.ts). */
  media: MediaPlan;
}

export interface MediaPlan {
  /** Viewers per step, tried in order until Chromium cannot keep up. */
  sizes: number[];
  /** Per-connection cap on the publisher's video (bits/s), the same in both modes. */
  maxBitrate: number;
  joinTimeoutMs: number;
  settleMs: number;
  windowMs: number;
  /** Its own report, charts and results.json (a separate run, like the soak). */
  reportPath: string;
  chartsDir: string;
  chartsLink: string;
  outDir: string;
}

const MEDIA: Omit<MediaPlan, 'reportPath' | 'chartsDir' | 'chartsLink' | 'outDir'> = {
  sizes: [1, 3, 6, 10, 15, 20],
  maxBitrate: 500_000,
  joinTimeoutMs: 20_000,
  settleMs: 10_000,
  windowMs: 10_000,
};

const BENCH = fileURLToPath(new URL('.', import.meta.url));

function mediaPlan(quick: boolean): MediaPlan {
  // Quick mode never runs it (CI); a quick `--only=media` is a short smoke run under bench/out/.
  return quick
    ? {
        ...MEDIA,
        sizes: [1, 3],
        settleMs: 2000,
        windowMs: 3000,
        reportPath: `${BENCH}out/quick/MEDIA.md`,
        chartsDir: `${BENCH}out/quick/charts`,
        chartsLink: 'charts',
        outDir: `${BENCH}out/quick/media`,
      }
    : {
        ...MEDIA,
        reportPath: `${BENCH}MEDIA.md`,
        chartsDir: `${BENCH}charts`,
        chartsLink: 'charts',
        outDir: `${BENCH}out/media`,
      };
}

/** `partial` (an --only run): full sizes, but written under bench/out/ like quick mode. */
export function makePlan(quick: boolean, partial?: 'partial'): Plan {
  if (quick) {
    const outDir = `${BENCH}out/quick`;
    return {
      quick,
      outDir,
      reportPath: `${outDir}/RESULTS.md`,
      notesPath: `${BENCH}notes.md`,
      soakPath: `${BENCH}SOAK.md`,
      replaysPath: `${BENCH}out/quick/REPLAYS.md`,
      chartsDir: `${outDir}/charts`,
      chartsLink: 'charts',
      targets: TARGETS,
      generators: 2,
      viewerUsers: 1,
      lifetimeMs: 5 * 60_000,
      fanout: {
        sizes: [{ viewers: 50, rates: [5, 20] }],
        stepMs: 1000,
        drainMs: 3000,
        connectConcurrency: 25,
        goal: { viewers: 50, rate: 20 },
      },
      budgetMs: 3 * 60_000,
      storm: { viewers: 50, deadlineMs: 10_000, idleSettleMs: 500 },
      idle: { viewers: 50, concurrency: 10, settleMs: 500 },
      heap: { viewers: 50 },
      rest: { sessions: 50, durationS: 1, connections: 4 },
      guard: { viewers: 200, comments: 600, durationS: 2, connections: 10, rounds: 3 },
      redis: { viewers: 50, rate: 5, stepMs: 1000 },
      chat: {
        postConnections: 50,
        getConnections: 10,
        durationS: 1,
        rounds: 1,
        openLoop: { rate: 200, durationMs: 1000 },
        rooms: { sessions: 5, viewers: 10, rate: 5, stepMs: 1000, drainMs: 5000 },
      },
      reactions: { viewers: 100, users: 20, commentRate: 2, stepMs: 1500, drainMs: 5000, rounds: 1 },
      profile: { viewers: 50, rate: 5, stepMs: 1000 },
      media: mediaPlan(true),
    };
  }
  const outDir = partial ? `${BENCH}out/partial` : `${BENCH}out/full`;
  return {
    quick,
    outDir,
    reportPath: partial ? `${outDir}/RESULTS.md` : `${BENCH}RESULTS.md`,
    notesPath: `${BENCH}notes.md`,
    soakPath: `${BENCH}SOAK.md`,
    replaysPath: `${BENCH}REPLAYS.md`,
    chartsDir: partial ? `${outDir}/charts` : `${BENCH}charts`,
    chartsLink: 'charts',
    targets: TARGETS,
    generators: 4,
    viewerUsers: 4,
    lifetimeMs: 22 * 60_000,
    fanout: {
      // Offered load (comments/s × viewers) climbs by ~1.4× per step from 20k msgs/s at every
      // size, stopping once the target saturates; 5,000 viewers × 20/s (the p99 goal) always runs.
      sizes: [
        { viewers: 1000, rates: [20, 30, 45, 65, 90, 130, 180, 260, 400, 800] },
        { viewers: 5000, rates: [4, 6, 9, 13, 20, 26, 36, 52, 80, 160] },
        { viewers: 10_000, rates: [2, 3, 4.5, 6.5, 9, 13, 18, 26, 40, 80] },
      ],
      stepMs: 3000,
      drainMs: 8000,
      connectConcurrency: 100,
      goal: { viewers: 5000, rate: 20 },
    },
    budgetMs: 17 * 60_000,
    storm: { viewers: 10_000, deadlineMs: 45_000, idleSettleMs: 3000 },
    idle: { viewers: 10_000, concurrency: 50, settleMs: 2500 },
    heap: { viewers: 2000 },
    rest: { sessions: 50, durationS: 8, connections: 32 },
    guard: { viewers: 1000, comments: 2000, durationS: 5, connections: 10, rounds: 3 },
    redis: { viewers: 5000, rate: 20, stepMs: 4000 },
    // The goals: 50 connections posting, 10 reading, 1,000 comments/s open loop, and
    // 100 sessions × 20 comments/s × 50 viewers.
    chat: {
      postConnections: 50,
      getConnections: 10,
      durationS: 5,
      rounds: 2,
      openLoop: { rate: 1000, durationMs: 5000 },
      rooms: { sessions: 100, viewers: 50, rate: 20, stepMs: 5000, drainMs: 10_000 },
    },
    // The goal: 10,000 viewers each tapping once a second; 5 connections per user.
    reactions: { viewers: 10_000, users: 2000, commentRate: 5, stepMs: 8000, drainMs: 10_000, rounds: 2 },
    profile: { viewers: 5000, rate: 20, stepMs: 5000 },
    media: mediaPlan(false),
  };
}
