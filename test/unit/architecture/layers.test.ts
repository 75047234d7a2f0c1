/**
 * The layers of docs/architecture.md, as .dependency-cruiser.cjs enforces them in `npm run lint`:
 * the real tree has no violation, and a fixture of deliberate ones is caught, each by its rule.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

// As the CLI does: TypeScript's own resolution, so `./x.js` finds `./x.ts`.
const tsConfig = extractTSConfig(join(root, 'tsconfig.json'));

async function violations(baseDir: string, paths: string[]): Promise<string[]> {
  // A fresh copy each time: dependency-cruiser normalizes the rule set it is given in place.
  const { options, forbidden } = structuredClone(config);
  const { output } = await cruise(
    paths,
    { ...options, baseDir, validate: true, ruleSet: { forbidden } },
    undefined,
    { tsConfig },
  );
  const result = output as ICruiseResult;
  assert.ok(result.summary.totalCruised > paths.length, 'modules were found and followed');
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe('layers', () => {
  test('src/ and the web app break no layer rule', async () => {
    assert.deepEqual(await violations(root, ['src', 'web/src']), []);
  });

  test('each deliberate violation in the fixture is caught by its rule', async () => {
    const found = await violations(join(root, 'test/fixtures/layers'), ['src', 'web']);
    assert.deepEqual(found, [
      'base-does-not-import-upwards: src/db/uses-auth.ts → src/auth/user.ts',
      'contract-imports-nothing-of-ours: src/contract/uses-db.ts → src/db/store.ts',
      'domain-does-not-import-transports: src/live/uses-http.ts → src/http/reply.ts',
      'domain-folders-do-not-import-each-other: src/live/uses-auth.ts → src/auth/user.ts',
      'no-cycle: src/db/a.ts → src/db/b.ts',
      'transports-do-not-import-each-other: src/http/uses-realtime.ts → src/realtime/hub.ts',
      'web-imports-only-the-contract: web/uses-server.ts → src/auth/user.ts',
    ]);
  });
});
