import WebSocket, { type ClientOptions } from 'ws';

/** What a test socket saw: every JSON message in order, and how it closed. */
export class TestSocket {
  readonly messages: any[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      try {
        this.messages.push(JSON.parse((data as Buffer).toString()));
      } catch {
        this.messages.push({ unparsable: (data as Buffer).toString() });
      }
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.#waiters) wake();
      });
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket and resolves once it is open (or closed right after the upgrade). */
  static async open(url: string, options: ClientOptions = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, options);
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
    });
    return socket;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  ofType(type: string): any[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** Resolves with the first message (from `from` on) matching `match`; rejects after `ms`. */
  async waitFor(match: (m: any) => boolean, ms = 5_000, from = 0): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `no matching message within ${ms} ms; saw ${JSON.stringify(this.messages).slice(0, 600)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(1, deadline - Date.now()));
        this.#waiters.add(wake);
      });
    }
  }

  waitForType(type: string, ms?: number): Promise<any> {
    return this.waitFor((m) => m.type === type, ms);
  }

  /** Resolves with the close code; rejects if the socket is still open after `ms`. */
  async closeCode(ms = 5_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    });
    try {
      return (await Promise.race([this.closed, timeout])).code;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.ws.readyState <= WebSocket.OPEN) this.ws.close();
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true; rejects with `what` after `ms`. */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  what: string,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(25);
  }
}

/** The sockets a suite opened, so its `after` closes every one. */
export class SocketPool {
  readonly #sockets: TestSocket[] = [];

  /** Opens a socket (see TestSocket.open) and keeps it for closeAll. */
  async open(url: string, options?: ClientOptions): Promise<TestSocket> {
    return this.keep(await TestSocket.open(url, options));
  }

  /** Keeps a socket opened elsewhere. */
  keep(socket: TestSocket): TestSocket {
    this.#sockets.push(socket);
    return socket;
  }

  closeAll(): void {
    for (const socket of this.#sockets) socket.close();
  }
}
