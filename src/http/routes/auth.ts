import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { unauthorized } from '../../contract/errors.js';
import { AuthQuery, LoginBody, RegisterBody, TokenResponseSchema, UserSchema } from '../../contract/rest.js';
import type { Tokens } from '../../auth/tokens.js';
import type { Users } from '../../auth/users.js';
import { callerOf, type RouteAuth } from '../authenticate.js';
import { bearerSecurity, errorResponses } from '../schemas.js';

export interface AuthRoutesOptions {
  users: Users;
  tokens: Tokens;
  auth: RouteAuth;
}

/** `POST /auth/register`, `POST /auth/login`, `GET /me`. */
export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (fastify, { users, tokens, auth }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/auth/register',
    {
      config: { limits: ['auth-ip', 'auth-email'] },
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: RegisterBody,
        response: { 200: TokenResponseSchema, ...errorResponses(400, 422) },
      },
    },
    async (request) => {
      const user = await users.register({ ...request.body, role: request.body.role ?? 'user' });
      return { access_token: await tokens.issue(user), token_type: 'bearer' as const, user };
    },
  );

  app.post(
    '/auth/login',
    {
      config: { limits: ['auth-ip', 'auth-email'] },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: TokenResponseSchema, ...errorResponses(400, 422) },
      },
    },
    async (request) => {
      const user = await users.login(request.body.email, request.body.password);
      return { access_token: await tokens.issue(user), token_type: 'bearer' as const, user };
    },
  );

  app.get(
    '/me',
    {
      preHandler: auth.requireUser,
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user',
        security: bearerSecurity,
        querystring: AuthQuery,
        response: { 200: UserSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const user = await users.profile(callerOf(request).userId);
      // A token can outlive its user; such a token no longer authenticates anyone.
      if (!user) throw unauthorized('User no longer exists');
      return user;
    },
  );
};
