/**
 * docs/protocol.md and the contract's catalogues say the same, as Fastify checks its docs
 * against its error list: every close code with its meaning and whether a client reconnects,
 * and every WebSocket error code with whether a client retries.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLOSE_CODES } from '../../../src/contract/close-codes.js';
import { ERROR_EVENT_CODES } from '../../../src/contract/errors.js';

const protocol = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../../docs/protocol.md'),
  'utf8',
);

/** The rows of the first table under `## heading`, as arrays of trimmed cells. */
function tableUnder(heading: string): string[][] {
  const start = protocol.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/protocol.md has a "## ${heading}" section`);
  const section = protocol.slice(start + 1).split(/\n## /)[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('|'));
  return rows.slice(2).map((row) =>
    row
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

describe('docs/protocol.md agrees with the contract', () => {
  test('close codes: the same codes, meanings, and which ones a client reconnects after', () => {
    const documented = tableUnder('Close codes').map(([code, meaning, should]) => ({
      code: Number(code),
      meaning,
      terminal: !/reconnect/.test(should ?? ''),
    }));
    const catalogue = Object.entries(CLOSE_CODES).map(([code, info]) => ({
      code: Number(code),
      meaning: info.meaning,
      terminal: info.terminal,
    }));
    assert.deepEqual(documented, catalogue);
  });

  test('error codes: the same codes, and which ones a client may retry', () => {
    const documented = tableUnder('Error codes').map(([code, , , todo]) => ({
      code: (code ?? '').replace(/`/g, ''),
      retry: /^retry/.test(todo ?? ''),
    }));
    const catalogue = Object.entries(ERROR_EVENT_CODES).map(([code, info]) => ({ code, retry: info.retry }));
    const byCode = (a: { code: string }, b: { code: string }) => a.code.localeCompare(b.code);
    assert.deepEqual(documented.sort(byCode), catalogue.sort(byCode));
  });
});
