/**
 * `npm test`: every suite, in two lanes that run side by side, each one file at a time.
 *
 * - The **media lane** runs the suites that drive Chromium, Janus or FFmpeg (CPU-heavy, and
 *   sensitive to sharing the CPU with each other), then helps with the rest; the **services
 *   lane** runs everything else (HTTP, WebSockets, PostgreSQL, Redis, unit tests). Each file runs
 *   in its own process. A suite that measures the machine (ALONE) runs with nothing beside it.
 * - Each file has FILE_TIMEOUT_MS (TEST_FILE_TIMEOUT_MS overrides it): a file that hangs fails
 *   with the tests still running named, and the lane goes on with its next file.
 * - It prints one line per file as it ends, every failure in full, the file that was running
 *   when a lane failed, and (for the whole suite) each file's duration, slowest first, to
 *   test-output/durations.json.
 *
 * `npm test -- test/api.test.ts` runs only the files named.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from 'node:test';
import fileReporter, { type FileResult } from './support/file-reporter.js';
import { REPO_ROOT } from './support/server-process.js';

/**
 * Per file: the slowest file (browser.test.ts) takes about 70 s on a loaded 2-core machine; four
 * times that never flakes, and a hang still fails in minutes instead of at CI's 90-minute limit.
 */
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 5 * 60_000);

/**
 * Suites that measure what the machine does (media-browser compares the studio's upload with one
 * and three viewers, which an encoder sharing the CPU with another suite skews): they run with
 * nothing beside them.
 */
const ALONE = /^test\/media-browser\.test\.ts$/;

/** Suites that drive a browser, Janus or FFmpeg: the media lane. */
const MEDIA_LANE = /^test\/(media-|replays|browser|agora-browser|moderation-browser|security)/;

/**
 * The files still to run. Only the media lane takes media files, so two never share the CPU;
 * the services lane takes services files from the front, and the media lane, once its own are
 * done, takes them from the back.
 */
interface Queue {
  media: string[];
  services: string[];
}

function allFiles(): string[] {
  const top = readdirSync(join(REPO_ROOT, 'test'))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`);
  // The unit files run in one process (test/unit/index.ts imports each).
  return [...top.sort(), 'test/unit/index.ts'];
}

function printResult(lane: string, result: FileResult): void {
  const file = relative(REPO_ROOT, result.file);
  const counts = [
    `${result.passed} passed`,
    result.failed && `${result.failed} failed`,
    result.skipped && `${result.skipped} skipped`,
    result.todo && `${result.todo} todo`,
  ].filter(Boolean);
  console.log(`${result.failed ? '✖' : '✔'} ${file} (${counts.join(', ')}) ${result.seconds} s [${lane}]`);
  for (const failure of result.failures) {
    console.log(`\n  ✖ ${failure.test}\n${failure.error.replace(/^/gm, '    ')}\n`);
  }
  if (result.stderr.length > 0)
    console.log(`  its stderr ended:\n${result.stderr.map((l) => `    ${l}`).join('\n')}\n`);
  if (result.running.length > 0) {
    console.log(
      `  still running when ${file} timed out:\n${result.running.map((name) => `    ${name}`).join('\n')}\n`,
    );
  }
}

/** Runs one file in its own process under the file timeout; resolves with what it did. */
async function runFile(file: string): Promise<FileResult> {
  const stream = run({ files: [file], concurrency: 1, timeout: FILE_TIMEOUT_MS });
  let result: FileResult | undefined;
  for await (const line of fileReporter(stream as AsyncIterable<never>)) result = JSON.parse(String(line));
  const failures = [{ test: file, error: 'node:test reported nothing for this file' }];
  return (
    result ?? {
      file,
      seconds: 0,
      passed: 0,
      failed: 1,
      skipped: 0,
      todo: 0,
      failures,
      running: [],
      stderr: [],
    }
  );
}

/**
 * What the lanes share: the files running now, and the one running alone (ALONE), which the
 * other lane waits for before it starts its next file.
 */
interface Lanes {
  running: Set<Promise<FileResult>>;
  alone: Promise<FileResult> | undefined;
}

/** Runs `file` alone (once the other lane's file ended) or beside the other lane. */
async function runInTurn(file: string, lanes: Lanes): Promise<FileResult> {
  while (lanes.alone) await lanes.alone;
  if (ALONE.test(file)) {
    const others = [...lanes.running];
    lanes.alone = Promise.allSettled(others).then(() => runFile(file));
    try {
      return await lanes.alone;
    } finally {
      lanes.alone = undefined;
    }
  }
  const running = runFile(file);
  lanes.running.add(running);
  try {
    return await running;
  } finally {
    lanes.running.delete(running);
  }
}

/** Runs the files `take` hands out, one at a time, until it has none left. */
async function runLane(name: string, take: () => string | undefined, lanes: Lanes, results: FileResult[]) {
  for (let file = take(); file !== undefined; file = take()) {
    const result = await runInTurn(file, lanes);
    results.push(result);
    printResult(name, result);
  }
}

function writeDurations(results: FileResult[]): void {
  const ranking = results
    .map((result) => ({ file: relative(REPO_ROOT, result.file), seconds: result.seconds }))
    .sort((a, b) => b.seconds - a.seconds);
  mkdirSync(join(REPO_ROOT, 'test-output'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'test-output/durations.json'), JSON.stringify(ranking, null, 2) + '\n');
}

async function main(): Promise<number> {
  const named = process.argv.slice(2);
  const files = named.length > 0 ? named.map((file) => relative(REPO_ROOT, file)) : allFiles();
  const startedAt = Date.now();
  const queue: Queue = {
    media: files.filter((file) => MEDIA_LANE.test(file)),
    services: files.filter((file) => !MEDIA_LANE.test(file)),
  };
  const results: FileResult[] = [];
  const lanes: Lanes = { running: new Set(), alone: undefined };
  await Promise.all([
    runLane('media', () => queue.media.shift() ?? queue.services.pop(), lanes, results),
    runLane('services', () => queue.services.shift(), lanes, results),
  ]);
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  const sum = (key: 'passed' | 'failed' | 'skipped' | 'todo') =>
    results.reduce((total, result) => total + result[key], 0);
  // The whole suite's ranking (docs/testing.md); a run of chosen files leaves it as it was.
  if (named.length === 0) writeDurations(results);
  const failedFiles = results.filter((result) => result.failed > 0);
  console.log(
    `\n${results.length} files: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped, ` +
      `${sum('todo')} todo in ${Math.floor(seconds / 60)} min ${seconds % 60} s`,
  );
  for (const result of failedFiles) console.log(`failed: ${relative(REPO_ROOT, result.file)}`);
  return failedFiles.length > 0 ? 1 : 0;
}

process.exitCode = await main();
