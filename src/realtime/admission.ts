import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { tokenOf, type Authenticator, type Caller } from '../auth/authenticator.js';
import { CloseCode } from '../contract/close-codes.js';
import { DomainError } from '../contract/errors.js';
import type { SessionFactsWithChat } from '../live/sessions.js';
import { REFUSAL_REASON, type ReceiveBudget } from './receive-budget.js';

/** A client frame as ws hands it over. */
export interface Frame {
  data: RawData;
  isBinary: boolean;
}

/**
 * Every frame a client sends passes here first, for the socket's whole life: frames over the
 * size limit close it with 1009, and a client over its allowance of messages or bytes is closed
 * with 1008, from the first byte, while its admission is still being checked as after it. Frames
 * that arrive during admission are kept (ws would drop them otherwise) and handed over in order.
 */
export class Inbox {
  readonly frames: Frame[] = [];
  #handler: ((data: RawData, isBinary: boolean) => void) | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly budget: ReceiveBudget,
  ) {
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (socket.readyState !== WebSocket.OPEN) return;
      const refusal = budget.take(frameSize(data));
      if (refusal) {
        const reason =
          refusal === 'too_large'
            ? `frames are limited to ${budget.limits.maxFrameBytes} bytes`
            : REFUSAL_REASON[refusal];
        socket.close(refusal === 'too_large' ? CloseCode.tooLarge : CloseCode.policy, reason);
        return;
      }
      if (this.#handler) return this.#handler(data, isBinary);
      this.frames.push({ data, isBinary });
      this.#wake?.();
    });
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

  /** Hands every kept frame, in order, to `handler`, which takes every later frame too. */
  drainTo(handler: (data: RawData, isBinary: boolean) => void): void {
    for (const { data, isBinary } of this.frames.splice(0)) handler(data, isBinary);
    this.#handler = handler;
  }
}

/** Bytes of a frame as ws hands it over (a Buffer, or fragments). */
function frameSize(data: RawData): number {
  return Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
}

/** Who connected, to which live session. */
export interface Admission {
  caller: Caller;
  session: SessionFactsWithChat;
}

/** Finds a session's facts by id (a SessionDirectory's lookup). */
export type SessionLookup = (id: string) => Promise<SessionFactsWithChat | undefined>;

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
    caller = await auth.caller(
      tokenOf({
        authorization: request.headers.authorization,
        query: request.query as Record<string, unknown>,
      }),
    );
  } catch (error) {
    // Anything but a refused token (the database down, say) is the error handler's: 1013 or 1011.
    if (!(error instanceof DomainError)) throw error;
    socket.close(CloseCode.unauthorized, error.detail);
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
  if (socket.readyState !== WebSocket.OPEN) return undefined;
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
