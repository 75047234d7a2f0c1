/**
 * `npm run bench:recovery [-- --viewers=1000] [-- --missed=200]`
 *
 * A thousand viewers drop off at once (a network blip) while the chat goes on, then all reconnect
 * at the same moment with `?since=<offset 200 events back>`. Measured: the time until every one of
 * them has its `recovered` (with the 200 missed events replayed), and the database statements
 * spent doing it, against the baseline in the same run: the same viewers catching up the way a
 * client without recovery must, over REST (`GET …/comments?after=<offset>`, one request each).
 *
 * One process: the server (buildApp on PostgreSQL when DATABASE_URL is set, else PGlite) and the
 * clients share this machine's cores, so the times are for comparison within the run. Writes
 * bench/RECOVERY.md (and prints the same table).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import WebSocket from 'ws';
import { buildApp } from '../src/app.js';
import { Tokens } from '../src/auth/tokens.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/db/store.js';
import { createThrowawayDatabase } from '../test/support/databases.js';

const flag = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const VIEWERS = flag('viewers', 1000);
const MISSED = flag('missed', 200);

/** Counts the statements the app sends, by the table they touch first. */
class StatementCounter implements KyselyPlugin {
  total = 0;
  chatEvents = 0;
  transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
    this.total += 1;
    if (JSON.stringify(node).includes('"chat_events"')) this.chatEvents += 1;
    return node;
  }
  async transformResult({ result }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return result;
  }
  reset(): void {
    this.total = 0;
    this.chatEvents = 0;
  }
}

async function main(): Promise<void> {
  // A database of its own next to DATABASE_URL's, dropped after; PGlite in memory without it.
  const database = process.env.DATABASE_URL ? await createThrowawayDatabase('sm_bench') : undefined;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: database?.url,
    CORS_ORIGINS: '*',
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-that-is-long-enough',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'warn',
    RATE_LIMITS: 'off',
  });
  const opened = await openStore(config);
  const counter = new StatementCounter();
  const store = { ...opened, db: opened.db.withPlugin(counter) };
  const app = await buildApp(config, { store });
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const tokens = new Tokens(config.jwtSecret, 60, systemClock);

  // A vendor, a live session, and the viewers (inserted directly: a thousand password hashes
  // would only time argon2).
  const users = await opened.db
    .insertInto('users')
    .values(
      Array.from({ length: VIEWERS + 1 }, (_, i) => ({
        email: `bench-${Date.now()}-${i}@example.com`,
        name: i === 0 ? 'vendor' : `viewer ${i}`,
        password_hash: 'x',
        role: i === 0 ? 'vendor' : 'user',
      })),
    )
    .returning(['id', 'name', 'role'])
    .execute();
  const [vendor, ...viewers] = await Promise.all(
    users.map(async (u) => ({ ...u, token: await tokens.issue(u) })),
  );
  const session = (await (
    await fetch(`${base}/live/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${vendor!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'recovery bench' }),
    })
  ).json()) as { session_id: string };
  const post = async (message: string) =>
    (await (
      await fetch(`${base}/live/sessions/${session.session_id}/comments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${vendor!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message }),
      })
    ).json()) as { offset: number };
  let since = 0;
  for (let i = 0; i < 50; i++) since = (await post(`before ${i}`)).offset;
  for (let i = 0; i < MISSED; i++) await post(`missed ${i}`);

  // Recovery: everyone reconnects at once with since.
  counter.reset();
  const started = performance.now();
  const recoveredAt: number[] = [];
  const sockets = await Promise.all(
    viewers.map(
      (v) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(
            `ws://127.0.0.1:${port}/ws/live/${session.session_id}?token=${v.token}&since=${since}`,
          );
          let replayed = 0;
          ws.on('message', (data) => {
            const m = JSON.parse((data as Buffer).toString()) as { type: string; complete?: boolean };
            if (m.type === 'comment') replayed += 1;
            if (m.type === 'recovered') {
              if (!m.complete || replayed !== MISSED) reject(new Error(`recovered ${replayed} of ${MISSED}`));
              recoveredAt.push(performance.now() - started);
              resolve(ws);
            }
          });
          ws.on('error', reject);
        }),
    ),
  );
  const recovery = {
    ms: Math.max(...recoveredAt),
    p50: percentile(recoveredAt, 0.5),
    statements: counter.total,
    chatEventReads: counter.chatEvents,
  };
  for (const ws of sockets) ws.terminate();

  // Baseline: the same catch-up over REST, one request per viewer, all at once.
  await new Promise((resolve) => setTimeout(resolve, 500));
  counter.reset();
  const restStarted = performance.now();
  const restAt: number[] = [];
  await Promise.all(
    viewers.map(async () => {
      const res = await fetch(
        `${base}/live/sessions/${session.session_id}/comments?after=${since}&limit=200`,
      );
      const body = (await res.json()) as { items: unknown[] };
      if (body.items.length !== MISSED) throw new Error(`REST gave ${body.items.length} of ${MISSED}`);
      restAt.push(performance.now() - restStarted);
    }),
  );
  const rest = { ms: Math.max(...restAt), p50: percentile(restAt, 0.5), statements: counter.total };

  await app.close();
  await opened.close();
  await database?.drop();

  const report = [
    `# Recovery benchmark`,
    '',
    `${new Date().toISOString()}, ${config.databaseUrl ? 'PostgreSQL' : 'PGlite'}, ${VIEWERS} viewers each missing ${MISSED} comments, server and clients in one process on this machine.`,
    '',
    '| catch-up | all caught up | p50 | database statements | statements per viewer |',
    '| --- | --- | --- | --- | --- |',
    `| \`/ws/live?since=\` (reconnect + replay) | ${recovery.ms.toFixed(0)} ms | ${recovery.p50.toFixed(0)} ms | ${recovery.statements} (chat_events reads: ${recovery.chatEventReads}) | ${(recovery.statements / VIEWERS).toFixed(3)} |`,
    `| REST \`GET …/comments?after=\` (baseline, no reconnect) | ${rest.ms.toFixed(0)} ms | ${rest.p50.toFixed(0)} ms | ${rest.statements} | ${(rest.statements / VIEWERS).toFixed(3)} |`,
    '',
    `Recovery read the missed events ${recovery.chatEventReads} time(s) for ${VIEWERS} viewers: replays of one session from one offset share a read whenever sharing cannot leave a gap (docs/protocol.md). Its statements are the rest of a join (token check, session facts, unique views, batched per join storm). Ratio of catch-up time, recovery / REST: ${(recovery.ms / rest.ms).toFixed(2)}.`,
    '',
  ].join('\n');
  writeFileSync(join(import.meta.dirname, 'RECOVERY.md'), report);
  console.log(report);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
