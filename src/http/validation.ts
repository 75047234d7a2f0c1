import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = {
  useDefaults: true,
  removeAdditional: false,
  addUsedSchema: false,
  // One error per request: allErrors lets a crafted body make validation expensive.
  allErrors: false,
};

/**
 * Validation as the original FastAPI service did it: query strings, path parameters and headers
 * are text, so `?limit=5` becomes the integer 5; JSON bodies are checked strictly, so
 * `{"message": 5}` is a 422 rather than the string "5".
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const text = addFormats.default(new Ajv({ ...common, coerceTypes: 'array' }));
  const json = addFormats.default(new Ajv({ ...common, coerceTypes: false }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema as object);
}
