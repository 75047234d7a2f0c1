/**
 * A real HTTP receiver for webhook tests: records every request (raw body, signature header,
 * arrival time), answers as the test says (a status, a delay, or no answer), and can go down
 * (its port refuses connections) and come back up on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
  signature: string;
  at: number;
}

/** How to answer one request: a status after `delayMs`, or never (`hang`). */
export type Answer = { status: number; delayMs?: number } | 'hang';

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** Requests being answered right now, by event id (for the one-at-a-time check). */
  readonly inFlight = new Map<string, number>();
  /** Most requests for one event id that were in flight at the same moment. */
  maxConcurrentPerId = 0;
  answer: (request: Received) => Answer = () => ({ status: 200 });
  #server: Server | undefined;
  #port = 0;
  readonly #open = new Set<ServerResponse>();

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = 100;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops answering: open requests are cut and the port refuses connections. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const res of this.#open) res.destroy();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    await this.start(this.#port);
  }

  /** The distinct event ids received. */
  ids(): Set<string> {
    return new Set(this.received.map((r) => r.json.id));
  }

  ofType(type: string): Received[] {
    return this.received.filter((r) => r.json.type === type);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const received: Received = {
      body,
      json: JSON.parse(body) as Received['json'],
      signature: String(req.headers['streammeon-signature'] ?? ''),
      at: Date.now(),
    };
    this.received.push(received);
    const id = received.json.id;
    const now = (this.inFlight.get(id) ?? 0) + 1;
    this.inFlight.set(id, now);
    this.maxConcurrentPerId = Math.max(this.maxConcurrentPerId, now);
    this.#open.add(res);
    const done = () => {
      this.#open.delete(res);
      const left = (this.inFlight.get(id) ?? 1) - 1;
      if (left > 0) this.inFlight.set(id, left);
      else this.inFlight.delete(id);
    };
    res.once('close', done);
    const answer = this.answer(received);
    if (answer === 'hang') return;
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (!res.destroyed) res.writeHead(answer.status, { 'content-type': 'text/plain' }).end('ok');
  }
}
