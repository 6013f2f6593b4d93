import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { AppError } from '../../common/errors/app-error';
import { FieldError } from '../../common/errors/error-codes';
import { assertBodyShape } from '../../common/http/validation.pipe';

const TOKEN_MAX_LENGTH = 4096;
const HINT_MAX_LENGTH = 64;

/** RFC 7662 §2.1's parameters. The class is the contract's schema; `readIntrospectionRequest` enforces it. */
@ApiSchema({ name: 'IntrospectionRequest', description: 'RFC 7662 §2.1, as a form (`token=…`) or as JSON' })
export class IntrospectionRequestDto {
  @ApiProperty({
    description: 'The credential to look at: an access token (JWT) or an API key, as its holder sent it',
    minLength: 1,
    maxLength: TOKEN_MAX_LENGTH,
    example: 'atiru_Ab3xK9mQ2wLp7ZtR4vYc8NhJ5sDf1GkE0oxqpe',
  })
  token: string;

  @ApiPropertyOptional({
    description: 'What the caller thinks the token is (`access_token`, `api_key`); the service finds out itself and reads this as a hint only',
    maxLength: HINT_MAX_LENGTH,
    example: 'api_key',
  })
  token_type_hint?: string;
}

/**
 * The body of an introspection, held to what every other body is held to by the global pipe (an
 * object, no unknown field, typed and bounded fields, one 400 with a list of field errors), by
 * two explicit checks rather than class-transformer and class-validator: introspection is called
 * on every request another service serves, and those libraries cost more than the rest of the
 * handler (decision 014). No body at all is a missing token.
 */
export function readIntrospectionRequest(body: unknown): IntrospectionRequestDto {
  if (body === undefined) body = {};
  assertBodyShape(body);
  const fields = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const name of Object.keys(fields)) {
    if (name !== 'token' && name !== 'token_type_hint') errors.push({ field: name, code: 'unknownField', message: `${name}: property ${name} should not exist` });
  }
  const { token, token_type_hint: hint } = fields;
  checkString(errors, 'token', token, 1, TOKEN_MAX_LENGTH);
  // Optional as class-validator's @IsOptional has it: absent or null.
  if (hint !== undefined && hint !== null) checkString(errors, 'token_type_hint', hint, 0, HINT_MAX_LENGTH);
  if (errors.length > 0) throw AppError.invalidRequest(`Invalid request: ${errors.map((error) => error.message).join('; ')}`, errors);
  return { token: token as string, token_type_hint: typeof hint === 'string' ? hint : undefined };
}

/** The first rule `value` breaks, as the validation pipe words it. */
function checkString(errors: FieldError[], field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'string') errors.push({ field, code: 'isString', message: `${field} must be a string` });
  else if (value.length < min) errors.push({ field, code: 'minLength', message: `${field} must be longer than or equal to ${min} characters` });
  else if (value.length > max) errors.push({ field, code: 'maxLength', message: `${field} must be shorter than or equal to ${max} characters` });
}
