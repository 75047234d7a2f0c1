/**
 * Logs people can read: coloured, pretty lines when the server runs in development on a terminal
 * (a pseudo-terminal here, through `script`), JSON otherwise; and one line per WebSocket session
 * end with its duration and close code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { quickDatabase } from './support/databases.js';
import { goLive, register } from './support/http.js';
import { startServerProcess } from './support/server-process.js';
import { eventually, TestSocket } from './support/ws.js';

const DEV = { NODE_ENV: 'development', LOG_LEVEL: 'info' };

/** The JSON lines a process wrote. */
function jsonLines(output: string): any[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

describe('readable logs', () => {
  test('in development on a terminal, lines are pretty and coloured, not JSON', async () => {
    const database = await quickDatabase();
    const server = await startServerProcess(
      { ...DEV, ...database.env },
      {
        command: ['script', '-qfec', `${process.execPath} --import tsx src/main.ts`, '/dev/null'],
      },
    );
    try {
      await fetch(`${server.baseUrl}/health`);
      await eventually(() => /request completed/.test(server.output()), 'a request line', 10_000);
      const output = server.output();
      assert.ok(output.includes('\u001b['), 'ANSI colours');
      assert.match(output, /INFO/);
      assert.equal(jsonLines(output).length, 0, 'no JSON lines');
    } finally {
      await server.stop();
      await database.drop();
    }
  });

  test('in development without a terminal, lines are JSON', async () => {
    const database = await quickDatabase();
    const server = await startServerProcess({ ...DEV, ...database.env });
    try {
      await fetch(`${server.baseUrl}/health`);
      await eventually(() => /request completed/.test(server.output()), 'a request line', 10_000);
      assert.ok(jsonLines(server.output()).some((line) => line.msg === 'request completed'));
      assert.ok(!server.output().includes('\u001b['), 'no ANSI colours');
    } finally {
      await server.stop();
      await database.drop();
    }
  });

  test('a WebSocket session end is one line with its endpoint, session, duration and close code', async () => {
    const database = await quickDatabase();
    const server = await startServerProcess({ LOG_LEVEL: 'info', ...database.env });
    try {
      const { session } = await goLive(server.baseUrl);
      const viewer = await register(server.baseUrl);
      const socket = await TestSocket.open(
        `${server.wsUrl}/ws/live/${session.session_id}?token=${viewer.token}`,
      );
      await socket.waitForType('session_info');
      await new Promise((resolve) => setTimeout(resolve, 300));
      socket.ws.close(1000);
      const refused = await TestSocket.open(`${server.wsUrl}/ws/signal/${session.session_id}`);
      assert.equal(await refused.closeCode(), 4401);
      const ends = () => jsonLines(server.output()).filter((line) => line.msg === 'websocket closed');
      await eventually(() => ends().length === 2, 'two session-end lines', 10_000);
      const [live, signal] = [
        ends().find((line) => line.endpoint === 'live'),
        ends().find((line) => line.endpoint === 'signal'),
      ];
      assert.equal(live.code, 1000);
      assert.equal(live.sessionId, session.session_id);
      assert.ok(live.durationSeconds >= 0.3 && live.durationSeconds < 10, `${live.durationSeconds} s`);
      assert.equal(signal.code, 4401);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});
