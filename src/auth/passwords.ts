import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/** The outcome of checking a password against a stored hash. */
export interface PasswordCheck {
  ok: boolean;
  /** The hash is in a legacy format (bcrypt from the original service) and should be replaced. */
  needsRehash: boolean;
}

const BCRYPT = /^\$2[aby]\$\d\d\$/;

/**
 * Hashes new passwords with argon2id (the library's defaults: 19 MiB, 2 passes, the OWASP
 * recommendation) and verifies both argon2id and the original service's bcrypt hashes.
 */
export class Passwords {
  /** A real argon2id hash of a random string, checked when the user does not exist. */
  #dummy: Promise<string>;

  constructor() {
    this.#dummy = argon2Hash(crypto.randomUUID());
  }

  hash(password: string): Promise<string> {
    return argon2Hash(password);
  }

  async verify(stored: string | null | undefined, password: string): Promise<PasswordCheck> {
    if (!stored) return { ok: false, needsRehash: false };
    if (BCRYPT.test(stored)) {
      return { ok: await bcrypt.compare(password, stored), needsRehash: true };
    }
    if (stored.startsWith('$argon2')) {
      try {
        return { ok: await argon2Verify(stored, password), needsRehash: !stored.startsWith('$argon2id$') };
      } catch {
        return { ok: false, needsRehash: false };
      }
    }
    return { ok: false, needsRehash: false };
  }

  /**
   * Spends the same work as a real check, for logins naming an unknown email, so response time
   * does not tell which emails are registered.
   */
  async verifyNobody(password: string): Promise<void> {
    await argon2Verify(await this.#dummy, password).catch(() => false);
  }
}
