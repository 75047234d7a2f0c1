/**
 * Soak: one server process (src/main.ts, NODE_ENV=production, default rate limits) holding 2,000
 * viewers on /ws/live while comments are posted at a steady rate for 10 minutes. Every sample
 * interval it records the server's RSS and CPU, open viewers, acknowledged comments and errors;
 * at the end it checks that every viewer got every comment, and SIGTERMs the server under its
 * full load (viewers must hear 1012, the process must exit cleanly within 10 s).
 *
 *   npm run soak -- [--duration 10m] [--viewers 2000] [--rate 10] [--sample 10s] [--report bench/SOAK.md]
 *
 * Uses a throwaway PostgreSQL database when DATABASE_URL is set (else PGlite in a temp dir), and
 * Redis when REDIS_URL is set and --redis is given. Everything runs on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../test/support/databases.js';
import { call, goLive, register } from '../test/support/http.js';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    viewers: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '10' },
    posters: { type: 'string', default: '20' },
    sample: { type: 'string', default: '10s' },
    redis: { type: 'boolean', default: false },
    report: { type: 'string' },
  },
});

function ms(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`not a duration: "${text}" (e.g. 90s, 10m)`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms'];
}

const DURATION_MS = ms(flags.duration);
const VIEWERS = Number(flags.viewers);
const RATE = Number(flags.rate);
const POSTERS = Number(flags.posters);
const SAMPLE_MS = ms(flags.sample);
const VIEWER_USERS = 50;
const sleep = (t: number) => new Promise((resolve) => setTimeout(resolve, t));

/** RSS (MiB) and CPU seconds of a process, from /proc. */
function proc(pid: number): { rssMiB: number; cpuSeconds: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: rssKb / 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Viewer {
  ws: WebSocket;
  comments: number;
  closedWith?: number;
}

interface Sample {
  atS: number;
  rssMiB: number;
  cpuPct: number;
  open: number;
  acked: number;
  errors: number;
  p99Ms: number;
}

async function main(): Promise<void> {
  let database: ThrowawayDatabase | undefined;
  let dataDir: string | undefined;
  if (process.env.DATABASE_URL) database = await createThrowawayDatabase('sm_soak');
  else dataDir = mkdtempSync(join(tmpdir(), 'sm-soak-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET: 'soak-secret-0123456789abcdef',
      CORS_ORIGINS: '*',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: database?.url ?? '',
      DATA_DIR: dataDir ?? '',
      REDIS_URL: flags.redis ? (process.env.REDIS_URL ?? '') : '',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await database?.drop().catch(() => undefined);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      const ok = await fetch(`${baseUrl}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('server not healthy within 30 s');
      await sleep(100);
    }
    const pid = child.pid as number;
    const { session } = await goLive(baseUrl, 'soak');
    const users = await Promise.all(Array.from({ length: VIEWER_USERS }, () => register(baseUrl)));
    const posters = await Promise.all(Array.from({ length: POSTERS }, () => register(baseUrl)));
    const startRss = proc(pid).rssMiB;
    console.log(
      `server pid ${pid}, ${database ? 'PostgreSQL' : 'PGlite'}, RSS ${startRss.toFixed(0)} MiB idle`,
    );

    // Viewers, 100 connecting at a time.
    const viewers: Viewer[] = [];
    const latencies: number[] = [];
    let errors = 0;
    const errorKinds = new Map<string, number>();
    const error = (kind: string) => {
      errors += 1;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    };
    const connect = (i: number) =>
      new Promise<void>((resolve) => {
        const token = users[i % users.length]!.token;
        const viewer: Viewer = {
          ws: new WebSocket(`ws://127.0.0.1:${port}/ws/live/${session.session_id}?token=${token}`),
          comments: 0,
        };
        viewers.push(viewer);
        viewer.ws.on('message', (data) => {
          const text = (data as Buffer).toString();
          if (!text.startsWith('{"type":"comment"')) return;
          viewer.comments += 1;
          // Delivery latency from the first 50 viewers: commit time (ts) to arrival.
          if (i < 50) latencies.push(Date.now() - Date.parse(JSON.parse(text).ts));
        });
        viewer.ws.on('open', () => resolve());
        viewer.ws.on('error', () => undefined);
        viewer.ws.on('close', (code) => {
          viewer.closedWith = code;
          if (!stopping) error(`viewer closed ${code}`);
          resolve();
        });
      });
    let stopping = false;
    const joinStarted = Date.now();
    for (let i = 0; i < VIEWERS; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, VIEWERS - i) }, (_, k) => connect(i + k)));
    }
    console.log(`${VIEWERS} viewers connected in ${Date.now() - joinStarted} ms`);

    // Comments: open loop, RATE per second, round-robin over the posters.
    let acked = 0;
    let nextPoster = 0;
    const inFlight = new Set<Promise<void>>();
    const post = () => {
      const poster = posters[nextPoster++ % posters.length]!;
      const p = call(baseUrl, 'POST', `/live/sessions/${session.session_id}/comments`, {
        token: poster.token,
        body: { message: `soak ${acked}` },
      }).then(
        (res) => {
          if (res.status === 200) acked += 1;
          else error(`POST ${res.status}`);
        },
        (e: Error) => error(`POST ${e.message}`),
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };

    const samples: Sample[] = [];
    const started = Date.now();
    let last = { at: started, cpu: proc(pid).cpuSeconds };
    const takeSample = () => {
      const now = Date.now();
      const p = proc(pid);
      const window = latencies.splice(0).sort((a, b) => a - b);
      samples.push({
        atS: Math.round((now - started) / 1000),
        rssMiB: p.rssMiB,
        cpuPct: ((p.cpuSeconds - last.cpu) / ((now - last.at) / 1000)) * 100,
        open: viewers.filter((v) => v.ws.readyState === WebSocket.OPEN).length,
        acked,
        errors,
        p99Ms: window.length ? (window[Math.floor(window.length * 0.99)] as number) : 0,
      });
      last = { at: now, cpu: p.cpuSeconds };
      const s = samples.at(-1) as Sample;
      console.log(
        `t=${s.atS}s rss=${s.rssMiB.toFixed(0)}MiB cpu=${s.cpuPct.toFixed(0)}% open=${s.open} acked=${s.acked} errors=${s.errors} p99=${s.p99Ms}ms`,
      );
    };
    const postTimer = setInterval(post, 1000 / RATE);
    const sampleTimer = setInterval(takeSample, SAMPLE_MS);
    await sleep(DURATION_MS);
    clearInterval(postTimer);
    clearInterval(sampleTimer);
    await Promise.all(inFlight);
    await sleep(3_000); // drain: the last comments reach every viewer
    takeSample();

    const open = viewers.filter((v) => v.ws.readyState === WebSocket.OPEN);
    const short = open.filter((v) => v.comments !== acked).length;
    const stored = (await call(baseUrl, 'GET', `/live/sessions/${session.session_id}`)).body;

    // SIGTERM under full load.
    stopping = true;
    const termAt = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    const shutdownMs = Date.now() - termAt;
    await sleep(500);
    const got1012 = viewers.filter((v) => v.closedWith === 1012).length;

    const rss = samples.map((s) => s.rssMiB);
    const half = samples.slice(Math.floor(samples.length / 2));
    const slope =
      half.length > 1
        ? ((half.at(-1) as Sample).rssMiB - (half[0] as Sample).rssMiB) /
          (((half.at(-1) as Sample).atS - (half[0] as Sample).atS) / 60)
        : 0;
    const summary = {
      duration: flags.duration,
      viewers: VIEWERS,
      rate: RATE,
      storage: database ? 'PostgreSQL' : 'PGlite',
      redis: flags.redis,
      idleRssMiB: Math.round(startRss),
      maxRssMiB: Math.round(Math.max(...rss)),
      endRssMiB: Math.round(rss.at(-1) as number),
      secondHalfSlopeMiBPerMin: Number(slope.toFixed(2)),
      acked,
      errors,
      errorKinds: Object.fromEntries(errorKinds),
      viewersOpenAtEnd: open.length,
      viewersMissingComments: short,
      viewerCountAtEnd: stored.viewer_count,
      shutdown: { code, ms: shutdownMs, viewersClosedWith1012: got1012 },
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
    console.log(JSON.stringify(summary, null, 2));
    if (flags.report) writeFileSync(flags.report, report(summary, samples));
  } finally {
    await cleanup();
  }
}

function report(summary: Record<string, unknown>, samples: Sample[]): string {
  const every = Math.max(1, Math.round(samples.length / 20));
  const rows = samples
    .filter((_, i) => i % every === 0 || i === samples.length - 1)
    .map(
      (s) =>
        `| ${s.atS} | ${s.rssMiB.toFixed(0)} | ${s.cpuPct.toFixed(0)} | ${s.open} | ${s.acked} | ${s.errors} | ${s.p99Ms} |`,
    );
  return [
    '# Soak run',
    '',
    '`npm run soak` (bench/soak.ts): one server process, NODE_ENV=production with the default rate limits.',
    '',
    '```json',
    JSON.stringify(summary, null, 2),
    '```',
    '',
    '| t (s) | RSS (MiB) | CPU (% of a core) | viewers open | comments acked | errors | delivery p99 (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
