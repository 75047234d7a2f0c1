import { ApiClient } from './client/api.js';
import type { Preferences, StoredAuth } from './client/preferences.js';

/** What every page gets from the app shell. */
export interface AppContext {
  prefs: Preferences;
  /** The signed-in user, or null. */
  auth: StoredAuth | null;
  /** The API client for the current base URL, signed in when there is a user. */
  api(): ApiClient;
  navigate(hash: string): void;
  signIn(auth: StoredAuth): void;
  /** Signs out; `notice` is shown on the sign-in page (e.g. why it happened). */
  signOut(notice?: string): void;
  /** A one-time message for the sign-in page, taken when read. */
  takeNotice(): string | null;
}

/** A mounted page; `dispose` closes its sockets, timers, camera and peer connections. */
export interface Page {
  element: HTMLElement;
  /** Shown in the browser tab. */
  title: string;
  dispose(): void;
}

export function apiFor(prefs: Preferences, auth: StoredAuth | null, onUnauthorized: () => void): ApiClient {
  return new ApiClient(prefs.apiBase, auth?.token ?? null, onUnauthorized);
}
