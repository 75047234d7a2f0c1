import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenError, Tokens } from '../../../src/auth/tokens.js';

function setup() {
  let now = Date.UTC(2026, 0, 1);
  const tokens = new Tokens('unit-test-secret-long-enough', 15, { now: () => now });
  return { tokens, advance: (ms: number) => (now += ms) };
}

const alice = { id: 7, role: 'user', name: 'Alice' };

test('a token verified before says the same again', async () => {
  const { tokens } = setup();
  const token = await tokens.issue(alice);
  const first = await tokens.verify(token);
  assert.deepEqual(await tokens.verify(token), first);
  assert.deepEqual(first, { sub: '7', role: 'user', name: 'Alice' });
});

test('a token verified before is refused as expired once its exp has passed', async () => {
  const { tokens, advance } = setup();
  const token = await tokens.issue(alice);
  await tokens.verify(token);
  advance(15 * 60_000 - 1000);
  await tokens.verify(token);
  advance(1000);
  await assert.rejects(
    tokens.verify(token),
    (error) => error instanceof TokenError && error.message === 'Token expired',
  );
});

test('a verified token with its signature changed is refused', async () => {
  const { tokens } = setup();
  const token = await tokens.issue(alice);
  await tokens.verify(token);
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  await assert.rejects(tokens.verify(token.slice(0, -1) + last), /Could not validate credentials/);
});

test('a token signed with another secret is refused', async () => {
  const { tokens } = setup();
  const other = new Tokens('another-secret-long-enough-too', 15, { now: () => Date.UTC(2026, 0, 1) });
  await assert.rejects(tokens.verify(await other.issue(alice)), /Could not validate credentials/);
});
