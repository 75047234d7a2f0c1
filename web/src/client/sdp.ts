import type { WireSdp } from './types.js';

/** The SDP text of a relayed description, whichever form the sender used. */
export function sdpText(wire: WireSdp): string {
  return typeof wire === 'string' ? wire : (wire.sdp ?? '');
}

/** How long to wait for ICE gathering before sending what was gathered so far. */
const GATHERING_CAP_MS = 2000;

/**
 * Resolves once `connection` has gathered its ICE candidates, or after `capMs`. WHIP and WHEP
 * here do not trickle: the SDP sent must already carry the candidates, and a slow STUN or TURN
 * server must not hold the video up for long (host candidates come at once).
 */
export function gatheringComplete(connection: RTCPeerConnection, capMs = GATHERING_CAP_MS): Promise<void> {
  if (connection.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      connection.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (connection.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, capMs);
    connection.addEventListener('icegatheringstatechange', check);
  });
}
