/**
 * A node:test reporter that says, per test file, what test/run.ts needs: one JSON line when the
 * file ends, with its duration, its counts, each failure, and, when the file timed out, the
 * tests still running at that moment (so a hang is named, never just "timed out").
 *
 * A file starts with its own `test:dequeue` and ends with its own `test:complete` (or, should
 * that be missing, where the next file starts). Files run one at a time per lane
 * (concurrency 1), so the events between belong to that file.
 */
import { relative, resolve } from 'node:path';
import { inspect } from 'node:util';

/** What the runner reads, one per file. */
export interface FileResult {
  file: string;
  seconds: number;
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  failures: { test: string; error: string }[];
  /** When the file timed out: the tests (or suites, then in a hook) that had not finished. */
  running: string[];
  /** When the file failed: the last lines it wrote to stderr (teardown names a hung step there). */
  stderr: string[];
}

interface TestEventData {
  name: string;
  message?: string;
  nesting: number;
  file?: string;
  skip?: string | boolean;
  todo?: string | boolean;
  details?: { type?: string; error?: { failureType?: string; message?: string; cause?: unknown } };
}

interface TestEvent {
  type: string;
  data: TestEventData;
}

interface OpenFile {
  result: FileResult;
  startedAt: number;
  /** Dequeued and not finished, by nesting: names the test a timeout interrupted. */
  open: Map<string, TestEventData>;
  stderr: string[];
}

/** How much of a failed file's stderr its result keeps. */
const STDERR_LINES = 40;

function describeError(error: { message?: string; cause?: unknown } | undefined): string {
  const cause = error?.cause ?? error;
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : inspect(cause, { depth: 4 });
  return text.split('\n').slice(0, 30).join('\n');
}

function openFile(file: string): OpenFile {
  return {
    result: {
      file,
      seconds: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      todo: 0,
      failures: [],
      running: [],
      stderr: [],
    },
    startedAt: Date.now(),
    open: new Map(),
    stderr: [],
  };
}

function finish(current: OpenFile): string {
  current.result.seconds = Math.round((Date.now() - current.startedAt) / 100) / 10;
  if (current.result.failed > 0) current.result.stderr = current.stderr.slice(-STDERR_LINES);
  return JSON.stringify(current.result) + '\n';
}

/** Counts a test's end; a suite counts only when a hook of its own failed. */
function record(current: OpenFile, event: TestEvent): void {
  const { data } = event;
  current.open.delete(`${data.nesting}:${data.name}`);
  const result = current.result;
  const suite = data.details?.type === 'suite';
  if (event.type === 'test:pass') {
    if (suite) return;
    if (data.skip) result.skipped++;
    else if (data.todo) result.todo++;
    else result.passed++;
    return;
  }
  const error = data.details?.error;
  if (error?.failureType === 'subtestsFailed') return;
  if (!suite && data.todo) {
    result.todo++;
    return;
  }
  result.failed++;
  result.failures.push({ test: data.name, error: describeError(error) });
}

/** The file's own end: a timeout names what was running; a crash with no failing test fails it. */
function fileEnded(current: OpenFile, data: TestEventData): void {
  const error = data.details?.error;
  const result = current.result;
  if (!error) return;
  if (/timed out/.test(error.message ?? '')) {
    result.running = [...current.open.values()].map((test) => `${'  '.repeat(test.nesting)}${test.name}`);
  } else if (result.failed > 0) return;
  result.failed++;
  result.failures.push({ test: relative(process.cwd(), result.file), error: describeError(error) });
}

export default async function* fileReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let current: OpenFile | undefined;
  for await (const event of source) {
    const { data } = event;
    if (!data?.file) continue;
    const isFile = data.nesting === 0 && resolve(data.name) === data.file;
    if (isFile && event.type === 'test:dequeue') {
      if (current) yield finish(current);
      current = openFile(data.file);
      continue;
    }
    if (!current) continue;
    if (isFile) {
      if (event.type !== 'test:complete') continue;
      fileEnded(current, data);
      yield finish(current);
      current = undefined;
    } else if (event.type === 'test:stderr') {
      current.stderr.push(...(data.message ?? '').trimEnd().split('\n'));
      current.stderr.splice(0, current.stderr.length - STDERR_LINES);
    } else if (event.type === 'test:dequeue') {
      current.open.set(`${data.nesting}:${data.name}`, data);
    } else if (event.type === 'test:pass' || event.type === 'test:fail') {
      record(current, event);
    }
  }
  if (current) yield finish(current);
}
