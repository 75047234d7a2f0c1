import { isUuid } from '../contract/ids.js';

/** The containers a replay is made into. */
export type ReplayExtension = 'webm' | 'mp4';

export const CONTENT_TYPES: Record<ReplayExtension, string> = {
  webm: 'video/webm',
  mp4: 'video/mp4',
};

/** A stored file as `list` reports it (retention reads the age). */
export interface StoredReplay {
  key: string;
  /** Milliseconds since it was stored. */
  ageMs: number;
}

/**
 * Where finished replays are kept, by key. The local folder implements it (storage-local.ts); an
 * object store can implement it too without touching the rest.
 *
 * Keys are made by `replayKey` from a session id (a UUID) and an extension, never from anything
 * a client sent; each implementation refuses any other key before touching its storage.
 */
export interface ReplayStorage {
  /**
   * Stores the finished local file `file` under `key`, replacing what is there, atomically:
   * a crash leaves either the old file or the new one under the key, never half a file. `file`
   * is moved (it no longer exists afterwards).
   */
  put(key: string, file: string): Promise<void>;
  /** The stored file's size, or undefined when nothing is stored under `key`. */
  stat(key: string): Promise<{ size: number } | undefined>;
  /**
   * The stored file as a local path, which the HTTP layer serves with `@fastify/send` (ranges,
   * ETag, Last-Modified, If-Range, conditional GETs). An object store would answer with a
   * signed URL instead, and the route redirect to it.
   */
  path(key: string): string;
  /** Removes the file; nothing happens when it is missing. */
  delete(key: string): Promise<void>;
  /** Every stored key and its age. */
  list(): Promise<StoredReplay[]>;
}

const KEY = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(webm|mp4)$/;

/** The key of a session's replay; throws when `sessionId` is not a UUID. */
export function replayKey(sessionId: string, extension: ReplayExtension): string {
  if (!isUuid(sessionId)) throw new Error('a replay key is made from a session id (a UUID)');
  return `${sessionId.toLowerCase()}.${extension}`;
}

/** True for a key `replayKey` makes: `<lower-case uuid>.webm|mp4`, nothing else. */
export function isReplayKey(key: string): boolean {
  return KEY.test(key);
}

/** The session id a key was made from, or undefined when it is not a key. */
export function sessionOfKey(key: string): string | undefined {
  return KEY.exec(key)?.[1];
}

/** Throws unless `key` is one `replayKey` makes (before any storage access). */
export function checkKey(key: string): void {
  if (!isReplayKey(key)) throw new Error(`not a replay key: ${JSON.stringify(key.slice(0, 80))}`);
}
