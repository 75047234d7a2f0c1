/**
 * The project says which Node it runs on (package.json `engines.node`); every installed package
 * must agree, or `npm install` warns EBADENGINE and the package may use an API that Node lacks.
 * Walks package-lock.json, so a dependency bump that quietly needs a newer Node fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { REPO_ROOT } from './support/server-process.js';

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

const read = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));

test('every package in package-lock.json runs on the oldest Node that package.json admits', () => {
  const range: string = read('package.json').engines.node;
  const oldest = semver.minVersion(range);
  assert.ok(oldest, `package.json engines.node "${range}" admits no version`);
  assert.equal(oldest.major, 20, `package.json engines.node "${range}" should start at Node 20`);

  const packages: Record<string, LockEntry> = read('package-lock.json').packages;
  const refusing: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(packages)) {
    // Old packages wrote engines as an array of strings, which npm ignores.
    const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (!path || !wanted) continue;
    checked++;
    if (!semver.satisfies(oldest, wanted)) refusing.push(`${path}@${entry.version}: node ${wanted}`);
  }
  assert.ok(checked > 50, `only ${checked} packages declare engines: is package-lock.json complete?`);
  assert.deepEqual(refusing, [], `these packages need a newer Node than ${oldest.version}`);
});
