import type { ApiClient } from './api.js';
import { ReconnectingSocket, type SocketStatus } from './reconnecting-socket.js';
import type { SignalCommand, SignalEvent, SignalRole } from './types.js';

/**
 * The WebRTC signaling relay `/ws/signal/{id}`: announces our role on every (re)connect and
 * hands every relayed message to `onEvent`. The server's `welcome` marks a fresh peer id, so
 * peer-connection owners restart their negotiation when they see it.
 */
export class SignalChannel {
  private readonly socket: ReconnectingSocket;

  constructor(
    api: ApiClient,
    sessionId: string,
    role: SignalRole,
    onEvent: (event: SignalEvent) => void,
    onStatus?: (status: SocketStatus) => void,
  ) {
    this.socket = new ReconnectingSocket({
      url: () => api.socketUrl('signal', sessionId),
      onOpen: () => this.socket.send({ type: 'role', value: role } satisfies SignalCommand),
      onMessage: (message) => onEvent(message as SignalEvent),
      onStatus,
    });
  }

  start(): void {
    this.socket.start();
  }

  send(command: SignalCommand): boolean {
    return this.socket.send(command);
  }

  close(): void {
    this.socket.close();
  }
}
