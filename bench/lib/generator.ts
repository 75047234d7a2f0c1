/**
 * A load-generator process (child_process.fork): owns a slice of the viewer connections, reads
 * every message they receive, and keeps only counters and a latency histogram, so its own cost
 * per message stays a few microseconds. ws does the handshake; after it, frames are read straight
 * off the TCP socket (frames.ts). Comments are recognised by their time marker without parsing
 * the JSON; only the rare viewer_count events are parsed.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { FrameReader } from './frames.js';
import { Histogram } from './histogram.js';
import {
  TIME_MARKER,
  epochMs,
  type Command,
  type ConnectReply,
  type ProgressReply,
  type ReportReply,
  type ViewerProtocol,
} from './protocol.js';

const MARKER = Buffer.from(TIME_MARKER);
const TILDE = '~'.charCodeAt(0);
const VIEWER_COUNT = Buffer.from('"viewer_count"');
const REACTIONS = Buffer.from('{"type":"reactions"');
const TAP = JSON.stringify({ type: 'reaction', kind: 'heart' });
/** How often the tapping loop wakes: each wake sends the taps of the viewers whose slot it is. */
const TAP_TICK_MS = 50;

interface Viewer {
  socket: WebSocket;
  comments: number;
  lastCount: number;
  isIn: boolean;
  /** The close code the server sent, if it sent one. */
  closeCode?: number;
}

class Generator {
  readonly #viewers: Viewer[] = [];
  readonly #latency = new Histogram();
  readonly #closeCodes = new Map<number, number>();
  #comments = 0;
  #others = 0;
  #closed = 0;
  #reactionFrames = 0;
  #reactionsHeard = 0;
  #tapsSent = 0;
  #tapping: NodeJS.Timeout | undefined;

