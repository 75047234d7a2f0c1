import type { RawData } from 'ws';
import { DATABASE_DOWN_DETAIL, DOMAIN_ERRORS, DomainError, type ErrorEventCode } from '../contract/errors.js';
import type { ErrorMessage } from '../contract/live-protocol.js';
import { isDatabaseDown } from '../db/errors.js';

/** A client frame that parsed as a JSON object with a string `type`. */
export interface ClientMessage {
  type: string;
  [key: string]: unknown;
}

export interface ProtocolError {
  code: Extract<ErrorEventCode, 'bad_json' | 'invalid_message'>;
  detail: string;
}

/** Parses a client frame; never throws. */
export function parseClientMessage(
  data: RawData,
  isBinary: boolean,
): { message: ClientMessage } | { error: ProtocolError } {
  if (isBinary) return { error: { code: 'invalid_message', detail: 'send JSON text frames, not binary' } };
  let value: unknown;
  try {
    value = JSON.parse(frameText(data));
  } catch {
    return { error: { code: 'bad_json', detail: 'frame is not valid JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: { code: 'invalid_message', detail: 'send a JSON object with a "type"' } };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string')
    return { error: { code: 'invalid_message', detail: 'message needs a string "type"' } };
  return { message: value as ClientMessage };
}

/**
 * The `error` event a client hears for a domain error (the WebSocket side of http/errors.ts's
 * status table), or undefined for an error that is not the client's to hear.
 */
export function errorEventOf(error: unknown): ErrorMessage | undefined {
  if (isDatabaseDown(error)) return { type: 'error', code: 'unavailable', detail: DATABASE_DOWN_DETAIL };
  if (!(error instanceof DomainError)) return undefined;
  const { retryAfterMs, until } = error.extra;
  return {
    type: 'error',
    code: DOMAIN_ERRORS[error.code].event,
    detail: error.detail,
    // Over the comment budget: seconds until the client may post again, as REST's Retry-After.
    ...(retryAfterMs !== undefined ? { retry_after: Math.max(1, Math.ceil(retryAfterMs / 1000)) } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

/** A frame's payload as text (ws hands a Buffer, fragments, or an ArrayBuffer by binaryType). */
function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
