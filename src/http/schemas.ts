import { Type } from 'typebox';

/** `{detail: "..."}`: every error except request validation. */
export const ErrorDetail = Type.Object({ detail: Type.String() }, { $id: 'ErrorDetail' });

/** FastAPI's 422 body. */
export const ValidationErrorBody = Type.Object(
  {
    detail: Type.Array(
      Type.Object({
        loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        msg: Type.String(),
        type: Type.String(),
      }),
    ),
  },
  { $id: 'ValidationError' },
);

/** A user id: a UUID string, or an integer on a database adopted from the original. */
export const UserIdSchema = Type.Union([Type.String(), Type.Integer()]);

/** The error responses a route can give, by status, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, typeof ErrorDetail | typeof ValidationErrorBody> = {};
  for (const status of statuses) out[status] = status === 422 ? ValidationErrorBody : ErrorDetail;
  return out;
}

export const bearerSecurity = [{ bearer: [] }];
