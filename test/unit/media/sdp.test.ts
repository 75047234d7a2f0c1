import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainError } from '../../../src/contract/errors.js';
import {
  answerFragment,
  checkSessionDescription,
  iceCredentials,
  parseFragment,
  restartOffer,
} from '../../../src/media/sdp.js';

const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789012345678901',
  'a=fingerprint:sha-256 AA:BB',
  'a=candidate:1 1 udp 2113937151 10.0.0.2 5000 typ host',
  'a=end-of-candidates',
].join('\n');

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'bad_sdp');
    return error.detail;
  }
  assert.fail('expected bad_sdp');
};

describe('SDP at the WHIP/WHEP door', () => {
  test('an offer is accepted with its line ends made CRLF', () => {
    const checked = checkSessionDescription(OFFER, 'offer');
    assert.ok(checked.startsWith('v=0\r\n'));
    assert.ok(!/[^\r]\n/.test(checked));
  });

  test('text that is not SDP, or SDP without media, ICE or DTLS, is refused with words saying why', () => {
    assert.match(
      refusal(() => checkSessionDescription('hello', 'offer')),
      /start with v=0/,
    );
    assert.match(
      refusal(() => checkSessionDescription('v=0\ns=-\n', 'offer')),
      /no audio or video/,
    );
    assert.match(
      refusal(() => checkSessionDescription(OFFER.replace(/a=ice-pwd:.*\n/, ''), 'answer')),
      /ICE credentials/,
    );
    assert.match(
      refusal(() => checkSessionDescription(OFFER.replace(/a=fingerprint:.*\n/, ''), 'offer')),
      /fingerprint/,
    );
  });

  test('a trickle fragment yields its candidates with their mid and index, and end-of-candidates', () => {
    const fragment = parseFragment(
      'a=ice-ufrag:abcd\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\na=end-of-candidates\r\n',
    );
    assert.deepEqual(fragment.candidates, [
      { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    ]);
    assert.equal(fragment.complete, true);
    assert.equal(fragment.ufrag, 'abcd');
  });

  test('an empty fragment, or one with a ufrag but no pwd, is refused', () => {
    assert.match(
      refusal(() => parseFragment('nothing here')),
      /not an SDP fragment/,
    );
    assert.match(
      refusal(() => parseFragment('a=ice-ufrag:x\r\n')),
      /both a=ice-ufrag and a=ice-pwd/,
    );
  });

  test('an ICE-restart offer carries the new credentials and none of the old candidates', () => {
    const restarted = restartOffer(checkSessionDescription(OFFER, 'offer'), 'new', 'newpwd');
    assert.deepEqual(iceCredentials(restarted), { ufrag: 'new', pwd: 'newpwd' });
    assert.ok(!restarted.includes('a=candidate:'));
  });

  test("the restart's answer fragment holds the server's credentials, media line, mid and candidates", () => {
    const fragment = answerFragment(checkSessionDescription(OFFER, 'answer'));
    assert.deepEqual(fragment.split('\r\n').slice(0, 5), [
      'a=ice-ufrag:abcd',
      'a=ice-pwd:0123456789012345678901',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:0',
      'a=candidate:1 1 udp 2113937151 10.0.0.2 5000 typ host',
    ]);
    assert.ok(fragment.endsWith('a=end-of-candidates\r\n'));
  });
});
