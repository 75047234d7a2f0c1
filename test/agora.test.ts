/**
 * Agora tokens. Every token is read back with Agora's own parser (AccessToken2 of the
 * `agora-token` package) and its signature checked with the certificate, so "valid" here means
 * what Agora's servers would check, not what our code believes it wrote.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { credentialsProblem, rtcToken, rtmToken, type RtcTokenRequest } from '../src/agora/tokens.js';
import { startApp, type RunningApp } from './support/app.js';
import { call, goLive, register } from './support/http.js';

// Known-answer inputs from agora-token's own tests (test/AccessToken2Test.js, RtcTokenBuilder2Test.js).
const APP_ID = '970CA35de60c44645bbae8a215061b33';
const CERTIFICATE = '5CFd2fd1755d40ecb72977518be15d3b';
const CHANNEL = '7d72365eb983485397e3e3f9d460bdda';
const UID = 2882341273;
const EXPIRY = 600;
const CREDENTIALS = { appId: APP_ID, appCertificate: CERTIFICATE };
const AGORA_ENV = { AGORA_APP_ID: APP_ID, AGORA_APP_CERTIFICATE: CERTIFICATE };

/**
 * AccessToken2_Test of agora-token: an RTC token for CHANNEL and UID with the join privilege for
 * 600 s, issued at ts 1111111 with salt 1.
 */
const AGORA_TEST_VECTOR =
  '007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj';

// Agora's parser is not part of the package's typed surface: load it directly.
const agora = createRequire(import.meta.url)('agora-token/src/AccessToken2.js');
const { AccessToken2, ServiceRtc, ServiceRtm, kRtcServiceType, kRtmServiceType } = agora;

const JOIN = ServiceRtc.kPrivilegeJoinChannel as number;
const PUBLISH = [
  ServiceRtc.kPrivilegePublishAudioStream,
  ServiceRtc.kPrivilegePublishVideoStream,
  ServiceRtc.kPrivilegePublishDataStream,
] as number[];

/** A token as Agora's parser reads it. */
interface Parsed {
  token: any;
  appId: string;
  issueTs: number;
  expire: number;
  serviceTypes: number[];
  rtc?: { channel: string; uid: string; privileges: Record<string, number> };
  rtm?: { userId: string; privileges: Record<string, number> };
}

/** Parses with agora-token's AccessToken2.from_string; fails the test if Agora cannot read it. */
function parse(token: string): Parsed {
  assert.match(token, /^007/, 'an AccessToken2 token starts with 007');
  const parsed = new AccessToken2('', '', 0, 0);
  assert.equal(parsed.from_string(token), true, 'agora-token parses the token');
  const rtc = parsed.getServices(kRtcServiceType)[0];
  const rtm = parsed.getServices(kRtmServiceType)[0];
  return {
    token: parsed,
    appId: String(parsed.appId),
    issueTs: parsed.issueTs,
    expire: parsed.expire,
    serviceTypes: parsed.services.map((s: any) => s.service_type()),
    rtc: rtc && {
      channel: String(rtc.__channel_name),
      uid: String(rtc.__uid),
      privileges: { ...rtc.__privileges },
    },
    rtm: rtm && { userId: String(rtm.__user_id), privileges: { ...rtm.__privileges } },
  };
}

/** Parses and checks the signature with the certificate, as Agora's servers do. */
function parseVerified(token: string): Parsed {
  const parsed = parse(token);
  assert.equal(parsed.token.verifySignature(CERTIFICATE), true, 'signature verifies with the certificate');
  return parsed;
}

const privileges = (ids: number[], expiry: number) =>
  Object.fromEntries(ids.map((id) => [String(id), expiry]));

const rtcRequest = (overrides: Partial<RtcTokenRequest> = {}): RtcTokenRequest => ({
  channelName: CHANNEL,
  role: 'audience',
  uid: UID,
  expirySeconds: EXPIRY,
  ...overrides,
});

