/** The local replay storage: keys only of our making, atomic puts, paths, deletes and ages. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isReplayKey, replayKey, sessionOfKey } from '../../../src/replays/storage.js';
import { LocalReplayStorage } from '../../../src/replays/storage-local.js';

describe('replay keys', () => {
  test('are a session id (lower case) and an extension; anything else is refused', () => {
    const id = randomUUID();
    assert.equal(replayKey(id.toUpperCase(), 'webm'), `${id}.webm`);
    assert.equal(sessionOfKey(`${id}.mp4`), id);
    for (const bad of [
      '../etc/passwd',
      '..%2F..%2Fetc%2Fpasswd',
      'abc',
      `${id}`,
      `${id}.exe`,
      `../${id}.webm`,
    ]) {
      assert.equal(isReplayKey(bad), false, bad);
    }
    assert.throws(() => replayKey('../../etc/passwd', 'webm'));
  });
});

describe('LocalReplayStorage', () => {
  let root: string;
  let storage: LocalReplayStorage;
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'replay-storage-'));
    storage = new LocalReplayStorage(join(root, 'replays'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('put moves the finished file under its key; stat sees it and its path holds its bytes', async () => {
    const key = replayKey(randomUUID(), 'webm');
    const source = join(root, 'finished.webm');
    writeFileSync(source, bytes);
    await storage.put(key, source);
    assert.equal(existsSync(source), false, 'moved, not copied');
    assert.deepEqual(await storage.stat(key), { size: 1000 });
    assert.deepEqual(readFileSync(storage.path(key)), bytes);
    assert.deepEqual(readdirSync(join(root, 'replays')), [key], 'nothing but the file');
  });

  test('put replaces what a key holds, whole', async () => {
    const key = replayKey(randomUUID(), 'mp4');
    writeFileSync(join(root, 'a'), 'first');
    await storage.put(key, join(root, 'a'));
    writeFileSync(join(root, 'b'), 'second version');
    await storage.put(key, join(root, 'b'));
    assert.equal(readFileSync(join(root, 'replays', key), 'utf8'), 'second version');
  });

  test('a missing key: stat undefined, nothing at its path, delete is fine', async () => {
    const key = replayKey(randomUUID(), 'webm');
    assert.equal(await storage.stat(key), undefined);
    assert.equal(existsSync(storage.path(key)), false);
    await storage.delete(key);
  });

  test('keys not of our making are refused before any file system access', async () => {
    writeFileSync(join(root, 'secret'), 'do not read');
    for (const key of ['../secret', '..%2Fsecret', '/etc/passwd', '']) {
      await assert.rejects(storage.stat(key), /not a replay key/);
      assert.throws(() => storage.path(key), /not a replay key/);
      await assert.rejects(storage.delete(key), /not a replay key/);
      await assert.rejects(storage.put(key, join(root, 'secret')), /not a replay key/);
    }
    assert.equal(readFileSync(join(root, 'secret'), 'utf8'), 'do not read');
  });

  test('list reports the stored keys and their ages; delete removes one', async () => {
    const key = replayKey(randomUUID(), 'webm');
    writeFileSync(join(root, 'c'), 'x');
    await storage.put(key, join(root, 'c'));
    writeFileSync(join(root, 'replays', 'not-a-key.txt'), 'ignored');
    const listed = await storage.list();
    const mine = listed.find((f) => f.key === key);
    assert.ok(mine && mine.ageMs >= 0 && mine.ageMs < 60_000);
    assert.ok(listed.every((f) => isReplayKey(f.key)));
    await storage.delete(key);
    assert.equal(await storage.stat(key), undefined);
    assert.equal(
      (await storage.list()).some((f) => f.key === key),
      false,
    );
  });

  test('a storage folder that does not exist yet lists nothing', async () => {
    assert.deepEqual(await new LocalReplayStorage(join(root, 'nowhere')).list(), []);
  });
});
