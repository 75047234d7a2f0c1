/** The charts RESULTS.md links, one SVG file each, built from the results. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cdf } from '../lib/histogram.js';
import { LABELS, TARGETS } from '../lib/targets.js';
import { barChart, lineChart } from './svg.js';
import type { Results } from './results.js';

/** Writes every chart into `dir`; returns [file name, title] in report order. */
export function writeCharts(results: Results, dir: string): [string, string][] {
  mkdirSync(dir, { recursive: true });
  const written: [string, string][] = [];
  const put = (file: string, title: string, svg: string) => {
    writeFileSync(join(dir, file), svg);
    written.push([file, title]);
  };
  const present = TARGETS.filter((t) => results.fanout.some((f) => f.target === t));
  const sizes = [...new Set(results.fanout.flatMap((f) => f.steps.map((s) => s.viewers)))].sort(
    (a, b) => a - b,
  );

  for (const viewers of sizes) {
    const stepsOf = (t: string) =>
      results.fanout.find((f) => f.target === t)?.steps.filter((s) => s.viewers === viewers) ?? [];
    const title = `Fan-out to ${viewers.toLocaleString('en')} viewers: delivered vs offered`;
    put(
      `fanout-throughput-${viewers}.svg`,
      title,
      lineChart({
        title,
        xLabel: 'offered messages/s (comments/s × viewers)',
        yLabel: 'delivered messages/s',
        logX: true,
        series: [
          ...present.map((t) => ({
            name: LABELS[t],
            points: stepsOf(t).map((s) => [s.offeredPerSec, s.deliveredPerSec] as [number, number]),
          })),
          {
            name: 'offered (ideal)',
            dashed: true,
            points: [...new Set(results.fanout.flatMap((f) => stepsOf(f.target).map((s) => s.offeredPerSec)))]
              .sort((a, b) => a - b)
              .map((o) => [o, o] as [number, number]),
          },
        ],
      }),
    );
    const latencyTitle = `Fan-out to ${viewers.toLocaleString('en')} viewers: p99 latency`;
    put(
      `fanout-p99-${viewers}.svg`,
      latencyTitle,
      lineChart({
        title: latencyTitle,
        xLabel: 'offered messages/s (comments/s × viewers)',
        yLabel: 'p99 end-to-end latency, ms',
        logX: true,
        logY: true,
        goal: viewers === results.goalStep.viewers ? { y: 50, label: 'goal: 50 ms' } : undefined,
        series: present.map((t) => ({
          name: LABELS[t],
          points: stepsOf(t).map((s) => [s.offeredPerSec, s.p99] as [number, number]),
        })),
      }),
    );
  }

  const goal = results.goalStep;
  const atGoal = (t: string) =>
    results.fanout
      .find((f) => f.target === t)
      ?.steps.find((s) => s.viewers === goal.viewers && s.rate === goal.rate);
  const cdfTitle = `Latency distribution, ${goal.viewers.toLocaleString('en')} viewers × ${goal.rate} comments/s`;
  if (present.some(atGoal))
    put(
      'fanout-latency-cdf.svg',
      cdfTitle,
      lineChart({
        title: cdfTitle,
        xLabel: 'end-to-end latency, ms',
        yLabel: 'fraction of messages delivered within',
        yMax: 1,
        logX: true,
        series: present.map((t) => {
          const step = atGoal(t);
          return { name: LABELS[t], points: step ? cdf(step.latency) : [] };
        }),
      }),
    );

  if (results.storm.length) {
    const n = results.storm[0]!.viewers.toLocaleString('en');
    put(
      'join-storm.svg',
      `Join storm: ${n} viewers connecting at once`,
      lineChart({
        title: `Join storm: ${n} viewers connecting at once`,
        xLabel: 'ms since the first connect',
        yLabel: 'viewers in',
        series: results.storm.map((s) => ({ name: LABELS[s.target], points: s.curve })),
      }),
    );
  }

  if (results.idle.length) {
    const n = results.idle[0]!.viewers.toLocaleString('en');
    put(
      'memory-per-viewer.svg',
      `Server RSS per idle viewer at ${n} viewers`,
      barChart({
        title: `Server RSS per idle viewer at ${n} viewers (KiB)`,
        yLabel: 'KiB per viewer',
        groups: ['RSS per idle viewer'],
        series: results.idle.map((s) => ({ name: LABELS[s.target], values: [s.bytesPerViewer / 1024] })),
      }),
    );
  }

  if (results.rest?.rows.length) {
    const endpoints = [...new Set(results.rest.rows.map((r) => r.endpoint))];
    put(
      'rest.svg',
      'REST throughput under autocannon',
      barChart({
        title: `REST requests/s (autocannon; Streammeon on ${results.rest.storage})`,
        yLabel: 'requests/s',
        groups: endpoints.map((e) => e.replace('/live/sessions', '…').replace('/comments', '/comm.')),
        series: (['streammeon', 'streammeon, no snapshot', 'node-http floor'] as const).map((target) => ({
          name: {
            streammeon: 'Streammeon',
            'streammeon, no snapshot': 'Streammeon, no lobby snapshot',
            'node-http floor': 'Node http floor',
          }[target],
          values: endpoints.map(
            (e) =>
              results.rest!.rows.find((r) => r.endpoint === e && r.target === target)?.requestsPerSec ?? NaN,
          ),
        })),
      }),
    );
  }

  if (results.redis?.cases.length) {
    put(
      'redis.svg',
      'Two instances over Redis vs one',
      barChart({
        title: `Latency, one instance vs two over Redis (${results.redis.cases[0]!.step.viewers} viewers)`,
        yLabel: 'ms',
        groups: ['p50', 'p99'],
        series: results.redis.cases.map((c) => ({ name: c.name, values: [c.view.p50, c.view.p99] })),
      }),
    );
  }
  return written;
}
