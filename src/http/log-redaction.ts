/**
 * What the logs may never carry: credentials. Clients send bearer tokens in query strings
 * (`/ws/live/{id}?token=…`, `/me?authorization=Bearer%20…`: browsers cannot set headers on a
 * WebSocket) and in headers, and a token read from a log file is as good as a password until it
 * expires. Everything here is pino's own machinery (serializers, `redact`, a `logMethod` hook)
 * configured through Fastify's `logger` option.
 */
import { createRequire } from 'node:module';
import type { FastifyRequest } from 'fastify';
import pino, { type LoggerOptions } from 'pino';

/** What a credential is replaced with; short, and obviously not a value. */
export const REDACTED = '[REDACTED]';

/**
 * Query parameter (and object key) names whose value is a credential: token, access_token,
 * authorization, api_key, client_secret, password, signature, jwt, cookie, … Over-matching a
 * harmless parameter only hides its value from the logs.
 */
const CREDENTIAL_NAME = /token|auth|key|secret|passw|pwd|signature|^sig$|jwt|cookie|credential/i;
/** Object keys holding a credential (narrower: `keyword` or `author` are not one). */
const CREDENTIAL_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie)$|token$|secret$|passw(or)?d$|api_?key$|jwt$/i;

/** `name=value` after `?`, `&` or `;` in a URL or in any text that quotes one. */
const QUERY_PARAMETER = /([?&;])([^=&;#?\s"'<>]+)=([^&;#\s"'<>]*)/g;
/** `Bearer eyJ…` / `Basic dXNlcjpwYXNz`, also percent- or plus-encoded (`Bearer%20…`, `Bearer+…`). */
const AUTH_SCHEME = /\b(Bearer|Basic)(\s+|%20|\+)[A-Za-z0-9._~+/=%-]+/gi;
/** A JWT anywhere (header and payload always start with `eyJ`, base64url of `{"`). */
const JWT = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
/** The password in `scheme://user:password@host` (DATABASE_URL, REDIS_URL in an error message). */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** `text` with every credential it shows replaced by `[REDACTED]`; other text is left as is. */
export function redactText(text: string): string {
  return text
    .replace(QUERY_PARAMETER, (whole, separator: string, name: string) =>
      CREDENTIAL_NAME.test(decodedName(name)) ? `${separator}${name}=${REDACTED}` : whole,
    )
    .replace(AUTH_SCHEME, (_whole, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(URL_PASSWORD, `$1:${REDACTED}@`);
}

/** Error properties that hold what the client sent, verbatim: never logged. */
const RAW_INPUT_KEYS = new Set(['rawPacket']);

/** Scrubs a serialized value: strings redacted, credential-named keys censored, bytes summarized. */
function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (depth >= 6) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (RAW_INPUT_KEYS.has(key)) continue;
    out[key] = CREDENTIAL_KEY.test(key) && item != null ? REDACTED : scrub(item, depth + 1);
  }
  return out;
}

/**
 * Errors as pino serializes them (type, message, stack, cause, own properties) minus anything
 * that could be a credential: a parse error's `rawPacket` (the request's raw bytes, headers and
 * all), a token quoted in a message, an `Authorization` header an HTTP client attached.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return scrub(error, 0);
  return scrub(pino.stdSerializers.err(error), 0);
}

/**
 * Fastify's request line (method, url, host, client address) with the url's credentials
 * redacted. Headers stay out, as in Fastify's own serializer.
 */
export function serializeRequest(request: Partial<FastifyRequest>): Record<string, unknown> {
  return {
    method: request.method,
    url: redactText(request.url ?? ''),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Headers that carry a credential, as pino redact path segments. */
const CREDENTIAL_HEADERS = ['.authorization', '.cookie', '["proxy-authorization"]', '["set-cookie"]'];

/**
 * Pretty lines only in development and only for a person: stdout is a terminal, and pino-pretty
 * (a development dependency) is installed. JSON otherwise.
 */
export function prettyLogs(env: string, stdoutIsTty: boolean | undefined): boolean {
  return env === 'development' && stdoutIsTty === true && installed('pino-pretty');
}

/** Whether a package resolves from here (an install with --omit=dev lacks the development ones). */
function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Paths pino blanks whatever logged them: credential headers of any object logged with
 * `headers`, at the top or one level down (`req.headers`, `err.headers`, `config.headers`), and
 * credential fields logged by name.
 */
export const REDACT_PATHS: string[] = [
  ...['headers', '*.headers'].flatMap((at) => CREDENTIAL_HEADERS.map((header) => `${at}${header}`)),
  ...['authorization', 'cookie', 'token', 'password', 'secret'].flatMap((key) => [key, `*.${key}`]),
];

/**
 * Fastify's `logger` option: the level, and nothing a credential can hide in. With `pretty`
 * (development on a terminal: see `prettyLogs`), lines are coloured and readable (pino-pretty)
 * instead of JSON; redaction applies either way, before a line is formatted.
 */
export function loggerOptions(level: string, pretty = false): LoggerOptions {
  return {
    level,
    ...(pretty && {
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    }),
    serializers: { req: serializeRequest, err: serializeError },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: {
      // Messages are text too: `log.warn(\`failed: ${url}\`)` must not carry a token either.
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === 'string' ? redactText(arg) : arg));
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
}
