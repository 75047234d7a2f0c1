import { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';
import type { Clock } from '../clock.js';
import type { Role } from '../contract/rest.js';

export type { Role };

/** What a valid access token says about its bearer. */
export interface Principal {
  /** The user id as the token carries it: always a string (`sub`). */
  sub: string;
  role: Role;
  name: string;
}

/** Why a token was refused; the message goes to the client as `detail`. */
export class TokenError extends Error {
  override name = 'TokenError';
}

/**
 * Issues and checks HS256 access tokens with the original service's claims:
 * `sub` (user id as a string), `role`, `name`, `iat`, `exp`.
 */
export class Tokens {
  /**
   * Imported once: given raw bytes, jose imports a WebCrypto key on every call, which doubled the
   * CPU of a verification (10,000 joins: 1.1 s → 0.6 s).
   */
  readonly #key: Promise<webcrypto.CryptoKey>;
  /**
   * Tokens verified lately, with what they say and when they expire (in `exp` seconds), oldest
   * first. A token cannot change or be revoked, so until its `exp` the answer is the same: a
   * client posting comments would otherwise pay an HMAC and a JSON parse per request (12 % of the
   * server's CPU under `POST …/comments`). At most VERIFIED_MAX are kept.
   */
  readonly #verified = new Map<string, { principal: Principal; exp: number }>();

  constructor(
    secret: string,
    private readonly ttlMinutes: number,
    private readonly clock: Clock,
  ) {
    this.#key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
  }

  async issue(user: { id: string | number; role: string; name: string }): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ role: user.role, name: user.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(user.id))
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlMinutes * 60)
      .sign(await this.#key);
  }

  /** Returns the principal of a valid token; throws TokenError saying what is wrong otherwise. */
  async verify(token: string): Promise<Principal> {
    const known = this.#verified.get(token);
    if (known) {
      // jose's own test: expired once the current second reaches `exp`.
      if (Math.floor(this.clock.now() / 1000) < known.exp) return known.principal;
      this.#verified.delete(token);
      throw new TokenError('Token expired');
    }
    const key = await this.#key;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        // Only HS256: `none` and every other algorithm are refused before the signature is read.
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TokenError('Token expired');
      throw new TokenError('Could not validate credentials');
    }
    const role = payload.role;
    if (typeof payload.sub !== 'string' || (role !== 'vendor' && role !== 'user')) {
      throw new TokenError('Could not validate credentials');
    }
    const principal: Principal = {
      sub: payload.sub,
      role,
      name: typeof payload.name === 'string' ? payload.name : '',
    };
    this.#remember(token, principal, payload.exp!);
    return principal;
  }

  #remember(token: string, principal: Principal, exp: number): void {
    if (this.#verified.size >= VERIFIED_MAX) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(token, { principal, exp });
  }
}

/** About 3 MB of tokens at most: every viewer of a 10,000-viewer stream. */
const VERIFIED_MAX = 10_000;

/**
 * Extracts the raw token from an `Authorization`-style value (`Bearer <jwt>`), or returns a bare
 * token unchanged (the `?token=` form of the WebSocket endpoints).
 */
export function bearerToken(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const match = /^bearer\s+(\S+)$/i.exec(trimmed);
  if (match) return match[1];
  return /^\S+$/.test(trimmed) ? trimmed : undefined;
}
