import { DomainError } from '../contract/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Comments } from './comments.js';

/**
 * Counts every comment posted through `comments` (REST and WebSocket alike): accepted once
 * stored, refused by reason, the domain error's code (`invalid`, `rate_limited`,
 * `session_ended`, `not_found`, `unauthorized`, `forbidden`, …) or `error` for a failure of the
 * server (the database down). Returns the same object, its `post` wrapped.
 */
export function countComments(
  comments: Comments,
  metrics: Pick<Metrics, 'commentsAccepted' | 'commentsRefused'>,
): Comments {
  const post = comments.post.bind(comments);
  comments.post = async (...args: Parameters<Comments['post']>) => {
    try {
      const comment = await post(...args);
      metrics.commentsAccepted.inc();
      return comment;
    } catch (error) {
      metrics.commentsRefused.inc({ reason: error instanceof DomainError ? error.code : 'error' });
      throw error;
    }
  };
  return comments;
}
