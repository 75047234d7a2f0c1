/**
 * Profiled runs of our server (`node --cpu-prof`): one fan-out step at the p99 goal's load, and
 * one join storm, each summarized so RESULTS.md can say what the CPU went to.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet } from '../lib/fleet.js';
import { startOurs } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { summarizeProfile, type ProfileSummary } from '../report/profile.js';
import { hasPostgres } from './fanout.js';
import { fanoutStep, type StepResult } from './step.js';
import { runStorm } from './storm.js';

export interface ProfileResult {
  step: StepResult;
  summary: ProfileSummary;
  file: string;
  /** The same for a join storm of plan.storm.viewers. */
  storm?: { summary: ProfileSummary; file: string; joined: number; failed: number; allInMs: number };
}

export async function runProfile(
  plan: Plan,
  log: (line: string) => void,
): Promise<ProfileResult | undefined> {
  if (!plan.profile) return undefined;
  const dir = join(plan.outDir, 'prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const running = await startOurs({
    postgres: hasPostgres(),
    lifetimeMs: plan.lifetimeMs,
    viewerUsers: plan.viewerUsers,
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  const fleet = Fleet.start(plan.generators, plan.lifetimeMs);
  let step: StepResult;
  try {
    await fleet.connect(running.viewerUrls[0]!, running.protocol, plan.profile.viewers, 100);
    step = await fanoutStep({
      running,
      fleets: [fleet],
      rate: plan.profile.rate,
      stepMs: plan.profile.stepMs,
      drainMs: 10_000,
    });
  } finally {
    await fleet.stop();
    await running.stop(); // SIGTERM: the server exits cleanly and writes its profile
  }
  const file = onlyProfile(dir);
  const summary = summarizeProfile(file);
  log(`  profile, fan-out: ${summary.packages.map((p) => `${p.name} ${p.percent.toFixed(0)}%`).join(', ')}`);

  const stormDir = join(plan.outDir, 'prof-storm');
  rmSync(stormDir, { recursive: true, force: true });
  mkdirSync(stormDir, { recursive: true });
  const storm = await runStorm(plan, 'streammeon', log, ['--cpu-prof', `--cpu-prof-dir=${stormDir}`]);
  const stormFile = onlyProfile(stormDir);
  const stormSummary = summarizeProfile(stormFile);
  log(
    `  profile, storm: ${stormSummary.packages.map((p) => `${p.name} ${p.percent.toFixed(0)}%`).join(', ')}`,
  );
  return {
    step,
    summary,
    file,
    storm: {
      summary: stormSummary,
      file: stormFile,
      joined: storm.joined,
      failed: storm.failed,
      allInMs: storm.allInMs,
    },
  };
}

function onlyProfile(dir: string): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`the profiled server wrote no .cpuprofile in ${dir}`);
  return join(dir, file);
}
