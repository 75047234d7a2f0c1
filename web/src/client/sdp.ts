import type { WireSdp } from './types.js';

/** The SDP text of a relayed description, whichever form the sender used. */
export function sdpText(wire: WireSdp): string {
  return typeof wire === 'string' ? wire : (wire.sdp ?? '');
}
