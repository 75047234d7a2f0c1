/**
 * The orchestrator's handle on the load-generator processes: forks them, spreads connections
 * over them, and merges what they report. Requests are matched to replies by id.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from './histogram.js';
import { childExecArgv, sampleProc, stopChild, type ProcSample } from './proc.js';
import type { Command, ConnectReply, ProgressReply, ReportReply, ViewerProtocol } from './protocol.js';

const GENERATOR = fileURLToPath(new URL('./generator.ts', import.meta.url));
const REPLY_TIMEOUT_MS = 90_000;

type Request = Command extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export class Fleet {
  readonly #children: ChildProcess[];
  readonly #pending = new Map<number, { resolve: (reply: any) => void; reject: (error: Error) => void }>();
  readonly #viewers: number[];
  #nextId = 1;

  private constructor(children: ChildProcess[]) {
    this.#children = children;
    this.#viewers = children.map(() => 0);
    for (const child of children) {
      child.on('message', (reply: { id: number }) => {
        const pending = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        pending?.resolve(reply);
      });
      child.on('exit', (code) => {
        for (const [id, pending] of this.#pending) {
          this.#pending.delete(id);
          pending.reject(new Error(`generator ${child.pid} exited with ${code}`));
        }
      });
    }
  }

  static start(size: number, lifetimeMs: number): Fleet {
    const children = Array.from({ length: size }, () =>
      fork(GENERATOR, [], {
        execArgv: childExecArgv,
        env: { ...process.env, BENCH_LIFETIME_MS: String(lifetimeMs) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    return new Fleet(children);
  }

  get size(): number {
    return this.#children.length;
  }

  /** Viewers this fleet has connected (as of the last connect: see `progress().open` for now). */
  get viewers(): number {
    return this.#viewers.reduce((a, b) => a + b, 0);
  }

  #ask<T>(child: ChildProcess, request: Request): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`generator ${child.pid} did not answer ${request.cmd} in time`));
      }, REPLY_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ ...request, id });
    });
  }

  #all<T>(request: Request): Promise<T[]> {
    return Promise.all(this.#children.map((child) => this.#ask<T>(child, request)));
  }

  /**
   * Adds `count` viewers, spread so every generator ends with an equal share; each generator
   * keeps `concurrency` handshakes in flight. Connection i uses urls[i % urls.length].
   */
  async connect(urls: string[], protocol: ViewerProtocol, count: number, concurrency: number) {
    // Viewers the server dropped no longer count: shares are computed from the ones still open.
    const open = await this.#all<ProgressReply>({ cmd: 'progress', expectCount: -2 });
    open.forEach((p, i) => (this.#viewers[i] = p.open));
    const target = this.viewers + count;
    const share = (i: number) =>
      Math.floor(target / this.size) + (i < target % this.size ? 1 : 0) - this.#viewers[i]!;
    const shares = this.#children.map((_, i) => Math.max(0, share(i)));
    // Numbered across generators, so the url each connection uses does not depend on their count.
    const firsts = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0));
    const replies = await Promise.all(
      this.#children.map((child, i) =>
        this.#ask<ConnectReply>(child, {
          cmd: 'connect',
          urls,
          protocol,
          count: shares[i]!,
          concurrency,
          first: firsts[i]!,
        }),
      ),
    );
    replies.forEach((reply, i) => (this.#viewers[i]! += reply.joined));
    return {
      joined: replies.reduce((a, r) => a + r.joined, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      errors: replies.flatMap((r) => r.errors).slice(0, 5),
      joinTimes: replies.flatMap((r) => r.joinTimes).sort((a, b) => a - b),
    };
  }

  async reset(): Promise<void> {
    await this.#all({ cmd: 'reset' });
  }

  /** Every viewer taps a heart every `everyMs` (phases spread over it); 0 stops. */
  async tap(everyMs: number): Promise<void> {
    await this.#all({ cmd: 'tap', everyMs });
  }

  async progress(expectCount = -2) {
    const replies = await this.#all<ProgressReply>({ cmd: 'progress', expectCount });
    const sum = (key: keyof Omit<ProgressReply, 'id'>) => replies.reduce((a, r) => a + r[key], 0);
    return {
      open: sum('open'),
      comments: sum('comments'),
      others: sum('others'),
      converged: sum('converged'),
      closed: sum('closed'),
    };
  }

  async report() {
    const replies = await this.#all<ReportReply>({ cmd: 'report' });
    const closeCodes: Record<string, number> = {};
    for (const reply of replies) {
      for (const [code, n] of Object.entries(reply.closeCodes))
        closeCodes[code] = (closeCodes[code] ?? 0) + n;
    }
    return {
      viewers: replies.reduce((a, r) => a + r.viewers, 0),
      comments: replies.reduce((a, r) => a + r.comments, 0),
      others: replies.reduce((a, r) => a + r.others, 0),
      minPerViewer: Math.min(...replies.filter((r) => r.viewers > 0).map((r) => r.minPerViewer)),
      closed: replies.reduce((a, r) => a + r.closed, 0),
      closeCodes,
      latency: Histogram.merge(replies.map((r) => r.latency)),
      reactionFrames: replies.reduce((a, r) => a + r.reactionFrames, 0),
      reactionsHeard: replies.reduce((a, r) => a + r.reactionsHeard, 0),
      tapsSent: replies.reduce((a, r) => a + r.tapsSent, 0),
    };
  }

  async disconnect(): Promise<void> {
    await this.#all({ cmd: 'disconnect' });
    this.#viewers.fill(0);
  }

  /** CPU and RSS of every generator process, summed. */
  sample(): ProcSample {
    const samples = this.#children.map((child) => sampleProc(child.pid ?? 0));
    return {
      at: performance.now(),
      cpuSeconds: samples.reduce((a, s) => a + s.cpuSeconds, 0),
      rssBytes: samples.reduce((a, s) => a + s.rssBytes, 0),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map((child) => stopChild(child)));
  }
}
