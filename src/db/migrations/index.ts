import type { Migration, MigrationProvider } from 'kysely';
import * as users from './001-users.js';
import * as live from './002-live.js';
import * as chat from './003-chat.js';
import * as ops from './004-ops.js';
import * as media from './005-media.js';
import * as replays from './006-replays.js';
import * as chatRulesVersion from './007-chat-rules-version.js';
import * as reactions from './008-reactions.js';
import * as polls from './009-polls.js';
import * as thumbnails from './010-thumbnails.js';

/**
 * The migrations in order. Listed in code rather than read from a folder so that the compiled
 * build and `tsx` see the same set. Never edit a migration that has shipped: add the next one.
 */
export const migrations: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      '001-users': users,
      '002-live': live,
      '003-chat': chat,
      '004-ops': ops,
      '005-media': media,
      '006-replays': replays,
      '007-chat-rules-version': chatRulesVersion,
      '008-reactions': reactions,
      '009-polls': polls,
      '010-thumbnails': thumbnails,
    };
  },
};
