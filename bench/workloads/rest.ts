/**
 * Workload 4, REST under autocannon: the session list (50 live sessions), one session, and
 * posting a comment, against our server on PostgreSQL. The floor beside it is the ws-preframed
 * baseline's Node http answering a prebuilt list of the same shape, and accepting the same POST
 * without any storage: what Node's HTTP stack alone costs on this machine.
 *
 * The list is measured three ways: as served (the shared lobby snapshot), the 304 path (the
 * request carries the list's ETag as If-None-Match), and as it was before the snapshot (a second
 * server with LOBBY_SNAPSHOT_MS=0, which reads the database on every request), in the same run.
 */
import autocannon from 'autocannon';
import { call } from '../../test/support/http.js';
import { startWindow } from '../lib/measure.js';
import { startBaseline, startOurs, type Running } from '../lib/targets.js';
import type { Plan } from '../plan.js';
import { hasPostgres } from './fanout.js';

export interface RestRow {
  endpoint: string;
  target: 'streammeon' | 'streammeon, no snapshot' | 'node-http floor';
  requestsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  serverCpu: number;
  loadgenCpu: number;
  /** The floor row this one is compared with, when not its own endpoint's. */
  floorEndpoint?: string;
}

export interface RestResult {
  storage: string;
  rows: RestRow[];
  errors: string[];
}

export const LOBBY = 'GET /live/sessions/active';
export const LOBBY_304 = 'GET /live/sessions/active, If-None-Match (304)';

interface Case {
  endpoint: string;
  path: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** The status every answer must have (200s by default). */
  expect304?: boolean;
  floorEndpoint?: string;
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
    await openSessions(ours, plan, result);
    const etag = (await call(ours.services[0]!.baseUrl, 'GET', '/live/sessions/active')).headers.get('etag');
    if (!etag) result.errors.push('GET /live/sessions/active answered without an ETag');
    const cases: Case[] = [
      { endpoint: LOBBY, path: '/live/sessions/active', method: 'GET' },
      {
        endpoint: LOBBY_304,
        path: '/live/sessions/active',
        method: 'GET',
        headers: { 'if-none-match': etag ?? '' },
        expect304: true,
        floorEndpoint: LOBBY,
      },
      { endpoint: 'GET /live/sessions/{id}', path: `/live/sessions/${ours.sessionId}`, method: 'GET' },
      {
        endpoint: 'POST /live/sessions/{id}/comments',
        path: `/live/sessions/${ours.sessionId}/comments`,
        method: 'POST',
      },
    ];
    for (const c of cases) {
      await measure(c, 'streammeon', ours, ours, plan, result, log);
      // The floor has no ETag: its full list stands beside the 304 path.
      if (!c.floorEndpoint) await measure(c, 'node-http floor', floor, ours, plan, result, log);
    }
  } finally {
    await floor.stop();
    await ours.stop();
  }
  // The list as it was before the snapshot: the same data, read and serialized per request.
  const direct = await startOurs({
    lifetimeMs: plan.lifetimeMs,
    postgres: hasPostgres(),
    viewerUsers: 1,
    env: { LOBBY_SNAPSHOT_MS: '0' },
  });
  try {
    await openSessions(direct, plan, result);
    await measure(
      { endpoint: LOBBY, path: '/live/sessions/active', method: 'GET' },
      'streammeon, no snapshot',
      direct,
      direct,
      plan,
      result,
      log,
    );
  } finally {
    await direct.stop();
  }
  return result;
}

/** One vendor may run many sessions: the bench session's vendor opens the other 49. */
async function openSessions(ours: Running, plan: Plan, result: RestResult): Promise<void> {
  const base = ours.services[0]!.baseUrl;
  for (let i = 1; i < plan.rest.sessions; i += 1) {
    await call(base, 'POST', '/live/sessions', { token: ours.vendorToken, body: { title: `live ${i}` } });
  }
  const active = await call(base, 'GET', '/live/sessions/active');
  if (active.body?.items?.length !== plan.rest.sessions) {
    result.errors.push(`expected ${plan.rest.sessions} live sessions, got ${active.body?.items?.length}`);
  }
}

async function measure(
  c: Case,
  target: RestRow['target'],
  running: Running,
  ours: Running,
  plan: Plan,
  result: RestResult,
  log: (line: string) => void,
): Promise<void> {
  // The floor has no per-session route; the session list stands in for the one-session GET.
  const path =
    target === 'node-http floor'
      ? c.path.replace(ours.sessionId, running.sessionId).replace(/\/sessions\/[^/]+$/, '/sessions/active')
      : c.path;
  const service = running.services[0]!;
  const finish = startWindow([service.pid], []);
  const r = await autocannon({
    url: `${service.baseUrl}${path}`,
    method: c.method,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${ours.postTokens[0]}`,
      ...c.headers,
    },
    body: c.method === 'POST' ? JSON.stringify({ message: 'autocannon says hi' }) : undefined,
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
    ...(c.floorEndpoint && { floorEndpoint: c.floorEndpoint }),
  };
  result.rows.push(row);
  const wrong = c.expect304 ? r['1xx'] + r['2xx'] + r['4xx'] + r['5xx'] : row.non2xx;
  if (row.errors || wrong || r.requests.total === 0) {
    result.errors.push(
      `${c.endpoint} on ${target}: ${row.errors} errors, ${wrong} answers other than ${c.expect304 ? '304' : '2xx'}`,
    );
  }
  log(
    `  ${c.endpoint} ${target}: ${row.requestsPerSec.toFixed(0)} req/s, p99 ${row.p99} ms, ` +
      `server ${row.serverCpu.toFixed(0)}% autocannon ${row.loadgenCpu.toFixed(0)}%`,
  );
}
