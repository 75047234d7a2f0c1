/**
 * Every unit test file, in one process: they need no service, and starting a process with tsx
 * for each was most of their time. `npm test` and `npm run test:unit` run this file; a single
 * unit file still runs on its own (`npm test -- test/unit/auth/tokens.test.ts`). Hooks in a
 * unit file belong inside its `describe`, since a top-level one would apply to every file here.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((dir) =>
    readdirSync(join(here, dir.name))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => join(here, dir.name, name)),
  )
  .sort();
for (const file of files) await import(pathToFileURL(file).href);
