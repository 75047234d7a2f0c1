/**
 * The Content-Security-Policy the pages get is the one docs/hardening.md shows, read from the
 * document itself: the docs once described a stricter policy of the app's own that the server
 * never sent. One policy, one builder (src/http/security.ts), one description.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from './support/app.js';
import { buildWebIfStale } from './support/browser.js';
import { REPO_ROOT } from './support/server-process.js';

const EXTRA_CONNECT_SRC = 'http://192.168.1.5:8000';

/** The "Security headers" section of docs/hardening.md. */
function securitySection(): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs/hardening.md'), 'utf8');
  const start = doc.indexOf('\n## Security headers');
  assert.ok(start >= 0, 'docs/hardening.md has a "Security headers" section');
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The policies the section shows: fenced blocks that start with `default-src`. */
function documentedPolicies(section: string): string[] {
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)]
    .map((m) => m[1]!.trim())
    .filter((block) => block.startsWith('default-src'));
}

/** A policy as its directives, in order, each with single spaces: `["default-src 'self'", …]`. */
function directives(policy: string): string[] {
  return policy
    .split(';')
    .map((d) => d.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

describe('Content-Security-Policy, as documented', () => {
  let server: RunningApp;
  before(async () => {
    buildWebIfStale();
    server = await startApp({ env: { CSP_CONNECT_SRC: EXTRA_CONNECT_SRC } });
  });
  after(async () => {
    await server?.close();
  });

  test('docs/hardening.md describes one policy, for every page', () => {
    const section = securitySection();
    assert.equal(documentedPolicies(section).length, 1, 'exactly one policy block');
    // What had drifted: a page said to get a policy of its own that the server never sent.
    const otherPolicy = section.match(
      /\b(own|stricter|separate|different|another)\b[\s,]+(\w+[\s,]+)?polic(y|ies)\b[^.]*/i,
    )?.[0];
    assert.equal(otherPolicy, undefined, 'the docs describe a second policy; the server sends one');
  });

  test('/, /docs, the Agora demo and the API serve exactly the documented policy', async () => {
    const documented = directives(
      documentedPolicies(securitySection())[0]!.replace('[CSP_CONNECT_SRC]', EXTRA_CONNECT_SRC),
    );
    assert.ok(documented.length > 5, `parsed ${JSON.stringify(documented)}`);
    for (const path of ['/', '/docs', '/examples/web/', '/health']) {
      const res = await fetch(server.baseUrl + path);
      await res.arrayBuffer();
      assert.equal(res.status, 200, `${path} is served (is the web app built?)`);
      assert.deepEqual(directives(res.headers.get('content-security-policy') ?? ''), documented, path);
    }
  });
});
