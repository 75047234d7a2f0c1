import { CloseCode, shouldReconnect } from '../../../src/contract/close-codes.js';

/** Where a reconnecting socket stands; `closed` carries why it will not come back. */
export type SocketStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'waiting'; attempt: number; retryInMs: number }
  | { state: 'closed'; code: number; reason: string };

export interface ReconnectingSocketOptions {
  /**
   * Called before every attempt, so a fresh token, address or resume point (`/ws/live`'s
   * `?since=<offset>`) is picked up.
   */
  url: () => string;
  /** The socket is open: send any greeting here. `resumed` is true after a reconnect. */
  onOpen?: (resumed: boolean) => void;
  onMessage: (message: unknown) => void;
  onStatus?: (status: SocketStatus) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * A WebSocket carrying JSON that reconnects with exponential backoff and jitter, until closed
 * by us or by the server with a terminal close code (the contract's catalogue says which: a bad
 * token, an unknown or ended session, …). 1012 (server restarting) and network drops retry.
 */
export class ReconnectingSocket {
  private socket: WebSocket | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private everOpened = false;
  private stopped = false;

  constructor(private readonly options: ReconnectingSocketOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends one JSON message; false when the socket is not open (the caller decides what to do). */
  send(message: unknown): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Closes for good; no more reconnects. */
  close(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(CloseCode.normal, 'client closed');
  }

  private connect(): void {
    if (this.stopped) return;
    this.attempt += 1;
    this.options.onStatus?.({ state: 'connecting', attempt: this.attempt });
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      const resumed = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.options.onStatus?.({ state: 'open' });
      this.options.onOpen?.(resumed);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not ours to interpret
      }
      this.options.onMessage(message);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped || !shouldReconnect(event.code)) {
        this.stopped = true;
        this.options.onStatus?.({ state: 'closed', code: event.code, reason: event.reason });
        return;
      }
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const initial = this.options.initialDelayMs ?? 500;
    const max = this.options.maxDelayMs ?? 15_000;
    const base = Math.min(max, initial * 2 ** Math.max(0, this.attempt - 1));
    // Jitter spreads a crowd of viewers reconnecting after a server restart.
    const retryInMs = Math.round(base / 2 + Math.random() * (base / 2));
    this.options.onStatus?.({ state: 'waiting', attempt: this.attempt, retryInMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, retryInMs);
  }
}