  connect(
    urls: string[],
    protocol: ViewerProtocol,
    count: number,
    concurrency: number,
    /** This command's first connection uses urls[first % length], the next one the url after it. */
    first = 0,
  ): Promise<ConnectReply> {
    return new Promise((resolve) => {
      const reply: ConnectReply = { id: 0, joined: 0, failed: 0, errors: [], joinTimes: [] };
      let started = 0;
      let settled = 0;
      const next = () => {
        if (settled === count) return resolve(reply);
        if (started === count) return;
        const url = urls[(first + started) % urls.length]!;
        started += 1;
        this.#open(url, protocol, (error) => {
          settled += 1;
          if (error) {
            reply.failed += 1;
            if (reply.errors.length < 5) reply.errors.push(error);
          } else {
            reply.joined += 1;
            reply.joinTimes.push(epochMs());
          }
          next();
        });
      };
      if (count === 0) return resolve(reply);
      for (let i = 0; i < Math.min(concurrency, count); i += 1) next();
    });
  }

  #open(url: string, protocol: ViewerProtocol, done: (error?: string) => void) {
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: 20_000,
    });
    const viewer: Viewer = { socket, comments: 0, lastCount: -1, isIn: false };
    let reported = false;
    const getIn = () => {
      if (viewer.isIn) return;
      viewer.isIn = true;
      this.#viewers.push(viewer);
      reported = true;
      done();
    };
    socket.on('open', () => {
      this.#readFrames(viewer, protocol, getIn);
      if (protocol === 'ws') getIn();
    });
    socket.on('error', (error) => {
      if (!reported) {
        reported = true;
        done(error.message);
      }
    });
    socket.on('close', (wsCode) => {
      const code = viewer.closeCode ?? wsCode;
      if (!reported) {
        reported = true;
        done(`closed ${code} before joining`);
      } else if (viewer.isIn) {
        this.#closed += 1;
        this.#closeCodes.set(code, (this.#closeCodes.get(code) ?? 0) + 1);
      }
    });
  }

  /**
   * Takes the TCP socket's data away from ws's Receiver (ws re-emits nothing it has not been
   * given: whatever arrived with the handshake is still queued on the socket and comes here).
   */
  #readFrames(viewer: Viewer, protocol: ViewerProtocol, getIn: () => void) {
    const { socket } = viewer;
    const reader = new FrameReader({
      text: (payload) => {
        if (protocol === 'eio' && this.#engineIo(socket, payload, getIn)) return;
        this.#onMessage(viewer, payload);
        if (protocol === 'live') getIn();
      },
      ping: (payload) => socket.pong(payload),
      close: (code) => {
        viewer.closeCode = code;
        socket.terminate();
      },
      unsupported: (reason) => {
        viewer.closeCode = 4999;
        socket.emit('error', new Error(reason));
        socket.terminate();
      },
    });
    const tcp = (socket as unknown as { _socket: Socket })._socket;
    tcp.removeAllListeners('data');
    tcp.on('data', (chunk: Buffer) => reader.push(chunk));
  }

  /** Engine.IO control packets; returns true when the packet was not an event. */
  #engineIo(socket: WebSocket, data: Buffer, getIn: () => void): boolean {
    const type = data[0];
    if (type === 0x30 /* 0 open */) socket.send('40');
    else if (type === 0x32 /* 2 ping */) socket.send('3');
    else if (type === 0x34 && data[1] === 0x30 /* 40 namespace connected */) getIn();
    else return false;
    return true;
  }

  #onMessage(viewer: Viewer, data: Buffer) {
    const at = data.indexOf(MARKER);
    if (at !== -1) {
      const end = data.indexOf(TILDE, at + MARKER.length);
      const sentAt = Number(data.toString('latin1', at + MARKER.length, end));
      this.#latency.recordMs(epochMs() - sentAt);
      viewer.comments += 1;
      this.#comments += 1;
      return;
    }
    this.#others += 1;
    if (data.subarray(0, REACTIONS.length).equals(REACTIONS)) {
      this.#reactionFrames += 1;
      const counts = (JSON.parse(data.toString()) as { counts: Record<string, number> }).counts;
      for (const n of Object.values(counts)) this.#reactionsHeard += n;
      return;
    }
    if (data.indexOf(VIEWER_COUNT) !== -1) {
      try {
        const event = JSON.parse(data.toString()) as { type?: string; count?: number };
        if (event.type === 'viewer_count' && typeof event.count === 'number') viewer.lastCount = event.count;
      } catch {
        // not JSON: counted as "other" and otherwise ignored
      }
    }
  }

  /** Each viewer taps once per `everyMs`, viewer i in slot i of the period's ticks; 0 stops. */
  tap(everyMs: number) {
    clearInterval(this.#tapping);
    this.#tapping = undefined;
    if (everyMs <= 0) return;
    const slots = Math.max(1, Math.round(everyMs / TAP_TICK_MS));
    let tick = 0;
    this.#tapping = setInterval(() => {
      const slot = tick++ % slots;
      for (let i = slot; i < this.#viewers.length; i += slots) {
        const { socket } = this.#viewers[i]!;
        if (socket.readyState !== WebSocket.OPEN) continue;
        socket.send(TAP);
        this.#tapsSent += 1;
      }
    }, TAP_TICK_MS);
  }

  reset() {
    this.#latency.reset();
    this.#comments = 0;
    this.#others = 0;
    this.#reactionFrames = 0;
    this.#reactionsHeard = 0;
    this.#tapsSent = 0;
    for (const viewer of this.#viewers) viewer.comments = 0;
  }

  progress(expectCount: number): Omit<ProgressReply, 'id'> {
    let open = 0;
    let converged = 0;
    for (const viewer of this.#viewers) {
      if (viewer.socket.readyState === WebSocket.OPEN) open += 1;
      if (viewer.lastCount === expectCount) converged += 1;
    }
    return { open, comments: this.#comments, others: this.#others, converged, closed: this.#closed };
  }

  report(): Omit<ReportReply, 'id'> {
    let minPerViewer = Infinity;
    for (const viewer of this.#viewers) {
      if (viewer.socket.readyState === WebSocket.OPEN) minPerViewer = Math.min(minPerViewer, viewer.comments);
    }
    return {
      viewers: this.#viewers.length,
      comments: this.#comments,
      others: this.#others,
      minPerViewer: Number.isFinite(minPerViewer) ? minPerViewer : 0,
      closed: this.#closed,
      closeCodes: Object.fromEntries(this.#closeCodes),
      latency: this.#latency.toData(),
      reactionFrames: this.#reactionFrames,
      reactionsHeard: this.#reactionsHeard,
      tapsSent: this.#tapsSent,
    };
  }

  async disconnect() {
    this.tap(0);
    const closing = this.#viewers.map(
      (viewer) =>
        new Promise<void>((resolve) => {
          if (viewer.socket.readyState === WebSocket.CLOSED) return resolve();
          viewer.socket.once('close', () => resolve());
          viewer.socket.terminate();
        }),
    );
    await Promise.all(closing);
    this.#viewers.length = 0;
  }
}

/** Answers the orchestrator's commands until it goes away. */
function main(): void {
  const generator = new Generator();
  const send = (message: object) => process.send?.(message);
  process.on('message', (command: Command) => {
    switch (command.cmd) {
      case 'connect':
        void generator
          .connect(command.urls, command.protocol, command.count, command.concurrency, command.first ?? 0)
          .then((reply) => send({ ...reply, id: command.id }));
        break;
      case 'tap':
        generator.tap(command.everyMs);
        send({ id: command.id });
        break;
      case 'reset':
        generator.reset();
        send({ id: command.id });
        break;
      case 'progress':
        send({ ...generator.progress(command.expectCount), id: command.id });
        break;
      case 'report':
        send({ ...generator.report(), id: command.id });
        break;
      case 'disconnect':
        void generator.disconnect().then(() => send({ id: command.id }));
        break;
    }
  });
  // The orchestrator owns this process: when it goes, so do we (and our sockets with us).
  process.on('disconnect', () => process.exit(0));
}

main();
