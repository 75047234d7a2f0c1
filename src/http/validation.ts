import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { findUnstorableText } from '../db/storable-text.js';

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
  return ({ schema, httpPart }) => {
    if (httpPart !== 'body') return text.compile(schema as object);
    const validate = json.compile(schema as object);
    return storableBody(validate);
  };
}

/**
 * A body validator that also refuses strings PostgreSQL cannot store (NUL, unpaired surrogates):
 * a 422 at the field, in the same list shape as every other validation error, instead of a 500
 * from the database.
 */
function storableBody(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    if (!validate(data)) {
      checked.errors = validate.errors;
      return false;
    }
    const found = findUnstorableText(data);
    if (!found) {
      checked.errors = null;
      return true;
    }
    checked.errors = [
      {
        instancePath: found.path
          .map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`)
          .join(''),
        schemaPath: '#',
        keyword: 'storable',
        params: {},
        message: found.reason,
      },
    ];
    return false;
  }) as ValidateFunction;
  return checked;
}
