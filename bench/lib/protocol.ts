/** What the orchestrator and the generator processes say to each other over IPC. */
import type { HistogramData } from './histogram.js';

/**
 * How a viewer speaks and when it counts as "in" the room:
 * - `live`: our /ws/live protocol; in once the first server message (viewer_count) arrives.
 * - `ws`: a bare WebSocket baseline; in on open (the server adds the socket on upgrade).
 * - `eio`: Socket.IO over Engine.IO v4, spoken directly on a ws client so every target is read
 *   by the same client code; in once the namespace connect (`40`) is acknowledged.
 */
export type ViewerProtocol = 'live' | 'ws' | 'eio';

/** The marker a comment's send time travels in: `~t=<epoch ms>~` inside the message text. */
export const TIME_MARKER = '~t=';

export type Command =
  | {
      cmd: 'connect';
      id: number;
      urls: string[];
      protocol: ViewerProtocol;
      count: number;
      concurrency: number;
      /** The index (over the whole fleet) of this generator's first connection: it uses urls[first % length]. */
      first?: number;
    }
  | { cmd: 'reset'; id: number }
  /** Every viewer sends a heart every `everyMs`, their phases spread over it; 0 stops. */
  | { cmd: 'tap'; id: number; everyMs: number }
  | { cmd: 'progress'; id: number; expectCount: number }
  | { cmd: 'report'; id: number }
  | { cmd: 'disconnect'; id: number };

export interface ConnectReply {
  id: number;
  /** Connections that got in, by this command. */
  joined: number;
  failed: number;
  errors: string[];
  /** Epoch ms at which each connection of this command got in. */
  joinTimes: number[];
}

export interface ProgressReply {
  id: number;
  open: number;
  comments: number;
  others: number;
  /** Viewers whose latest viewer_count equals `expectCount`. */
  converged: number;
  closed: number;
}

export interface ReportReply {
  id: number;
  viewers: number;
  comments: number;
  others: number;
  /** Fewest comments any open viewer received since the last reset. */
  minPerViewer: number;
  closed: number;
  closeCodes: Record<string, number>;
  latency: HistogramData;
  /** `reactions` events received, over every viewer, since the last reset. */
  reactionFrames: number;
  /** The taps those events counted (their counts summed), over every viewer. */
  reactionsHeard: number;
  /** Taps sent since the last reset. */
  tapsSent: number;
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes. */
export const epochMs = (): number => performance.timeOrigin + performance.now();
