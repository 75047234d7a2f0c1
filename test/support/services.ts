/**
 * Which real services this test run may use. Outside CI a missing service skips its suites with
 * a note saying how to enable them; in CI (CI=true) a missing service fails the run instead.
 */
import { existsSync } from 'node:fs';

const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** undefined when the suite may run; otherwise the skip reason (never in CI: it throws). */
function requirement(present: boolean, what: string, how: string): string | undefined {
  if (present) return undefined;
  if (inCi) throw new Error(`CI needs ${what}: ${how}`);
  return `${what} not configured (${how})`;
}

/** Skip reason for suites that need PostgreSQL, or undefined when DATABASE_URL is set. */
export const needsPostgres = (): string | undefined =>
  requirement(
    Boolean(process.env.DATABASE_URL),
    'PostgreSQL',
    'set DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres',
  );

/** Skip reason for suites that need Redis, or undefined when REDIS_URL is set. */
export const needsRedis = (): string | undefined =>
  requirement(Boolean(process.env.REDIS_URL), 'Redis', 'set REDIS_URL=redis://127.0.0.1:6379');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Skip reason for browser suites, or undefined when Chromium is installed. */
export const needsChromium = (): string | undefined =>
  requirement(existsSync(CHROMIUM), 'Chromium', 'apt-get install chromium, or set CHROMIUM_PATH');
