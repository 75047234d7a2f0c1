/**
 * A profiled fan-out run of our server (`node --cpu-prof`): one step at a load near where goals
 * are judged, and the profile summarized so RESULTS.md can say what the CPU went to.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet } from '../lib/fleet.js';
import { startOurs } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { summarizeProfile, type ProfileSummary } from '../report/profile.js';
import { hasPostgres } from './fanout.js';
import { fanoutStep, type StepResult } from './step.js';

export interface ProfileResult {
  step: StepResult;
  summary: ProfileSummary;
  file: string;
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
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('the profiled server wrote no .cpuprofile');
  const summary = summarizeProfile(join(dir, file));
  log(`  profile: ${summary.packages.map((p) => `${p.name} ${p.percent.toFixed(0)}%`).join(', ')}`);
  return { step, summary, file: join(dir, file) };
}
