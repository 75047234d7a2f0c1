import { forbidden } from '../contract/errors.js';
import type { UserId } from '../db/schema.js';

/** What the rule reads of the session a channel is named after. */
export interface ChannelSession {
  id: string;
  vendor_id: UserId;
  is_live: boolean;
}

/**
 * Who may have a publisher token for an Agora channel: only the vendor of the live session
 * whose id is the channel's name, so nobody else can broadcast into a vendor's channel. Every
 * refusal is forbidden (the original's contract for these routes), each saying why.
 */
export function requireChannelPublisher(
  session: ChannelSession | undefined,
  channelName: string,
  userId: UserId,
): void {
  if (!session || session.id !== channelName) {
    throw forbidden(
      `role publisher needs the channel name to be the id of your live session; "${channelName}" is not a session id (use role audience to join it)`,
    );
  }
  if (String(session.vendor_id) !== String(userId)) {
    throw forbidden(
      `role publisher is only for the vendor of session ${channelName}; use role audience to watch it`,
    );
  }
  if (!session.is_live) {
    throw forbidden(`role publisher needs a live session; session ${channelName} has ended`);
  }
}
