import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../../config.js';
import type { Caller } from '../../auth/authenticator.js';
import { requireChannelPublisher } from '../../agora/publishing.js';
import { invalid, unavailable } from '../../contract/errors.js';
import type { Sessions } from '../../live/sessions.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses } from '../schemas.js';
import { credentialsProblem, rtcToken, rtmToken, type AgoraCredentials } from '../../agora/tokens.js';
import {
  AGORA_NAME_RULE,
  MAX_RTM_USER_LENGTH,
  MAX_UID,
  PongSchema,
  RTC_ROLES,
  RtcParams,
  RtcTokenSchema,
  RteTokensSchema,
  RtmParams,
  RtmTokenSchema,
  TOKEN_TYPES,
  TokenQuery,
  type TokenType,
} from '../../contract/agora.js';

export interface AgoraRoutesOptions {
  /** undefined when AGORA_APP_ID / AGORA_APP_CERTIFICATE are unset: token routes answer 503. */
  agora: Config['agora'];
  auth: RouteAuth;
  sessions: Sessions;
}

/**
 * Ajv says only "must be equal to one of the allowed values" or "must match pattern …"; these say
 * what is allowed, in FastAPI's words (errors.ts prefixes them with "Input").
 */
const FIELD_RULES: Record<string, string> = {
  role: `should be ${oneOf(RTC_ROLES)}`,
  tokentype: `should be ${oneOf(TOKEN_TYPES)}`,
  channelName: `should use only ${AGORA_NAME_RULE}`,
  uid: `should use only ${AGORA_NAME_RULE}`,
};

/**
 * Agora tokens for the Web SDK demos, in the URL convention of Agora's community token server:
 * `/rtc/…` → `{rtcToken}`, `/rtm/…` → `{rtmToken}`, `/rte/…` → both, `/ping` → `{message}`.
 * Minting needs a signed-in user; a publisher token only goes to the vendor of the live session
 * whose id is the channel name, so nobody else can broadcast into a vendor's channel.
 */
export const agoraRoutes: FastifyPluginAsync<AgoraRoutesOptions> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { auth, sessions } = options;

  app.setSchemaErrorFormatter((errors, dataVar) => {
    for (const error of errors) {
      const field = error.instancePath.split('/').pop() ?? '';
      const rule = FIELD_RULES[field];
      if (rule && (error.keyword === 'enum' || error.keyword === 'pattern')) error.message = rule;
    }
    return new Error(`${dataVar} ${errors[0]?.message ?? 'is invalid'}`);
  });

  const problem = options.agora
    ? credentialsProblem(options.agora)
    : 'Agora is not configured: set AGORA_APP_ID and AGORA_APP_CERTIFICATE (from the Agora console) and restart';
  // Unset is a normal choice (the routes say so with 503); set but malformed is a mistake.
  if (options.agora && problem) app.log.warn(`Agora token routes disabled: ${problem}`);
  const credentials: AgoraCredentials | undefined = problem ? undefined : options.agora;

  /** The credentials, or a 503 that names the variables to set. */
  const configured = (): AgoraCredentials => {
    if (!credentials) throw unavailable(problem ?? 'Agora is not configured');
    return credentials;
  };

  /** Refused before authentication and validation: nothing a client sends can help. */
  const requireAgora = async (): Promise<void> => {
    configured();
  };

  /** The RTC token the caller asked for, once they may have it. */
  const mintRtc = async (caller: Caller, params: RtcParams, uid: number | string, expirySeconds: number) => {
    if (params.role === 'publisher') await requireSessionVendor(caller, params.channelName);
    return rtcToken(configured(), { channelName: params.channelName, role: params.role, uid, expirySeconds });
  };

  /** Only the vendor of the live session named by the channel may publish into it. */
  const requireSessionVendor = async (caller: Caller, channelName: string): Promise<void> => {
    requireChannelPublisher(await sessions.find(channelName), channelName, caller.userId);
  };

  app.get(
    '/ping',
    {
      schema: {
        tags: ['agora'],
        summary: 'Liveness check of the token routes',
        response: { 200: PongSchema },
      },
    },
    async () => ({ message: 'pong' as const }),
  );

  app.get(
    '/rtc/:channelName/:role/:tokentype/:uid',
    {
      onRequest: requireAgora,
      preHandler: auth.requireUser,
      schema: {
        tags: ['agora'],
        summary: 'An Agora RTC token for one channel and uid',
        security: bearerSecurity,
        params: RtcParams,
        querystring: TokenQuery,
        response: { 200: RtcTokenSchema, ...errorResponses(401, 403, 422, 503) },
      },
    },
    async (request) => {
      const { params, query } = request;
      const uid = rtcUid(params.tokentype, params.uid);
      return { rtcToken: await mintRtc(callerOf(request), params, uid, query.expiry) };
    },
  );

  app.get(
    '/rtm/:uid',
    {
      onRequest: requireAgora,
      preHandler: auth.requireUser,
      schema: {
        tags: ['agora'],
        summary: 'An Agora RTM (signaling) login token for one user id',
        security: bearerSecurity,
        params: RtmParams,
        querystring: TokenQuery,
        response: { 200: RtmTokenSchema, ...errorResponses(401, 422, 503) },
      },
    },
    async (request) => {
      callerOf(request);
      return { rtmToken: rtmToken(configured(), request.params.uid, request.query.expiry) };
    },
  );

  app.get(
    '/rte/:channelName/:role/:tokentype/:uid',
    {
      onRequest: requireAgora,
      preHandler: auth.requireUser,
      schema: {
        tags: ['agora'],
        summary: 'An RTC token and an RTM token for the same uid',
        description: `The RTM user id is the uid as a string, so it must be at most ${MAX_RTM_USER_LENGTH} characters.`,
        security: bearerSecurity,
        params: RtcParams,
        querystring: TokenQuery,
        response: {
          200: RteTokensSchema,
          ...errorResponses(401, 403, 422, 503),
        },
      },
    },
    async (request) => {
      const { params, query } = request;
      const uid = rtcUid(params.tokentype, params.uid);
      const rtmUserId = String(uid);
      if (rtmUserId.length > MAX_RTM_USER_LENGTH) {
        throw invalid(
          ['path', 'uid'],
          `uid is also the RTM user id here, so it should have at most ${MAX_RTM_USER_LENGTH} characters`,
          'string_too_long',
        );
      }
      const rtc = await mintRtc(callerOf(request), params, uid, query.expiry);
      return { rtcToken: rtc, rtmToken: rtmToken(configured(), rtmUserId, query.expiry) };
    },
  );
};

/** The uid as Agora's builders want it: a number for tokentype uid, the string for userAccount. */
function rtcUid(tokentype: TokenType, raw: string): number | string {
  if (tokentype === 'userAccount') return raw;
  const uid = Number(raw);
  if (!/^\d{1,10}$/.test(raw) || uid > MAX_UID) {
    throw invalid(
      ['path', 'uid'],
      `uid should be a whole number from 0 to ${MAX_UID} when tokentype is uid (got "${raw}"); use tokentype userAccount for a string`,
    );
  }
  return uid;
}

/** `'a', 'b' or 'c'`, as FastAPI lists the values of an enum. */
function oneOf(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? '');
}
