import { WebSocket } from 'ws';
import type { SocketTally } from '../metrics/metrics.js';
import type { LiveServerMessage } from '../contract/live-protocol.js';
import type { SignalServerMessage } from '../contract/signal-protocol.js';

/** Anything the server sends on either endpoint (contract/*-protocol.ts). */
export type ServerMessage = LiveServerMessage | SignalServerMessage;

const TEXT = { binary: false } as const;

/** What sendFramed reads of ws's WebSocket beyond its typed API. */
interface WsInternals {
  /** The TCP socket ws writes to. */
  _socket: { write(data: Buffer): boolean };
  /** ws's frame writer; `_state` is not idle while it has frames queued (compression, blobs). */
  _sender: { _state: number };
}
const SENDER_IDLE = 0;

export interface PeerLimits {
  /** Unsent bytes above which the peer is dropped as too slow. */
  maxBufferedBytes: number;
  /** Where this endpoint's messages sent and dropped are counted (metrics), if anywhere. */
  tally?: SocketTally;
}

/**
 * One connected socket: sends with a bound on unsent bytes and answers the heartbeat. (What it
 * receives is budgeted by its Inbox.) The hot path is `send`, called once per recipient with
 * a Buffer serialized once per message.
 */
export class Peer {
  /** False once a heartbeat ping went unanswered; the next heartbeat drops the peer. */
  alive = true;
  /**
   * While the peer's opening messages are being prepared, broadcasts (and a close) wait here so
   * they cannot overtake them; null once released.
   */
  #backlog: (Buffer | string | number)[] | null = null;
  #superseded: ((data: Buffer | string) => boolean) | undefined;

  constructor(
    readonly socket: WebSocket,
    private readonly limits: PeerLimits,
    private readonly onDropped: (peer: Peer, bufferedBytes: number) => void,
  ) {
    socket.on('pong', () => {
      this.alive = true;
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a text frame. A peer that stopped reading has its unsent bytes grow; once they pass the
   * bound the peer is terminated instead of holding more of the server's memory.
   */
  send(data: Buffer | string): void {
    if (this.#sendOne(data) && this.limits.tally) this.limits.tally.sent += 1;
  }

  /** Writes or holds one message; true when it was written now (it counts as sent). */
  #sendOne(data: Buffer | string): boolean {
    if (this.#backlog) {
      this.#backlog.push(data);
      return false;
    }
    return this.#write(data);
  }

  /**
   * Sends a room's messages of one event-loop turn: `framed` is `payloads` as WebSocket frames
   * (textFrames), built once for the whole room and written to this peer's TCP socket as-is, one
   * write however many messages. Falls back to framing each payload through ws whenever that
   * shortcut could reorder or overrun: while the peer is held, while ws has frames of its own
   * queued, or when the write would pass the unsent-bytes bound.
   *
   * Returns how many messages were written now, for the caller to count once for all its peers
   * (messages held behind the peer's opening count when released).
   */
  sendFramed(framed: Buffer, payloads: readonly Buffer[]): number {
    const socket = this.socket as WebSocket & WsInternals;
    if (
      this.#backlog ||
      socket.readyState !== WebSocket.OPEN ||
      socket._sender._state !== SENDER_IDLE ||
      socket.bufferedAmount + framed.length > this.limits.maxBufferedBytes
    ) {
      let written = 0;
      for (const payload of payloads) if (this.#sendOne(payload)) written += 1;
      return written;
    }
    socket._socket.write(framed);
    return payloads.length;
  }

  /**
   * Holds later `send`s and `close`s until `release`, so what `sendFirst` sends comes first.
   * Held frames for which `superseded` is true at `release` are dropped: what `sendFirst` sent
   * replaces them (an opening count is newer than a count broadcast while it was prepared).
   */
  hold(superseded?: (data: Buffer | string) => boolean): void {
    this.#backlog ??= [];
    this.#superseded = superseded;
  }

  /** Sends ahead of anything held: a message, or a frame serialized before (a replayed event). */
  sendFirst(message: ServerMessage | string): void {
    const frame = typeof message === 'string' ? message : JSON.stringify(message);
    if (this.#write(frame) && this.limits.tally) this.limits.tally.sent += 1;
  }

  /** Sends (and closes) what was held, in order, and stops holding. */
  release(): void {
    const backlog = this.#backlog;
    const superseded = this.#superseded;
    this.#backlog = null;
    this.#superseded = undefined;
    let written = 0;
    for (const item of backlog ?? []) {
      if (typeof item === 'number') this.close(item);
      else if (superseded?.(item)) {
        if (this.limits.tally) this.limits.tally.dropped.superseded += 1;
      } else if (this.#write(item)) written += 1;
    }
    if (this.limits.tally) this.limits.tally.sent += written;
  }

  /** Writes one message now; false (and counted as dropped) when it could not be. */
  #write(data: Buffer | string): boolean {
    const socket = this.socket;
    if (socket.readyState !== WebSocket.OPEN) {
      if (this.limits.tally) this.limits.tally.dropped.not_open += 1;
      return false;
    }
    const buffered = socket.bufferedAmount;
    if (buffered > this.limits.maxBufferedBytes) {
      socket.terminate();
      if (this.limits.tally) this.limits.tally.dropped.slow_reader += 1;
      this.onDropped(this, buffered);
      return false;
    }
    socket.send(data, TEXT);
    return true;
  }

  sendJson(message: ServerMessage): void {
    this.send(JSON.stringify(message));
  }

  /**
   * Sends what another client asked to relay (signaling). Relayed bytes may fill at most half of
   * the bound: past that the frame is dropped and false returned, so another client's traffic can
   * never get this peer dropped as "stopped reading". Its own slowness still does, through send.
   */
  relay(data: Buffer | string): boolean {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (this.#backlog === null && this.socket.bufferedAmount + size > this.limits.maxBufferedBytes / 2) {
      if (this.limits.tally) this.limits.tally.dropped.relay_backpressure += 1;
      return false;
    }
    this.send(data);
    return true;
  }

  /**
   * Closes now, ahead of anything held, which is dropped: a socket refused during its opening
   * (the session ended meanwhile) hears nothing but its close code, not a count broadcast to
   * the room while its facts were read.
   */
  refuse(code: number, reason: string): void {
    if (this.#backlog && this.limits.tally) this.limits.tally.dropped.not_open += this.#backlog.length;
    this.#backlog = null;
    this.#superseded = undefined;
    this.close(code, reason);
  }

  close(code: number, reason = ''): void {
    if (this.#backlog) {
      this.#backlog.push(code);
      return;
    }
    const state = this.socket.readyState;
    if (state === WebSocket.CONNECTING || state === WebSocket.OPEN) this.socket.close(code, reason);
  }
}

/**
 * Pings every peer each interval and terminates those that did not answer the previous ping, so a
 * vanished phone stops counting as a viewer within two intervals. One timer for all peers.
 */
export class Heartbeat {
  readonly #peers = new Set<Peer>();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#beat(), intervalMs);
    this.#timer.unref();
  }

  add(peer: Peer): void {
    this.#peers.add(peer);
  }

  delete(peer: Peer): void {
    this.#peers.delete(peer);
  }

  /** Every peer this instance holds, for shutdown. */
  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  get size(): number {
    return this.#peers.size;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #beat(): void {
    for (const peer of this.#peers) {
      if (!peer.alive) {
        peer.socket.terminate();
        continue;
      }
      peer.alive = false;
      try {
        peer.socket.ping();
      } catch {
        peer.socket.terminate();
      }
    }
  }
}
