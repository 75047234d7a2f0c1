import type { RawData } from 'ws';
import type { HttpError } from '../http/errors.js';

/** A client frame that parsed as a JSON object with a string `type`. */
export interface ClientMessage {
  type: string;
  [key: string]: unknown;
}

export interface ProtocolError {
  code: 'bad_json' | 'invalid_message';
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
    value = JSON.parse(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString());
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

/** The `code` of an `error` event for a service error, by its HTTP status. */
export function errorCodeOf(error: HttpError): string {
  switch (error.statusCode) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'session_ended';
    case 422:
      return 'invalid_message';
    case 429:
      return 'rate_limited';
    default:
      return 'error';
  }
}
