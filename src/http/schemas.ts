import { Type } from 'typebox';
import { ErrorDetail, ValidationErrorBody } from '../contract/rest.js';

/** The error responses a route can give, by status, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, typeof ErrorDetail | typeof ValidationErrorBody> = {};
  for (const status of statuses) out[status] = status === 422 ? ValidationErrorBody : ErrorDetail;
  return out;
}

export const bearerSecurity = [{ bearer: [] }];

/** The answer of a route that answers 204 with no body. */
export const noContent = { 204: Type.Null({ description: 'No Content' }) };
