/**
 * Workload 4, REST under autocannon: the session list (50 live sessions), one session, and
 * posting a comment, against our server on PostgreSQL. The floor beside it is the ws-preframed
 * baseline's Node http answering a prebuilt list of the same shape, and accepting the same POST
 * without any storage: what Node's HTTP stack alone costs on this machine.
 */
import autocannon from 'autocannon';
import { call } from '../../test/support/http.js';
import { startWindow } from '../lib/measure.js';
import { startBaseline, startOurs } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { hasPostgres } from './fanout.js';

export interface RestRow {
  endpoint: string;
  target: 'streammeon' | 'node-http floor';
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  serverCpu: number;
  loadgenCpu: number;
}

export interface RestResult {
  storage: string;
  rows: RestRow[];
  errors: string[];
}

export async function runRest(plan: Plan, log: (line: string) => void): Promise<RestResult> {
  const result: RestResult = { storage: '', rows: [], errors: [] };
  const ours = await startOurs({ lifetimeMs: plan.lifetimeMs, postgres: hasPostgres(), viewerUsers: 1 });
  result.storage = ours.storage;
  const floor = await startBaseline('ws-preframed', { lifetimeMs: plan.lifetimeMs }).catch(async (error) => {
    await ours.stop();
    throw error;
  });
  try {
    const base = ours.services[0]!.baseUrl;
    // One vendor may run many sessions: the bench session's vendor opens the other 49.
    for (let i = 1; i < plan.rest.sessions; i += 1) {
      await call(base, 'POST', '/live/sessions', { token: ours.vendorToken, body: { title: `live ${i}` } });
    }
    const active = await call(base, 'GET', '/live/sessions/active');
    if (active.body?.items?.length !== plan.rest.sessions) {
      result.errors.push(`expected ${plan.rest.sessions} live sessions, got ${active.body?.items?.length}`);
    }
    const body = JSON.stringify({ message: 'autocannon says hi' });
    const cases = [
      { endpoint: 'GET /live/sessions/active', path: '/live/sessions/active', method: 'GET' as const },
      {
        endpoint: 'GET /live/sessions/{id}',
        path: `/live/sessions/${ours.sessionId}`,
        method: 'GET' as const,
      },
      {
        endpoint: 'POST /live/sessions/{id}/comments',
        path: `/live/sessions/${ours.sessionId}/comments`,
        method: 'POST' as const,
      },
    ];
    for (const c of cases) {
      for (const [target, running] of [
        ['streammeon', ours],
        ['node-http floor', floor],
      ] as const) {
        // The floor has no per-session route; the session list stands in for the one-session GET.
        const path =
          target === 'node-http floor'
            ? c.path
                .replace(ours.sessionId, floor.sessionId)
                .replace(/\/sessions\/[^/]+$/, '/sessions/active')
            : c.path;
        const service = running.services[0]!;
        const finish = startWindow([service.pid], []);
        const r = await autocannon({
          url: `${service.baseUrl}${path}`,
          method: c.method,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${ours.postTokens[0]}`,
          },
          body: c.method === 'POST' ? body : undefined,
          connections: plan.rest.connections,
          duration: plan.rest.durationS,
          timeout: 10,
        });
        const usage = finish();
        const row: RestRow = {
          endpoint: c.endpoint,
          target,
          requestsPerSec: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors + r.timeouts,
          non2xx: r.non2xx,
          serverCpu: usage.serverCpu[0]!,
          loadgenCpu: usage.orchestratorCpu,
        };
        result.rows.push(row);
        if (row.errors || row.non2xx || r.requests.total === 0) {
          result.errors.push(`${c.endpoint} on ${target}: ${row.errors} errors, ${row.non2xx} non-2xx`);
        }
        log(
          `  ${c.endpoint} ${target}: ${row.requestsPerSec.toFixed(0)} req/s, p99 ${row.p99} ms, ` +
            `server ${row.serverCpu.toFixed(0)}% autocannon ${row.loadgenCpu.toFixed(0)}%`,
        );
      }
    }
  } finally {
    await floor.stop();
    await ours.stop();
  }
  return result;
}
