/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and answers where the time went: self time per
 * function, and per package, so RESULTS.md can say what limited a figure.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of non-idle time per function, largest first. */
  functions: { name: string; where: string; percent: number }[];
  /** Share of non-idle time per package (or "node internals", "our code"). */
  packages: { name: string; percent: number }[];
  idlePercent: number;
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  let idle = 0;
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const packages = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') {
      idle += frame.functionName === '(idle)' ? us : 0;
      if (frame.functionName === '(idle)') continue;
    }
    const where = shortUrl(frame.url, frame.lineNumber);
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busy = total - idle || 1;
  return {
    totalMs: total / 1000,
    idlePercent: (idle / (total || 1)) * 100,
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, percent: (f.us / busy) * 100 })),
    packages: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, us]) => ({ name, percent: (us / busy) * 100 })),
  };
}

function shortUrl(url: string, line: number): string {
  if (!url) return 'native';
  const inModules = url.lastIndexOf('node_modules/');
  const path =
    inModules !== -1 ? url.slice(inModules + 'node_modules/'.length) : url.replace(/^.*\/(src\/)/, '$1');
  return `${path.replace(/^file:\/\//, '')}:${line + 1}`;
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native (C++ / V8 builtins)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/src/')) return 'our code (src/)';
  return 'other';
}
