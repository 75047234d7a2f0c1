/**
 * The Agora token routes on the wire (`/ping`, `/rtc/…`, `/rtm/…`, `/rte/…`), in the URL
 * convention of Agora's community token server: their parameters, queries and answers.
 */
import { Type, type Static } from 'typebox';

/**
 * Roles in the convention of Agora's community token server. `audience` and `subscriber` are the
 * same thing: join the channel and receive; only `publisher` may send audio, video and data.
 */
export const RTC_ROLES = ['publisher', 'audience', 'subscriber'] as const;
export type RtcRoleName = (typeof RTC_ROLES)[number];

/** `uid`: a numeric Agora uid; `userAccount`: a string account that Agora maps to a uid. */
export const TOKEN_TYPES = ['uid', 'userAccount'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

export const DEFAULT_EXPIRY_SECONDS = 3600;
/** Agora refuses tokens that live longer than 24 hours. */
export const MAX_EXPIRY_SECONDS = 86_400;
/** Agora uids are unsigned 32-bit integers; 0 means "any uid" (the SDK picks one on join). */
export const MAX_UID = 0xffff_ffff;

/** The characters Agora accepts in channel names, user accounts and RTM user ids. */
const AGORA_NAME = '^[a-zA-Z0-9 !#$%&()+\\-:;<=.>?@\\[\\]^_{|}~,]+$';
export const AGORA_NAME_RULE = 'letters, digits, space and !#$%&()+-:;<=.>?@[]^_{|}~,';
const MAX_CHANNEL_LENGTH = 64;
const MAX_ACCOUNT_LENGTH = 255;
export const MAX_RTM_USER_LENGTH = 64;

const ChannelName = Type.String({
  minLength: 1,
  maxLength: MAX_CHANNEL_LENGTH,
  pattern: AGORA_NAME,
  description: `The Agora channel. For role publisher it must be the id of your live session. ${AGORA_NAME_RULE}`,
});
const Role = Type.Enum([...RTC_ROLES], {
  description: 'publisher may send audio and video; audience and subscriber only join and receive',
});
const TokenTypeParam = Type.Enum([...TOKEN_TYPES], {
  description: 'uid: a number from 0 to 4294967295 (0: any); userAccount: a string account',
});
const RtcUid = Type.String({
  minLength: 1,
  maxLength: MAX_ACCOUNT_LENGTH,
  pattern: AGORA_NAME,
  description: 'The Agora uid (tokentype uid) or user account (tokentype userAccount)',
});
const RtmUid = Type.String({
  minLength: 1,
  maxLength: MAX_RTM_USER_LENGTH,
  pattern: AGORA_NAME,
  description: `The RTM user id, up to ${MAX_RTM_USER_LENGTH} characters: ${AGORA_NAME_RULE}`,
});

/** `?expiry=` (seconds) and, when no header can be sent, `?authorization=`. */
export const TokenQuery = Type.Object({
  expiry: Type.Integer({
    minimum: 1,
    maximum: MAX_EXPIRY_SECONDS,
    default: DEFAULT_EXPIRY_SECONDS,
    description: 'Seconds until the token and its privileges expire',
  }),
  authorization: Type.Optional(Type.String({ description: '`Bearer <JWT>`, when no header can be sent' })),
});

/** `/rtc/:channelName/:role/:tokentype/:uid` and `/rte/…` */
export const RtcParams = Type.Object({
  channelName: ChannelName,
  role: Role,
  tokentype: TokenTypeParam,
  uid: RtcUid,
});
export type RtcParams = Static<typeof RtcParams>;

/** `/rtm/:uid` */
export const RtmParams = Type.Object({ uid: RtmUid });

export const PongSchema = Type.Object({ message: Type.Literal('pong') });
export const RtcTokenSchema = Type.Object({ rtcToken: Type.String() });
export const RtmTokenSchema = Type.Object({ rtmToken: Type.String() });
export const RteTokensSchema = Type.Object({ rtcToken: Type.String(), rtmToken: Type.String() });
