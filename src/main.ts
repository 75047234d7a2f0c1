/** Starts the server: reads the environment, listens, and shuts down cleanly on SIGTERM/SIGINT. */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { redactText } from './http/log-redaction.js';

/** Within the usual 10 s grace of orchestrators (Kubernetes, systemd, Heroku) before SIGKILL. */
const SHUTDOWN_DEADLINE_MS = 9_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      // A bad REDIS_URL is quoted back, and may hold a password.
      for (const line of error.problems) console.error(`streammeon: ${redactText(line)}`);
      process.exit(2);
    }
    throw error;
  }

  const app = await buildApp(config);
  let closing = false;
  /**
   * Graceful shutdown: from the signal on, new requests get 503 `{detail}` with
   * `Connection: close` (features/platform.ts's refuseWhileClosing; Fastify's own 503 is not `{detail}`),
   * every WebSocket is closed with 1012 so clients reconnect to another instance, requests in
   * flight finish, the listener closes, then Redis and the database pool. A second signal, or
   * the deadline, ends the process at once: the orchestrator's SIGKILL would come next anyway.
   */
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      app.log.error(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    app.close().then(
      () => {
        app.log.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG });
  if (app.metricsServer) {
    const address = await app.metricsServer.listen({ host: config.host, port: config.metrics.port });
    app.log.info(`metrics: ${address}/metrics`);
  }
  const where = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  app.log.info(`storage: ${where}; realtime: ${config.redisUrl ? 'Redis' : 'in-process'}`);
}

/**
 * Connections the kernel may hold for us while the event loop is busy. Node's default (511)
 * overflows when thousands of viewers reconnect at once (after a deploy, or a network blip) while
 * the loop is sending a viewer_count burst: the overflow is reset or its SYN retried seconds later.
 * Linux caps this at net.core.somaxconn (4096 on current kernels).
 */
const LISTEN_BACKLOG = 4096;

main().catch((error: unknown) => {
  // A connection error may quote DATABASE_URL or REDIS_URL, password and all.
  const reason = error instanceof Error ? error.message : String(error);
  console.error(`streammeon: failed to start: ${redactText(reason)}`);
  process.exit(1);
});
