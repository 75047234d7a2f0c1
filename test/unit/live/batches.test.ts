/** Batches: group commit over every key, with a fake writer that the test lets finish. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Batches } from '../../../src/live/batches.js';

interface Item {
  value: number;
  resolve(): void;
  reject(error: unknown): void;
}

/** A writer that records each batch and finishes it when the test says so. */
function heldWriter() {
  const batches: { keys: string[]; values: number[]; finish(error?: Error): void }[] = [];
  const arrived: (() => void)[] = [];
  const write = (batch: Map<string, Item[]>) =>
    new Promise<void>((resolve, reject) => {
      const items = [...batch.values()].flat();
      batches.push({
        keys: [...batch.keys()],
        values: items.map((i) => i.value),
        finish: (error) => {
          if (error) return reject(error);
          for (const item of items) item.resolve();
          resolve();
        },
      });
      arrived.shift()?.();
    });
  const nextBatch = async (count: number) => {
    while (batches.length < count) await new Promise<void>((resolve) => arrived.push(resolve));
    return batches[count - 1]!;
  };
  return { write, batches, nextBatch };
}

function add(batches: Batches<Item>, key: string, value: number): Promise<void> {
  // The writer resolves items; the test only needs to know when.
  return new Promise((resolve, reject) => batches.add(key, { value, resolve, reject }));
}

test('the first item of an idle key is written at once, alone', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write);
  const done = add(batches, 's', 1);
  const first = await writer.nextBatch(1);
  assert.deepEqual(first.values, [1]);
  first.finish();
  await done;
});

test('what arrives during a write goes, all together and in order, in the next batch', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write);
  const all = [add(batches, 's', 1)];
  const first = await writer.nextBatch(1);
  for (const value of [2, 3, 4]) all.push(add(batches, 's', value));
  assert.equal(batches.waiting, 3);
  first.finish();
  const second = await writer.nextBatch(2);
  assert.deepEqual(second.values, [2, 3, 4]);
  second.finish();
  await Promise.all(all);
  assert.equal(batches.waiting, 0);
});

test('a batch holds at most maxBatch items; the rest follow in the next', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write, 2);
  const all = [add(batches, 's', 1)];
  const first = await writer.nextBatch(1);
  for (const value of [2, 3, 4]) all.push(add(batches, 's', value));
  first.finish();
  const second = await writer.nextBatch(2);
  assert.deepEqual(second.values, [2, 3]);
  second.finish();
  const third = await writer.nextBatch(3);
  assert.deepEqual(third.values, [4]);
  third.finish();
  await Promise.all(all);
});

test('what arrives for other keys during a write shares the next batch, grouped by key in arrival order', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write);
  const all = [add(batches, 'a', 1)];
  const first = await writer.nextBatch(1);
  for (const [key, value] of [
    ['b', 2],
    ['a', 3],
    ['b', 4],
    ['c', 5],
  ] as const)
    all.push(add(batches, key, value));
  first.finish();
  const second = await writer.nextBatch(2);
  assert.deepEqual(second.keys, ['b', 'a', 'c']);
  assert.deepEqual(second.values, [2, 4, 3, 5]);
  second.finish();
  await Promise.all(all);
});

test('a batch for a second key never starts while one is being written', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write);
  const slow = add(batches, 'slow', 1);
  const first = await writer.nextBatch(1);
  const other = add(batches, 'fast', 2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writer.batches.length, 1);
  assert.equal(batches.waiting, 1);
  first.finish();
  (await writer.nextBatch(2)).finish();
  await Promise.all([slow, other]);
});

test('a write that throws rejects its batch with the error, and the next batch still runs', async () => {
  const writer = heldWriter();
  const batches = new Batches(writer.write);
  const failed = add(batches, 's', 1);
  const first = await writer.nextBatch(1);
  const later = add(batches, 's', 2);
  first.finish(new Error('database down'));
  await assert.rejects(failed, /database down/);
  const second = await writer.nextBatch(2);
  second.finish();
  await later;
});
