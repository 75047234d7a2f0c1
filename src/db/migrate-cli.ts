/** `npm run migrate`: applies pending migrations to the configured database and exits. */
import { ConfigError, loadConfig } from '../config.js';
import { openStore } from './store.js';

try {
  const config = loadConfig();
  const store = await openStore(config);
  const where = store.kind === 'postgres' ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  console.log(`migrations applied on ${where}; users.id is ${store.userIdType}`);
  await store.close();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `migrate failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
