/**
 * The `Streammeon-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * with WEBHOOK_SECRET, the scheme Stripe uses. Receivers recompute it over the raw body and
 * refuse a `t` too far from their clock (a replayed request). docs/webhooks.md has the recipe in
 * JavaScript and Python; `verifySignature` is the same recipe, for tests and Node receivers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header value for `body` sent at `unixSeconds`. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${hmac(secret, `${unixSeconds}.${body}`)}`;
}

/**
 * True when `header` signs `body` with `secret` and its `t` is within `toleranceSeconds` of
 * `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = hmac(secret, `${t}.${body}`);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}