describe('minting with agora-token', () => {
  test('an audience token carries the app id, channel, uid, join privilege and expiry asked for', () => {
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest()));
    assert.equal(parsed.appId, APP_ID);
    assert.equal(parsed.expire, EXPIRY);
    assert.deepEqual(parsed.serviceTypes, [kRtcServiceType]);
    assert.deepEqual(parsed.rtc, {
      channel: CHANNEL,
      uid: String(UID),
      privileges: privileges([JOIN], EXPIRY),
    });
  });

  test('a subscriber token carries only the join privilege, like audience', () => {
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest({ role: 'subscriber' })));
    assert.deepEqual(parsed.rtc?.privileges, privileges([JOIN], EXPIRY));
  });

  test('a publisher token carries join and the publish audio, video and data privileges', () => {
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest({ role: 'publisher' })));
    assert.deepEqual(parsed.rtc?.privileges, privileges([JOIN, ...PUBLISH], EXPIRY));
  });

  test('a user-account token carries the account as its uid', () => {
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest({ uid: 'alice@example' })));
    assert.equal(parsed.rtc?.uid, 'alice@example');
  });

  test('uid 0 is written as an empty uid, which lets any uid join', () => {
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest({ uid: 0 })));
    assert.equal(parsed.rtc?.uid, '');
  });

  test('the token is issued now', () => {
    const now = Math.floor(Date.now() / 1000);
    const parsed = parseVerified(rtcToken(CREDENTIALS, rtcRequest()));
    assert.ok(Math.abs(parsed.issueTs - now) <= 5, `issued at ${parsed.issueTs}, now ${now}`);
  });

  test('an RTM token carries the user id, the login privilege and the expiry', () => {
    const parsed = parseVerified(rtmToken(CREDENTIALS, String(UID), EXPIRY));
    assert.equal(parsed.appId, APP_ID);
    assert.equal(parsed.expire, EXPIRY);
    assert.deepEqual(parsed.serviceTypes, [kRtmServiceType]);
    assert.deepEqual(parsed.rtm, {
      userId: String(UID),
      privileges: privileges([ServiceRtm.kPrivilegeLogin], EXPIRY),
    });
  });

  test('the signature does not verify with another certificate', () => {
    const parsed = parse(rtcToken(CREDENTIALS, rtcRequest()));
    assert.equal(parsed.token.verifySignature('0123456789abcdef0123456789abcdef'), false);
  });

  test("re-signed at Agora's test timestamp and salt, an audience token is Agora's test vector", () => {
    // Only the issue time and the random salt differ from Agora's published token; pinning them
    // makes every other byte of ours comparable with theirs.
    const parsed = parse(rtcToken(CREDENTIALS, rtcRequest())).token;
    parsed.appCertificate = CERTIFICATE;
    parsed.issueTs = 1111111;
    parsed.salt = 1;
    assert.equal(parsed.build(), AGORA_TEST_VECTOR);
  });

  test('credentials that are not 32 hexadecimal characters are refused, naming both variables', () => {
    const problem = credentialsProblem({ appId: 'my-app', appCertificate: CERTIFICATE });
    assert.match(problem ?? '', /AGORA_APP_ID.*AGORA_APP_CERTIFICATE/);
    assert.throws(
      () => rtcToken({ appId: 'my-app', appCertificate: CERTIFICATE }, rtcRequest()),
      /AGORA_APP_ID/,
    );
  });
});

