import { randomBytes } from 'node:crypto';
import type { VideoRoomHandle } from 'janode/plugins/videoroom';
import { DomainError, forbidden, notFound } from '../contract/errors.js';
import type { UserId } from '../db/schema.js';

/** An unguessable id: 24 random bytes, URL-safe (the WHIP/WHEP `Location` is a capability). */
export function newResourceId(): string {
  return randomBytes(24).toString('base64url');
}

/** How a client names a resource's version in `If-Match`. */
export type IfMatch = string | undefined;

/**
 * A WHIP or WHEP session: one Janus handle that belongs to one user of one media session, held by
 * the instance that created it. Closing it detaches the handle, once.
 */
export class MediaResource {
  readonly id = newResourceId();
  #etag = newResourceId().slice(0, 16);
  #closed = false;

  constructor(
    readonly sessionId: string,
    readonly userId: UserId,
    readonly server: string,
    readonly handle: VideoRoomHandle,
  ) {}

  /** The quoted entity tag (RFC 9110) of the resource's current ICE session. */
  get etag(): string {
    return `"${this.#etag}"`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A new ICE session (restart): a new entity tag. */
  renewEtag(): string {
    this.#etag = newResourceId().slice(0, 16);
    return this.etag;
  }

  /** Whether `ifMatch` names this resource's current tag (or any, with `*`). Absent passes. */
  matches(ifMatch: IfMatch): boolean {
    if (ifMatch === undefined) return true;
    const tags = ifMatch.split(',').map((tag) => tag.trim());
    return tags.some((tag) => isWildcard(tag) || tag === this.etag || tag === `W/${this.etag}`);
  }

  /** Detaches the handle; later calls do nothing. Returns whether this call closed it. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    void this.handle.detach().catch(() => {});
    return true;
  }
}

/** `*` as RFC 9110 writes it, and `"*"` as some WHIP clients send it. */
export function isWildcard(ifMatch: IfMatch): boolean {
  return ifMatch !== undefined && (ifMatch.trim() === '*' || ifMatch.trim() === '"*"');
}

/**
 * The resources of one kind this instance holds, by id and by session. Another instance's
 * resource (or one that ended) is 404 here: a deployment routes a resource's requests by path.
 */
export class ResourceTable<R extends MediaResource> {
  readonly #byId = new Map<string, R>();

  constructor(private readonly kind: string) {}

  add(resource: R): void {
    this.#byId.set(resource.id, resource);
  }

  /** The caller's resource `id` of session `sessionId`; 404 or 403 otherwise. */
  owned(sessionId: string, id: string, userId: UserId): R {
    const resource = this.#byId.get(id);
    if (!resource || resource.sessionId !== sessionId) {
      throw notFound(`No such ${this.kind} resource (it ended, or another server instance holds it)`);
    }
    if (String(resource.userId) !== String(userId))
      throw forbidden(`This ${this.kind} resource is not yours`);
    return resource;
  }

  remove(resource: R): void {
    if (this.#byId.get(resource.id) === resource) this.#byId.delete(resource.id);
  }

  /** Resources matching `test`, removed from the table (their owner closes them). */
  take(test: (resource: R) => boolean): R[] {
    const taken = [...this.#byId.values()].filter(test);
    for (const resource of taken) this.#byId.delete(resource.id);
    return taken;
  }

  all(): R[] {
    return [...this.#byId.values()];
  }

  get size(): number {
    return this.#byId.size;
  }
}

/** Janus's error for a request, as janode throws it, in words for a `{detail}`. */
export function janusReason(error: unknown): string {
  if (error instanceof DomainError) return error.detail;
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\d+\s+/, '');
}
