import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Authenticator } from '../http/authenticate.js';
import { unauthorized } from '../http/errors.js';
import { bearerSecurity, errorResponses, UserIdSchema } from '../http/schemas.js';
import type { Tokens } from './tokens.js';
import type { Users } from './users.js';

const UserSchema = Type.Object({
  id: UserIdSchema,
  email: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('vendor'), Type.Literal('user')]),
  created_at: Type.String({ format: 'date-time' }),
});

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  user: UserSchema,
});

const RegisterBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  name: Type.String({ minLength: 1, maxLength: 100 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
  role: Type.Optional(Type.Union([Type.Literal('vendor'), Type.Literal('user')], { default: 'user' })),
});

const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ maxLength: 1024 }),
});

export interface AuthRoutesOptions {
  users: Users;
  tokens: Tokens;
  auth: Authenticator;
}

/** `POST /auth/register`, `POST /auth/login`, `GET /me`. */
export const authRoutes: FastifyPluginAsync<AuthRoutesOptions> = async (fastify, { users, tokens, auth }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create an account and sign in',
        body: RegisterBody,
        response: { 200: TokenResponse, ...errorResponses(400, 422) },
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
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: TokenResponse, ...errorResponses(400, 422) },
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
        querystring: Type.Object({ authorization: Type.Optional(Type.String()) }),
        response: { 200: UserSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      const caller = request.caller;
      if (!caller) throw unauthorized();
      const user = await users.findById(caller.userId);
      // A token can outlive its user; such a token no longer authenticates anyone.
      if (!user) throw unauthorized('User no longer exists');
      return user;
    },
  );
};