describe('token routes', () => {
  let running: RunningApp;
  let base: string;
  let user: { token: string };
  let owner: { token: string };
  let otherVendor: { token: string };
  let sessionId: string;

  before(async () => {
    running = await startApp({ env: AGORA_ENV });
    base = running.baseUrl;
    user = await register(base, 'user');
    otherVendor = await register(base, 'vendor');
    const live = await goLive(base, 'Agora live');
    owner = live.vendor;
    sessionId = live.session.session_id;
  });
  after(() => running.close());

  const rtcPath = (channel: string, role: string, tokentype: string, uid: string | number, query = '') =>
    `/rtc/${encodeURIComponent(channel)}/${role}/${tokentype}/${encodeURIComponent(String(uid))}${query}`;

  test('/ping answers pong without a token', async () => {
    const res = await call(base, 'GET', '/ping');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { message: 'pong' });
  });

  test('minting without a token is 401', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID));
    assert.equal(res.status, 401);
    assert.equal(res.body.detail, 'Not authenticated');
  });

  test('minting with an invalid token is 401', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID), { token: 'not-a-jwt' });
    assert.equal(res.status, 401);
  });

  test('a signed-in user gets an audience token with the known-answer fields', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID, `?expiry=${EXPIRY}`), {
      token: user.token,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['rtcToken']);
    const parsed = parseVerified(res.body.rtcToken);
    assert.equal(parsed.appId, APP_ID);
    assert.equal(parsed.expire, EXPIRY);
    assert.deepEqual(parsed.rtc, {
      channel: CHANNEL,
      uid: String(UID),
      privileges: privileges([JOIN], EXPIRY),
    });
  });

  test('the token in ?authorization= is accepted like the header', async () => {
    const query = `?authorization=${encodeURIComponent(`Bearer ${user.token}`)}`;
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'subscriber', 'uid', UID, query));
    assert.equal(res.status, 200);
    assert.deepEqual(parseVerified(res.body.rtcToken).rtc?.privileges, privileges([JOIN], 3600));
  });

  test('a userAccount token carries the account', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'userAccount', 'viewer one'), {
      token: user.token,
    });
    assert.equal(res.status, 200);
    assert.equal(parseVerified(res.body.rtcToken).rtc?.uid, 'viewer one');
  });

  test('the expiry defaults to 3600 seconds', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID), { token: user.token });
    assert.equal(parseVerified(res.body.rtcToken).expire, 3600);
  });

  test('an expiry of 86400 seconds is accepted', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID, '?expiry=86400'), {
      token: user.token,
    });
    assert.equal(res.status, 200);
    assert.equal(parseVerified(res.body.rtcToken).expire, 86400);
  });

  test('an expiry above 86400 seconds is 422', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID, '?expiry=86401'), {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['query', 'expiry']);
    assert.match(res.body.detail[0].msg, /less than or equal to 86400/);
  });

  test('an expiry below 1 second is 422', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID, '?expiry=0'), {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.match(res.body.detail[0].msg, /greater than or equal to 1/);
  });

  test('an expiry that is not a whole number is 422', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', UID, '?expiry=soon'), {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['query', 'expiry']);
  });

  test('the vendor of a live session gets a publisher token for it', async () => {
    const res = await call(base, 'GET', rtcPath(sessionId, 'publisher', 'uid', UID, `?expiry=${EXPIRY}`), {
      token: owner.token,
    });
    assert.equal(res.status, 200);
    const parsed = parseVerified(res.body.rtcToken);
    assert.equal(parsed.rtc?.channel, sessionId);
    assert.deepEqual(parsed.rtc?.privileges, privileges([JOIN, ...PUBLISH], EXPIRY));
  });

  test('another vendor is refused a publisher token with 403', async () => {
    const res = await call(base, 'GET', rtcPath(sessionId, 'publisher', 'uid', UID), {
      token: otherVendor.token,
    });
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /only for the vendor of session .*use role audience/);
  });

  test('a plain user is refused a publisher token with 403', async () => {
    const res = await call(base, 'GET', rtcPath(sessionId, 'publisher', 'uid', UID), { token: user.token });
    assert.equal(res.status, 403);
  });

  test('a publisher token for a channel that is not a session id is 403', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'publisher', 'uid', UID), { token: owner.token });
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /not a session id/);
  });

  test('a publisher token for an ended session is 403', async () => {
    const ended = await goLive(base, 'Ends at once');
    await call(base, 'POST', `/live/sessions/${ended.session.session_id}/end`, { token: ended.vendor.token });
    const res = await call(base, 'GET', rtcPath(ended.session.session_id, 'publisher', 'uid', UID), {
      token: ended.vendor.token,
    });
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /has ended/);
  });

  test('an audience token for a live session goes to anyone signed in', async () => {
    const res = await call(base, 'GET', rtcPath(sessionId, 'audience', 'uid', UID), { token: user.token });
    assert.equal(res.status, 200);
  });

  test('an unknown role is 422 naming the roles', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'host', 'uid', UID), { token: user.token });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'role']);
    assert.equal(res.body.detail[0].msg, "Input should be 'publisher', 'audience' or 'subscriber'");
  });

  test('an unknown tokentype is 422 naming the types', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'account', UID), { token: user.token });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'tokentype']);
    assert.equal(res.body.detail[0].msg, "Input should be 'uid' or 'userAccount'");
  });

  test('a uid that is not a number is 422 when tokentype is uid', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', 'alice'), { token: user.token });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'uid']);
    assert.match(res.body.detail[0].msg, /whole number from 0 to 4294967295.*userAccount/);
  });

  test('a uid above 4294967295 is 422', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'uid', 2 ** 32), { token: user.token });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'uid']);
  });

  test('a user account with characters Agora refuses is 422', async () => {
    const res = await call(base, 'GET', rtcPath(CHANNEL, 'audience', 'userAccount', 'a"b'), {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'uid']);
    assert.match(res.body.detail[0].msg, /should use only letters, digits/);
  });

  test('a channel name longer than 64 characters is 422', async () => {
    const res = await call(base, 'GET', rtcPath('c'.repeat(65), 'audience', 'uid', UID), {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.detail[0].loc, ['path', 'channelName']);
  });

  test('/rtm/:uid returns an RTM token for that user id', async () => {
    const res = await call(base, 'GET', `/rtm/${UID}?expiry=${EXPIRY}`, { token: user.token });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['rtmToken']);
    const parsed = parseVerified(res.body.rtmToken);
    assert.equal(parsed.appId, APP_ID);
    assert.equal(parsed.expire, EXPIRY);
    assert.equal(parsed.rtm?.userId, String(UID));
  });

  test('/rtm/:uid without a token is 401', async () => {
    const res = await call(base, 'GET', `/rtm/${UID}`);
    assert.equal(res.status, 401);
  });

  test('/rte returns an RTC token and an RTM token for the same uid', async () => {
    const res = await call(base, 'GET', `/rte/${CHANNEL}/audience/uid/${UID}?expiry=${EXPIRY}`, {
      token: user.token,
    });
    assert.equal(res.status, 200);
    const rtc = parseVerified(res.body.rtcToken);
    const rtm = parseVerified(res.body.rtmToken);
    assert.deepEqual(rtc.rtc, { channel: CHANNEL, uid: String(UID), privileges: privileges([JOIN], EXPIRY) });
    assert.equal(rtm.rtm?.userId, String(UID));
    assert.equal(rtm.expire, EXPIRY);
  });

  test('/rte refuses a publisher token to anyone but the session vendor', async () => {
    const res = await call(base, 'GET', `/rte/${sessionId}/publisher/uid/${UID}`, { token: user.token });
    assert.equal(res.status, 403);
  });

  test('/rte refuses a user account longer than an RTM user id may be', async () => {
    const res = await call(base, 'GET', `/rte/${CHANNEL}/audience/userAccount/${'a'.repeat(65)}`, {
      token: user.token,
    });
    assert.equal(res.status, 422);
    assert.match(res.body.detail[0].msg, /RTM user id.*64/);
  });
});

