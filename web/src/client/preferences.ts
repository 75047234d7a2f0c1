import type { User } from './types.js';

const API_BASE_KEY = 'streammeon.apiBase';
const AUTH_KEY = 'streammeon.auth';
const THEME_KEY = 'streammeon.theme';

export type Theme = 'auto' | 'light' | 'dark';

export interface StoredAuth {
  token: string;
  user: User;
}

/**
 * What the app remembers between visits (API address, sign-in, theme), kept in localStorage so a
 * page hosted elsewhere can still talk to the API it was pointed at.
 */
export class Preferences {
  constructor(
    private readonly storage: Storage,
    private readonly pageOrigin: string,
  ) {}

  /** The API base URL without a trailing slash; the page's own origin unless changed. */
  get apiBase(): string {
    return this.storage.getItem(API_BASE_KEY) || this.pageOrigin;
  }

  /** Sets the API base URL; an empty value goes back to the page's origin. Throws on a bad URL. */
  setApiBase(value: string): void {
    const trimmed = value.trim();
    if (!trimmed || trimmed.replace(/\/+$/, '') === this.pageOrigin) {
      this.storage.removeItem(API_BASE_KEY);
      return;
    }
    const url = new URL(trimmed);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error('The API address must start with http:// or https://');
    }
    this.storage.setItem(API_BASE_KEY, url.toString().replace(/\/+$/, ''));
  }

  get auth(): StoredAuth | null {
    const raw = this.storage.getItem(AUTH_KEY);
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as StoredAuth;
      return typeof parsed.token === 'string' && parsed.user ? parsed : null;
    } catch {
      return null;
    }
  }

  set auth(value: StoredAuth | null) {
    if (value) this.storage.setItem(AUTH_KEY, JSON.stringify(value));
    else this.storage.removeItem(AUTH_KEY);
  }

  get theme(): Theme {
    const value = this.storage.getItem(THEME_KEY);
    return value === 'light' || value === 'dark' ? value : 'auto';
  }

  set theme(value: Theme) {
    if (value === 'auto') this.storage.removeItem(THEME_KEY);
    else this.storage.setItem(THEME_KEY, value);
  }
}
