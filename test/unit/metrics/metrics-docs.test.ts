/** docs/metrics.md lists, and docs/grafana-dashboard.json charts, every series of our own. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Metrics } from '../../../src/metrics/metrics.js';

const ours = new Metrics({ defaultMetrics: false }).registry.getMetricsAsArray().map((metric) => metric.name);

describe('metrics documentation', () => {
  test('docs/metrics.md lists every series', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    assert.ok(ours.length >= 15);
    for (const name of ours) assert.ok(doc.includes(`\`${name}\``), `${name} in docs/metrics.md`);
  });

  test('the Grafana dashboard queries every series', () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../docs/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as { panels: { targets: { expr: string }[] }[] };
    const queries = dashboard.panels.flatMap((panel) => panel.targets.map((t) => t.expr)).join('\n');
    for (const name of ours) assert.ok(queries.includes(name), `${name} in a dashboard query`);
  });
});
