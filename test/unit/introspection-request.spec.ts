import { AppError } from '../../src/common/errors/app-error';
import { readIntrospectionRequest } from '../../src/introspection/dto/introspection-request.dto';

/** The 400 `readIntrospectionRequest` throws for `body`, as the client reads it. */
function refusal(body: unknown) {
  try {
    readIntrospectionRequest(body);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const { statusCode, code, error: message, errors } = error.toBody('r');
    return { statusCode, code, message, errors };
  }
  throw new Error(`${JSON.stringify(body)} was accepted`);
}

describe('readIntrospectionRequest (the body of POST /auth/introspect)', () => {
  it('takes a token, and a hint when there is one, from a form or from JSON', () => {
    expect(readIntrospectionRequest({ token: 'atiru_x' })).toEqual({ token: 'atiru_x' });
    expect(readIntrospectionRequest({ token: 'a.b.c', token_type_hint: 'access_token' })).toEqual({ token: 'a.b.c', token_type_hint: 'access_token' });
    // Any hint is only a hint: an unknown one, an empty one or null are read as none.
    expect(readIntrospectionRequest({ token: 'x', token_type_hint: 'refresh_token' }).token).toBe('x');
    expect(readIntrospectionRequest({ token: 'x', token_type_hint: '' }).token).toBe('x');
    expect(readIntrospectionRequest({ token: 'x', token_type_hint: null })).toEqual({ token: 'x' });
    expect(readIntrospectionRequest({ token: 't'.repeat(4096) }).token).toHaveLength(4096);
  });

  it('needs a token: a string of 1 to 4096 characters, no body at all being no token', () => {
    for (const body of [undefined, {}, { token: null }, { token: 7 }, { token: ['a'] }, { token: { a: 1 } }, { token_type_hint: 'api_key' }]) {
      expect({ body, ...refusal(body) }).toEqual({
        body,
        statusCode: 400,
        code: 'INVALID_REQUEST',
        message: 'Invalid request: token must be a string',
        errors: [{ field: 'token', code: 'isString', message: 'token must be a string' }],
      });
    }
    expect(refusal({ token: '' }).errors).toEqual([{ field: 'token', code: 'minLength', message: 'token must be longer than or equal to 1 characters' }]);
    expect(refusal({ token: 't'.repeat(4097) }).errors).toEqual([{ field: 'token', code: 'maxLength', message: 'token must be shorter than or equal to 4096 characters' }]);
  });

  it('holds the hint to a string of at most 64 characters', () => {
    expect(refusal({ token: 'x', token_type_hint: 5 }).errors).toEqual([{ field: 'token_type_hint', code: 'isString', message: 'token_type_hint must be a string' }]);
    expect(refusal({ token: 'x', token_type_hint: 'h'.repeat(65) }).errors).toEqual([
      { field: 'token_type_hint', code: 'maxLength', message: 'token_type_hint must be shorter than or equal to 64 characters' },
    ]);
  });

  it('refuses unknown fields, and lists every offending field in one 400', () => {
    expect(refusal({ token: 7, client_id: 'billing', token_type_hint: 6 })).toEqual({
      statusCode: 400,
      code: 'INVALID_REQUEST',
      message: 'Invalid request: client_id: property client_id should not exist; token must be a string; token_type_hint must be a string',
      errors: [
        { field: 'client_id', code: 'unknownField', message: 'client_id: property client_id should not exist' },
        { field: 'token', code: 'isString', message: 'token must be a string' },
        { field: 'token_type_hint', code: 'isString', message: 'token_type_hint must be a string' },
      ],
    });
    // A field a form names `__proto__` is a field like any other, hence unknown.
    const form = JSON.parse('{"token":"x","__proto__":"y"}');
    expect(refusal(form).errors).toEqual([{ field: '__proto__', code: 'unknownField', message: '__proto__: property __proto__ should not exist' }]);
  });

  it('needs an object: not an array, a string or null', () => {
    for (const body of [null, [], ['token'], 'token=x', 7]) {
      expect(refusal(body)).toEqual({ statusCode: 400, code: 'INVALID_REQUEST', message: 'Invalid request: the body must be a JSON object', errors: undefined });
    }
  });
});
