/**
 * The little SDP handling WHIP and WHEP need: refusing what is not an offer or answer before it
 * costs a Janus handle, and RFC 8840 fragments (`application/trickle-ice-sdpfrag`) for trickle and
 * ICE restarts. Janus parses the SDP itself; this only guards the door.
 */
import { badSdp } from '../contract/errors.js';

/** A candidate as Janus's trickle request takes it. */
export interface TrickleCandidate {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

/** What a trickle PATCH carries. */
export interface SdpFragment {
  ufrag: string | undefined;
  pwd: string | undefined;
  candidates: TrickleCandidate[];
  /** `a=end-of-candidates`: the client gathered everything. */
  complete: boolean;
}

/**
 * Checks that `sdp` looks like a session description with at least one audio or video section,
 * and returns it with CRLF line ends (what Janus and browsers expect). Throws `bad_sdp`.
 */
export function checkSessionDescription(sdp: string, what: 'offer' | 'answer'): string {
  const text = sdp.replace(/\r?\n/g, '\r\n').trim() + '\r\n';
  if (!text.startsWith('v=0\r\n')) throw badSdp(`The body is not an SDP ${what}: it must start with v=0`);
  if (!/^m=(audio|video) /m.test(text)) {
    throw badSdp(`The SDP ${what} has no audio or video section (m=audio or m=video)`);
  }
  if (!/^a=ice-ufrag:/m.test(text) || !/^a=ice-pwd:/m.test(text)) {
    throw badSdp(`The SDP ${what} has no ICE credentials (a=ice-ufrag, a=ice-pwd)`);
  }
  if (!/^a=fingerprint:/m.test(text)) throw badSdp(`The SDP ${what} has no DTLS fingerprint (a=fingerprint)`);
  return text;
}

/** The first `a=ice-ufrag`/`a=ice-pwd` of an SDP or fragment. */
export function iceCredentials(sdp: string): { ufrag: string | undefined; pwd: string | undefined } {
  return {
    ufrag: /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1],
    pwd: /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1],
  };
}

/** Parses an RFC 8840 fragment; throws `bad_sdp` when it holds neither candidates nor credentials. */
export function parseFragment(body: string): SdpFragment {
  const fragment: SdpFragment = { ...iceCredentials(body), candidates: [], complete: false };
  let mid: string | undefined;
  let index = -1;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      index += 1;
      mid = undefined;
    } else if (line.startsWith('a=mid:')) mid = line.slice(6);
    else if (line.startsWith('a=candidate:')) {
      fragment.candidates.push({
        candidate: line.slice(2),
        ...(mid !== undefined ? { sdpMid: mid } : {}),
        sdpMLineIndex: Math.max(0, index),
      });
    } else if (line === 'a=end-of-candidates') fragment.complete = true;
  }
  if (!fragment.candidates.length && !fragment.complete && !fragment.ufrag) {
    throw badSdp('The body is not an SDP fragment: no a=candidate, a=end-of-candidates or a=ice-ufrag');
  }
  if (Boolean(fragment.ufrag) !== Boolean(fragment.pwd)) {
    throw badSdp('An ICE restart needs both a=ice-ufrag and a=ice-pwd');
  }
  return fragment;
}

/** `offer` with its ICE credentials replaced and its candidates dropped: an ICE-restart offer. */
export function restartOffer(offer: string, ufrag: string, pwd: string): string {
  return offer
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .map((line) =>
      line.startsWith('a=ice-ufrag:')
        ? `a=ice-ufrag:${ufrag}`
        : line.startsWith('a=ice-pwd:')
          ? `a=ice-pwd:${pwd}`
          : line,
    )
    .join('\r\n');
}

/**
 * The fragment answering an ICE restart (RFC 9725 §4.4.2): the server's new credentials and
 * candidates, taken from Janus's answer, under its first media section.
 */
export function answerFragment(answer: string): string {
  const { ufrag, pwd } = iceCredentials(answer);
  const lines = answer.split('\r\n');
  const media = lines.find((line) => line.startsWith('m='));
  const mid = lines.find((line) => line.startsWith('a=mid:'));
  const candidates = lines.filter((line) => line.startsWith('a=candidate:'));
  return (
    [
      `a=ice-ufrag:${ufrag ?? ''}`,
      `a=ice-pwd:${pwd ?? ''}`,
      ...(media ? [media] : []),
      ...(mid ? [mid] : []),
      ...candidates,
      'a=end-of-candidates',
    ].join('\r\n') + '\r\n'
  );
}
