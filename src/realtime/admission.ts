import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { requestToken, type Authenticator, type Caller } from '../http/authenticate.js';
import { HttpError } from '../http/errors.js';
import type { SessionFacts } from '../live/sessions.js';
import { CloseCode } from './peer.js';

/** A client frame as ws hands it over. */
export interface Frame {
  data: RawData;
  isBinary: boolean;
}

/**
 * Keeps the frames a client sends while its admission is still being checked (ws would drop
 * them otherwise), so they are handled in order once it is admitted.
 */
export class Inbox {
  readonly frames: Frame[] = [];
  #wake: (() => void) | undefined;
  readonly #collect = (data: RawData, isBinary: boolean) => {
    this.frames.push({ data, isBinary });
    this.#wake?.();
  };

  constructor(private readonly socket: WebSocket) {
    socket.on('message', this.#collect);
  }

  /** Resolves when a frame has arrived, the socket closed, or `ms` passed. */
  async waitForFrame(ms: number): Promise<void> {
    if (this.frames.length > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const socket = this.socket;
      function done() {
        clearTimeout(timer);
        socket.off('close', done);
        resolve();
      }
      this.#wake = done;
      socket.once('close', done);
    });
    this.#wake = undefined;
  }

  /** Stops collecting and hands every kept frame, in order, to `handler`, which takes over. */
  drainTo(handler: (data: RawData, isBinary: boolean) => void): void {
    this.socket.off('message', this.#collect);
    this.socket.on('message', handler);
    for (const { data, isBinary } of this.frames.splice(0)) handler(data, isBinary);
  }
}

/** Who connected, to which live session. */
export interface Admission {
  caller: Caller;
  session: SessionFacts;
}

/** Finds a session's facts by id (a SessionDirectory's lookup). */
export type SessionLookup = (id: string) => Promise<SessionFacts | undefined>;

/**
 * The admission check both realtime endpoints share: a valid token (else close 4401), a known
 * session (else 4404) that is still live (else 4410). Resolves undefined after closing.
 */
export async function admit(
  socket: WebSocket,
  request: FastifyRequest<{ Params: { session_id: string } }>,
  auth: Authenticator,
  lookup: SessionLookup,
): Promise<Admission | undefined> {
  let caller: Caller;
  try {
    caller = await auth.caller(requestToken(request));
  } catch (error) {
    socket.close(CloseCode.unauthorized, error instanceof HttpError ? error.detail : 'Not authenticated');
    return undefined;
  }
  const session = await lookup(request.params.session_id);
  if (!session) {
    socket.close(CloseCode.notFound, 'Session not found');
    return undefined;
  }
  if (!session.is_live) {
    socket.close(CloseCode.ended, 'Session has ended');
    return undefined;
  }
  if (socket.readyState !== 1) return undefined;
  releaseUpgradeRequest(socket, request);
  return { caller, session };
}

/** Errors of an admitted socket (a reset, a malformed frame): ws closes the socket itself. */
function ignoreSocketError(): void {}

/**
 * Lets the upgrade request be collected once the socket is admitted. @fastify/websocket routes the
 * upgrade through Fastify with a ServerResponse assigned to the TCP socket, and closes over the
 * request in its 'error' listener; both would keep the request, its headers, the URL with the
 * token and Fastify's request state (~7 KiB measured) alive as long as the socket. Node's own
 * `detachSocket` undoes the assignment; the listener is swapped for one that holds nothing.
 */
function releaseUpgradeRequest(socket: WebSocket, request: FastifyRequest): void {
  const tcp = request.raw.socket as Socket & { _httpMessage?: ServerResponse | null };
  tcp._httpMessage?.detachSocket(tcp);
  socket.removeAllListeners('error');
  socket.on('error', ignoreSocketError);
}
