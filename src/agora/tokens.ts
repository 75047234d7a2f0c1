/**
 * Minting Agora AccessToken2 (`007…`) tokens. Pure functions over Agora's own `agora-token`
 * builders: nothing here knows about HTTP, users or sessions.
 */
import agoraToken from 'agora-token';
import type { RtcRoleName } from '../contract/agora.js';

const { RtcRole, RtcTokenBuilder, RtmTokenBuilder } = agoraToken;

/** The app id and certificate of an Agora project (console → Project → Config). */
export interface AgoraCredentials {
  appId: string;
  appCertificate: string;
}

export interface RtcTokenRequest {
  channelName: string;
  role: RtcRoleName;
  /** A number for tokentype `uid`, a string for tokentype `userAccount`. */
  uid: number | string;
  /** Seconds from now; applies to the token and to every privilege in it. */
  expirySeconds: number;
}

const HEX32 = /^[0-9a-f]{32}$/i;

/**
 * Why these credentials cannot sign tokens, or undefined when they can. Agora's builders
 * silently return an empty string for malformed credentials, so we ask before building.
 */
export function credentialsProblem(credentials: AgoraCredentials): string | undefined {
  if (HEX32.test(credentials.appId) && HEX32.test(credentials.appCertificate)) return undefined;
  return 'AGORA_APP_ID and AGORA_APP_CERTIFICATE must each be the 32 hexadecimal characters shown in the Agora console';
}

/**
 * An RTC token for one channel and one uid (or user account). Publishers get the join, publish
 * audio, publish video and publish data privileges; audience and subscribers only join.
 */
export function rtcToken(credentials: AgoraCredentials, request: RtcTokenRequest): string {
  const role = request.role === 'publisher' ? RtcRole.PUBLISHER : RtcRole.SUBSCRIBER;
  const { appId, appCertificate } = credentials;
  const { channelName, uid, expirySeconds } = request;
  const token =
    typeof uid === 'number'
      ? RtcTokenBuilder.buildTokenWithUid(
          appId,
          appCertificate,
          channelName,
          uid,
          role,
          expirySeconds,
          expirySeconds,
        )
      : RtcTokenBuilder.buildTokenWithUserAccount(
          appId,
          appCertificate,
          channelName,
          uid,
          role,
          expirySeconds,
          expirySeconds,
        );
  return checked(token, credentials);
}

/** An RTM (signaling) login token for one user id. */
export function rtmToken(credentials: AgoraCredentials, userId: string, expirySeconds: number): string {
  return checked(
    RtmTokenBuilder.buildToken(credentials.appId, credentials.appCertificate, userId, expirySeconds),
    credentials,
  );
}

/** Agora's builders answer '' instead of throwing; turn that into an error that says why. */
function checked(token: string, credentials: AgoraCredentials): string {
  if (token) return token;
  throw new Error(credentialsProblem(credentials) ?? 'agora-token built an empty token');
}
