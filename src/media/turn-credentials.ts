import { createHmac } from 'node:crypto';
import type { TurnConfig } from '../config.js';
import type { IceServer, IceServers } from '../contract/media.js';
import type { UserId } from '../contract/ids.js';

/**
 * TURN credentials by the TURN REST scheme (coturn's `use-auth-secret`): the username is
 * `<expiry unix seconds>:<user id>` and the password base64(HMAC-SHA1(secret, username)), so
 * coturn checks them with the shared secret alone and they stop working at the expiry.
 */
export function turnCredential(secret: string, expiresAtSeconds: number, userId: UserId) {
  const username = `${expiresAtSeconds}:${userId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/**
 * The ICE servers for one caller: the static ones (ICE_SERVERS) as given, then, when TURN is
 * configured, one server carrying every TURN URL with credentials that expire `ttlSeconds`
 * from `now` (`expires_at`; null when none were minted).
 */
export function mintIceServers(options: {
  turn: TurnConfig | undefined;
  staticIceServers: unknown[];
  userId: UserId;
  now: Date;
}): IceServers {
  const { turn, userId, now } = options;
  const servers = options.staticIceServers as IceServer[];
  if (!turn) return { ice_servers: [...servers], expires_at: null };
  const expiry = Math.floor(now.getTime() / 1000) + turn.ttlSeconds;
  const { username, credential } = turnCredential(turn.secret, expiry, userId);
  return {
    ice_servers: [...servers, { urls: [...turn.urls], username, credential }],
    expires_at: new Date(expiry * 1000).toISOString(),
  };
}

/** A quoted-string (RFC 9110 §5.6.4): backslash and double quote escaped, in double quotes. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A URI fit for `<…>`: the characters that would end or break it (controls, space, `<>"`) percent-encoded. */
function linkTarget(url: string): string {
  let out = '';
  for (const c of url) {
    const code = c.codePointAt(0) ?? 0;
    out += code <= 0x20 || code === 0x7f || c === '<' || c === '>' || c === '"' ? percent(code) : c;
  }
  return out;
}

const percent = (code: number) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * The `Link` header values of WHIP/WHEP (RFC 9725 §4.6), one per URL:
 * `<turn:host:3478?transport=udp>; rel="ice-server"; username="…"; credential="…";
 * credential-type="password"`. `stun:` URLs (and servers without both username and credential)
 * carry no credentials.
 */
export function iceServerLinks(servers: IceServer[]): string[] {
  const links: string[] = [];
  for (const server of servers) {
    const urls = (Array.isArray(server.urls) ? server.urls : [server.urls]).filter(
      (u): u is string => typeof u === 'string' && u.length > 0,
    );
    for (const url of urls) {
      let link = `<${linkTarget(url)}>; rel="ice-server"`;
      const turn = /^turns?:/i.test(url);
      if (turn && typeof server.username === 'string' && typeof server.credential === 'string') {
        link += `; username=${quoted(server.username)}; credential=${quoted(server.credential)}`;
        link += '; credential-type="password"';
      }
      links.push(link);
    }
  }
  return links;
}
