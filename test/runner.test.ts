/**
 * `npm test`'s own guard against hangs (issue 25): a teardown step that waits on a peer that
 * never answers fails its file within the bound, by the step's name; a test that never ends fails
 * its file at the file timeout, by the test's name; and the files after both still run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from './support/server-process.js';

const FIXTURES = ['teardown-hangs.ts', 'test-hangs.ts', 'passes.ts'].map(
  (name) => `test/fixtures/runner/${name}`,
);

describe('the test runner with a hanging teardown and a hanging test', () => {
  let output: string;
  let exitCode: number;

  before(async () => {
    const reply = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/run.ts', ...FIXTURES],
      {
        cwd: REPO_ROOT,
        // Without NODE_TEST_CONTEXT: this node:test file's own, which would make the runner's files
        // report to this run instead of to the runner.
        env: {
          ...process.env,
          NODE_TEST_CONTEXT: undefined,
          TEARDOWN_STEP_MS: '1000',
          TEST_FILE_TIMEOUT_MS: '8000',
        },
      },
    ).then(
      (done) => ({ stdout: done.stdout, code: 0 }),
      (failed: { stdout: string; code: number }) => ({ stdout: failed.stdout, code: failed.code }),
    );
    output = reply.stdout;
    exitCode = reply.code;
  });

  it('fails the file whose teardown hangs, naming the step', () => {
    assert.match(output, /✖ test\/fixtures\/runner\/teardown-hangs\.ts \(1 passed, 1 failed\)/);
    assert.match(
      output,
      /teardown step "silent-peer\.request" did not finish within 1000 ms; it was force-stopped/,
    );
  });

  it('fails the file whose test never ends at the file timeout, naming the test', () => {
    assert.match(output, /✖ test\/fixtures\/runner\/test-hangs\.ts \(1 passed, 1 failed\)/);
    assert.match(
      output,
      /still running when test\/fixtures\/runner\/test-hangs\.ts timed out:\n.*a suite with a stuck test\n\s+waits forever for an event that never comes/,
    );
  });

  it('still runs the next file, and the run fails listing both failed files', () => {
    assert.match(output, /✔ test\/fixtures\/runner\/passes\.ts \(1 passed\)/);
    assert.match(output, /3 files: 3 passed, 2 failed/);
    assert.match(
      output,
      /failed: test\/fixtures\/runner\/teardown-hangs\.ts\nfailed: test\/fixtures\/runner\/test-hangs\.ts/,
    );
    assert.equal(exitCode, 1);
  });
});
