/**
 * A tiny client for a server process's V8 inspector (started with `--inspect=127.0.0.1:0`): force a
 * garbage collection, evaluate an expression, and take a heap snapshot summarized by constructor.
 * Used to say *what* a viewer's memory is, once RSS has said how much.
 */
import WebSocket from 'ws';

export interface HeapSummary {
  /** Self size and count per constructor (objects) or per `(type)` for everything else. */
  byName: Map<string, { count: number; bytes: number }>;
  totalBytes: number;
}

export class Inspector {
  #nextId = 1;
  readonly #pending = new Map<number, (result: any) => void>();
  #chunks: string[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as {
        id?: number;
        method?: string;
        params?: any;
        result?: any;
      };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') this.#chunks.push(message.params.chunk);
      else if (message.id !== undefined) this.#pending.get(message.id)?.(message.result);
    });
  }

  /** The inspector URL a process printed on stderr (`Debugger listening on ws://…`). */
  static urlIn(output: string): string | undefined {
    return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  call(method: string, params: object = {}, timeoutMs = 120_000): Promise<any> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), timeoutMs);
      this.#pending.set(id, (result) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.call('Runtime.evaluate', { expression, returnByValue: true });
    return reply.result.value as T;
  }

  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  async heapSummary(): Promise<HeapSummary> {
    this.#chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const snapshot = JSON.parse(this.#chunks.join('')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    this.#chunks = [];
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0];
    const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
      number,
      number,
      number,
    ];
    const byName = new Map<string, { count: number; bytes: number }>();
    let totalBytes = 0;
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      const type = types[snapshot.nodes[i + typeAt]!]!;
      const key = type === 'object' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${type})`;
      const size = snapshot.nodes[i + sizeAt]!;
      const entry = byName.get(key) ?? { count: 0, bytes: 0 };
      entry.count += 1;
      entry.bytes += size;
      byName.set(key, entry);
      totalBytes += size;
    }
    return { byName, totalBytes };
  }

  close(): void {
    this.socket.terminate();
  }
}
