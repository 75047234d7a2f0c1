import type { FastifyBaseLogger } from 'fastify';

/** A logger that keeps its warnings for the test to read and prints nothing. */
export function recordingLog(): FastifyBaseLogger & { warnings: unknown[][] } {
  const warnings: unknown[][] = [];
  const ignore = () => undefined;
  const log = {
    warnings,
    level: 'warn',
    warn: (...args: unknown[]) => void warnings.push(args),
    fatal: ignore,
    error: ignore,
    info: ignore,
    debug: ignore,
    trace: ignore,
    silent: ignore,
    child: () => log,
  };
  return log;
}
