/**
 * Typed readers of environment variables for `loadConfig`: each reads one variable, checks it,
 * and on a bad value records one line naming the variable and answers the default, so that one
 * start reports every bad variable at once. Nothing here has side effects.
 */

export type Env = Record<string, string | undefined>;

/** At most `max` events per fixed window of `windowMs`. */
export interface RateRule {
  max: number;
  windowMs: number;
}

/** What a list's entries must look like, and how its problem line says so. */
export interface ListRule {
  /** A good entry, whole. */
  entry: RegExp;
  /** The problem line before ` (got "…")`: `CORS_ORIGINS entries must look like …`. */
  mustBe: string;
  /** What separates entries; default commas or whitespace. */
  separator?: RegExp;
  /** Applied to each trimmed entry before it is checked. */
  normalize?: (entry: string) => string;
}

export class EnvReader {
  /** One line per bad variable, in the order read. */
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** Records a problem the typed readers cannot see (two variables that go together, …). */
  problem(line: string): void {
    this.problems.push(line);
  }

  /** The value, trimmed; undefined when unset or blank. */
  text(name: string): string | undefined {
    return this.env[name]?.trim() || undefined;
  }

  /** The value exactly as set (secrets keep their spaces); '' when unset. */
  raw(name: string): string {
    return this.env[name] ?? '';
  }

  /** A whole number from `min` to `max`; `fallback` when unset. */
  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= min && value <= max) return value;
    this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }

  /** `on` or `off` (any case); `on` when unset. */
  onOff(name: string): boolean {
    const value = (this.env[name] ?? 'on').trim().toLowerCase();
    if (!['on', 'off', ''].includes(value)) {
      this.problems.push(`${name} must be on or off (got "${this.env[name]}")`);
    }
    return value !== 'off';
  }

  /** Entries separated by commas or whitespace (or the rule's separator), each checked. */
  list(name: string, rule: ListRule, raw = this.env[name] ?? ''): string[] {
    const entries = raw
      .split(rule.separator ?? /[\s,]+/)
      .map((entry) => (rule.normalize ?? ((e: string) => e))(entry.trim()))
      .filter(Boolean);
    for (const entry of entries) {
      if (!rule.entry.test(entry)) this.problems.push(`${rule.mustBe} (got "${entry}")`);
    }
    return entries;
  }

  /** `MAX/WINDOW` such as `20/1m`; `fallback` (in the same form) when unset or bad. */
  rateRule(name: string, fallback: string): RateRule {
    const raw = this.text(name) ?? fallback;
    const parsed = parseRateRule(raw);
    if (parsed) return parsed;
    this.problems.push(
      `${name} must look like MAX/WINDOW, e.g. 20/1m or 5/500ms (MAX 1-10000000, WINDOW 100ms-24h; got "${raw}")`,
    );
    return parseRateRule(fallback) as RateRule;
  }

  /** Durations such as `10s,1m,1h`, each 10 ms to 24 h; `fallback` when unset or bad. */
  durations(name: string, fallback: string): number[] {
    const raw = this.text(name) ?? fallback;
    const parsed = parseDurations(raw);
    if (parsed) return parsed;
    this.problems.push(
      `${name} must be durations separated by commas, e.g. 10s,1m,1h (each 10ms-24h; got "${raw}")`,
    );
    return parseDurations(fallback) ?? [];
  }

  /** A JSON array; [] when unset, and `problem` recorded when it is not one. */
  jsonArray(name: string, problem: string): unknown[] {
    const raw = this.env[name];
    if (!raw) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // Reported below, as for any other value that is not an array.
    }
    this.problems.push(problem);
    return [];
  }
}

const WINDOW_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `MAX/WINDOW`, e.g. `20/1m`, `5/500ms`, `100/10s`; undefined when it is not one. */
export function parseRateRule(raw: string): RateRule | undefined {
  const match = /^(\d+)\s*\/\s*(\d+)\s*(ms|s|m|h)$/.exec(raw.trim());
  if (!match) return undefined;
  const max = Number(match[1]);
  const windowMs = Number(match[2]) * (WINDOW_UNITS[match[3] as string] as number);
  if (max < 1 || max > 10_000_000 || windowMs < 100 || windowMs > 86_400_000) return undefined;
  return { max, windowMs };
}

/** `10s,1m,1h`: durations in ms, each from 10 ms to 24 h; undefined when it is not that. */
export function parseDurations(raw: string): number[] | undefined {
  const out: number[] = [];
  for (const part of raw.split(',')) {
    const match = /^(\d+)\s*(ms|s|m|h)$/.exec(part.trim());
    if (!match) return undefined;
    const ms = Number(match[1]) * (WINDOW_UNITS[match[2] as string] as number);
    if (ms < 10 || ms > 86_400_000) return undefined;
    out.push(ms);
  }
  return out.length > 0 ? out : undefined;
}
