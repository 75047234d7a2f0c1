/**
 * One measurement window: CPU and RSS of the server(s), of the generator processes and of this
 * orchestrator (which posts the comments), so every figure comes with who was busy producing it.
 */
import type { Fleet } from './fleet.js';
import { cpuPercent, sampleProc, selfCpu, selfCpuPercent, type ProcSample } from './proc.js';

export interface Usage {
  /** Per server process, % of one core. */
  serverCpu: number[];
  serverRssBytes: number[];
  /** All generator processes together, % of one core. */
  generatorCpu: number;
  /** This process (poster / autocannon), % of one core. */
  orchestratorCpu: number;
}

export function startWindow(serverPids: number[], fleets: Fleet[]): () => Usage {
  const servers = serverPids.map((pid) => sampleProc(pid));
  const generators = fleets.map((fleet) => fleet.sample());
  const self = selfCpu();
  return () => {
    const serversNow = serverPids.map((pid) => sampleProc(pid));
    const generatorsNow = fleets.map((fleet) => fleet.sample());
    return {
      serverCpu: serversNow.map((now, i) => cpuPercent(servers[i]!, now)),
      serverRssBytes: serversNow.map((now) => now.rssBytes),
      generatorCpu: generatorsNow.reduce(
        (sum, now, i) => sum + cpuPercent(generators[i] as ProcSample, now),
        0,
      ),
      orchestratorCpu: selfCpuPercent(self),
    };
  };
}
