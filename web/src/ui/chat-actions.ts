import type { ApiClient } from '../client/api.js';
import type { CommentActions } from './comments-panel.js';

/**
 * A chat's moderation bound to one session over REST: what the comment menus, the unpin button
 * and the slow-mode choice call. The server decides who may: the session's vendor and the
 * vendor's moderators (and a comment's author may delete it).
 */
export function chatActions(
  api: ApiClient,
  sessionId: string,
  extra: Pick<CommentActions, 'makeModerator' | 'isModerator'> & { banned?: () => void } = {},
): CommentActions {
  return {
    delete: (comment) => api.deleteComment(sessionId, comment.id),
    pin: (comment) => api.pin(sessionId, comment.id),
    unpin: () => api.unpin(sessionId),
    ban: async (comment, durationSeconds) => {
      const ban = await api.ban(sessionId, comment.user_id, durationSeconds);
      extra.banned?.();
      return ban;
    },
    setSlowMode: (seconds) => api.setSlowMode(sessionId, seconds),
    makeModerator: extra.makeModerator,
    isModerator: extra.isModerator,
  };
}
