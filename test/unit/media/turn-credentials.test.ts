/**
 * TURN credentials by the TURN REST scheme (coturn's `use-auth-secret`) and the ICE-server
 * `Link` headers of WHIP/WHEP (RFC 9725 §4.6). Pure functions: no services.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import type { TurnConfig } from '../../../src/config.js';
import { iceServerLinks, mintIceServers } from '../../../src/media/turn-credentials.js';

const TURN: TurnConfig = {
  urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349?transport=tcp'],
  secret: 'coturn-static-auth-secret',
  ttlSeconds: 3600,
};
const NOW = new Date('2026-03-01T12:00:00.250Z');
const STUN = { urls: 'stun:stun.example.com:3478' };

/** The password coturn expects: base64(HMAC-SHA1(static-auth-secret, username)). */
const expectedPassword = (secret: string, username: string) =>
  createHmac('sha1', secret).update(username).digest('base64');

describe('mintIceServers', () => {
  test('the username is "<expiry unix seconds>:<user id>", expiring ttl seconds from now', () => {
    const { ice_servers } = mintIceServers({ turn: TURN, staticIceServers: [], userId: 'u-1', now: NOW });
    const expiry = Math.floor(NOW.getTime() / 1000) + 3600;
    assert.equal(ice_servers[0]?.username, `${expiry}:u-1`);
  });

  test('the credential is base64(HMAC-SHA1(secret, username))', () => {
    const { ice_servers } = mintIceServers({ turn: TURN, staticIceServers: [], userId: 42, now: NOW });
    const server = ice_servers[0];
    assert.ok(server?.username);
    assert.equal(server.username, `${Math.floor(NOW.getTime() / 1000) + 3600}:42`);
    assert.equal(server.credential, expectedPassword(TURN.secret, server.username));
  });

  test('expires_at is now plus the TTL, in whole seconds', () => {
    const { expires_at } = mintIceServers({ turn: TURN, staticIceServers: [], userId: 'u', now: NOW });
    assert.equal(expires_at, '2026-03-01T13:00:00.000Z');
  });

  test('every TURN URL is in the one minted server', () => {
    const { ice_servers } = mintIceServers({ turn: TURN, staticIceServers: [], userId: 'u', now: NOW });
    assert.equal(ice_servers.length, 1);
    assert.deepEqual(ice_servers[0]?.urls, TURN.urls);
  });

  test('the static servers come first, as given', () => {
    const custom = { urls: ['turn:static.example.com'], username: 'fixed', credential: 'pw', extra: true };
    const { ice_servers } = mintIceServers({
      turn: TURN,
      staticIceServers: [STUN, custom],
      userId: 'u',
      now: NOW,
    });
    assert.deepEqual(ice_servers.slice(0, 2), [STUN, custom]);
    assert.equal(ice_servers.length, 3);
  });

  test('without TURN: the static servers only, and expires_at null', () => {
    const result = mintIceServers({ turn: undefined, staticIceServers: [STUN], userId: 'u', now: NOW });
    assert.deepEqual(result, { ice_servers: [STUN], expires_at: null });
  });

  test('different users get different credentials from the same secret', () => {
    const a = mintIceServers({ turn: TURN, staticIceServers: [], userId: 'a', now: NOW });
    const b = mintIceServers({ turn: TURN, staticIceServers: [], userId: 'b', now: NOW });
    assert.notEqual(a.ice_servers[0]?.credential, b.ice_servers[0]?.credential);
  });
});

describe('iceServerLinks', () => {
  test('a TURN server: one Link per URL, with quoted username, credential and credential-type', () => {
    const links = iceServerLinks([
      { urls: TURN.urls, username: '1772370000:u-1', credential: 'c2VjcmV0+/=' },
    ]);
    assert.deepEqual(links, [
      '<turn:turn.example.com:3478?transport=udp>; rel="ice-server"; username="1772370000:u-1"; credential="c2VjcmV0+/="; credential-type="password"',
      '<turns:turn.example.com:5349?transport=tcp>; rel="ice-server"; username="1772370000:u-1"; credential="c2VjcmV0+/="; credential-type="password"',
    ]);
  });

  test('a STUN URL carries no credentials, even in a server that has some', () => {
    const links = iceServerLinks([
      STUN,
      { urls: ['stun:stun2.example.com', 'turn:t.example.com'], username: 'u', credential: 'p' },
    ]);
    assert.deepEqual(links, [
      '<stun:stun.example.com:3478>; rel="ice-server"',
      '<stun:stun2.example.com>; rel="ice-server"',
      '<turn:t.example.com>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    ]);
  });

  test('quotes and backslashes in a username or credential are escaped', () => {
    const [link] = iceServerLinks([{ urls: 'turn:t.example.com', username: 'a"b', credential: 'c\\d' }]);
    assert.equal(
      link,
      '<turn:t.example.com>; rel="ice-server"; username="a\\"b"; credential="c\\\\d"; credential-type="password"',
    );
  });

  test('characters that would break the <URI> are percent-encoded', () => {
    const [link] = iceServerLinks([{ urls: 'stun:bad host>x' }]);
    assert.equal(link, '<stun:bad%20host%3Ex>; rel="ice-server"');
  });

  test('a TURN server without credentials gets a bare Link', () => {
    assert.deepEqual(iceServerLinks([{ urls: 'turn:t.example.com' }]), [
      '<turn:t.example.com>; rel="ice-server"',
    ]);
  });

  test('minted servers turn into Links whose credentials match', () => {
    const minted = mintIceServers({ turn: TURN, staticIceServers: [STUN], userId: 7, now: NOW });
    const links = iceServerLinks(minted.ice_servers);
    assert.equal(links.length, 3);
    const username = minted.ice_servers[1]?.username ?? '';
    assert.ok(links[1]?.includes(`username="${username}"`));
    assert.ok(links[1]?.includes(`credential="${expectedPassword(TURN.secret, username)}"`));
  });
});
