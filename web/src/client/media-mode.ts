import type { ApiClient } from './api.js';
import type { AppConfig } from './types.js';

/**
 * The ICE servers for a new RTCPeerConnection. With TURN (`turn: true` in `/app-config.json`) the
 * credentials are short-lived, so each call asks `GET /ice-servers` for fresh ones: a publisher
 * that reconnects hours into a stream must not offer expired ones. If that call fails, the static
 * servers of the app config still allow direct and STUN paths.
 */
export async function iceServersFor(api: ApiClient, config: AppConfig): Promise<RTCIceServer[]> {
  if (!config.turn) return config.ice_servers;
  try {
    return (await api.iceServers()).ice_servers;
  } catch {
    return config.ice_servers;
  }
}

/** The studio's line saying which path its video takes, by media mode. */
export const VIDEO_PATH_TEXT: Record<AppConfig['media'], string> = {
  sfu: 'Video: through the media server (WHIP)',
  mesh: 'Video: direct to each viewer (mesh, fine for a handful)',
};
