/**
 * The one catalogue of WebSocket close codes of both realtime endpoints (docs/protocol.md lists the
 * same; a test checks). Like Centrifuge's disconnect codes, each says whether it is terminal: a
 * client reconnects after a non-terminal close (with backoff), and gives up after a terminal one.
 */

export const CloseCode = {
  /** The session ended (after `session_ended`). */
  normal: 1000,
  /** Too many messages or bytes from this client. */
  policy: 1008,
  /** A frame over the endpoint's size limit. */
  tooLarge: 1009,
  /** The server failed while admitting the connection. */
  internal: 1011,
  /** The server is restarting (shutdown): reconnect, to another instance. */
  restarting: 1012,
  /** The database is unreachable: try again later. */
  tryAgainLater: 1013,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
  replaced: 4409,
  ended: 4410,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export interface CloseCodeInfo {
  /** What it means, in the words of the docs. */
  meaning: string;
  /** True when reconnecting cannot help: the client stops (or needs the user, e.g. to sign in). */
  terminal: boolean;
}

export const CLOSE_CODES: Record<CloseCodeValue, CloseCodeInfo> = {
  1000: { meaning: 'the session ended (after `session_ended`)', terminal: true },
  1008: { meaning: 'policy: too many messages, or too many bytes, from this client', terminal: false },
  1009: { meaning: 'frame too large (16 KiB on `/ws/live`, 64 KiB on `/ws/signal`)', terminal: true },
  1011: { meaning: 'internal error while admitting the connection', terminal: false },
  1012: { meaning: 'the server is restarting', terminal: false },
  1013: { meaning: 'the database is unreachable: try again later', terminal: false },
  4401: { meaning: 'missing, invalid or expired token, or its user no longer exists', terminal: true },
  4403: { meaning: "`/ws/signal`: the vendor role needs this session's own vendor", terminal: true },
  4404: { meaning: 'unknown session', terminal: true },
  4409: { meaning: '`/ws/signal`: a newer connection of the same vendor replaced this one', terminal: true },
  4410: { meaning: 'the session had already ended', terminal: true },
};

/**
 * Whether a client should reconnect after the server closed its socket with `code`. Codes the
 * server never sends (a dropped network: 1006, a proxy's 1001) are not terminal.
 */
export function shouldReconnect(code: number): boolean {
  const info = (CLOSE_CODES as Record<number, CloseCodeInfo | undefined>)[code];
  return !info?.terminal;
}