describe('token routes without Agora configuration', () => {
  let running: RunningApp;
  let user: { token: string };

  before(async () => {
    running = await startApp();
    user = await register(running.baseUrl, 'user');
  });
  after(() => running.close());

  for (const path of [
    `/rtc/${CHANNEL}/audience/uid/${UID}`,
    `/rtm/${UID}`,
    `/rte/${CHANNEL}/audience/uid/${UID}`,
  ]) {
    test(`${path.split('/')[1]} answers 503 naming AGORA_APP_ID and AGORA_APP_CERTIFICATE`, async () => {
      const res = await call(running.baseUrl, 'GET', path, { token: user.token });
      assert.equal(res.status, 503);
      assert.match(res.body.detail, /AGORA_APP_ID/);
      assert.match(res.body.detail, /AGORA_APP_CERTIFICATE/);
    });
  }

  test('the 503 comes before authentication: no token can help', async () => {
    const res = await call(running.baseUrl, 'GET', `/rtc/${CHANNEL}/audience/uid/${UID}`);
    assert.equal(res.status, 503);
  });

  test('/ping still answers', async () => {
    const res = await call(running.baseUrl, 'GET', '/ping');
    assert.equal(res.status, 200);
  });
});

describe('token routes with malformed Agora credentials', () => {
  let running: RunningApp;
  let user: { token: string };

  before(async () => {
    running = await startApp({ env: { AGORA_APP_ID: 'my-app', AGORA_APP_CERTIFICATE: 'secret' } });
    user = await register(running.baseUrl, 'user');
  });
  after(() => running.close());

  test('minting answers 503 saying what the variables must look like', async () => {
    const res = await call(running.baseUrl, 'GET', `/rtm/${UID}`, { token: user.token });
    assert.equal(res.status, 503);
    assert.match(res.body.detail, /AGORA_APP_ID and AGORA_APP_CERTIFICATE must each be .*32 hexadecimal/);
  });
});
