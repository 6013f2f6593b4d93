import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidatorOptions } from 'class-validator';
import { AppError } from '../errors/app-error';
import { FieldError } from '../errors/error-codes';

/** No DTO nests this deep; class-transformer recurses, so a deeper body would overflow the stack. */
const MAX_BODY_DEPTH = 32;

/** class-validator names an unknown field's rule `whitelistValidation`; a client reads this better. */
const RULE_NAMES: Record<string, string> = { whitelistValidation: 'unknownField' };

/** Every failed rule of every field, nested ones by their full path. */
function fieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, text]) => ({
      field: path,
      code: RULE_NAMES[rule] ?? rule,
      // class-validator starts its messages with the property; name the full path instead.
      message: text.startsWith(`${error.property} `) ? `${path} ${text.slice(error.property.length + 1)}` : `${path}: ${text}`,
    }));
    return [...own, ...fieldErrors(error.children ?? [], path)];
  });
}

/** Walks without recursion, so the check itself cannot overflow. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A body bound to a DTO must be an object of bounded depth before class-transformer (or a route's own check) sees it. */
export function assertBodyShape(value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw AppError.invalidRequest('Invalid request: the body must be a JSON object');
  if (nestedDeeperThan(value, MAX_BODY_DEPTH)) throw AppError.invalidRequest('Invalid request: the body is nested too deeply');
}

const BODY_MAY_BE_EMPTY = 'atiru:body-may-be-empty';

/** On a request DTO whose fields are all optional: no body at all reads as `{}` rather than a 400. */
export const BodyMayBeEmpty = (): ClassDecorator => (target) => Reflect.defineMetadata(BODY_MAY_BE_EMPTY, true, target);

/** The global pipe, holding every body to `assertBodyShape` first. */
class ContractValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      if (value === undefined && Reflect.getMetadata(BODY_MAY_BE_EMPTY, metadata.metatype) === true) value = {};
      assertBodyShape(value);
    }
    return super.transform(value, metadata);
  }
}

/** The rules every request DTO is held to. */
const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  stopAtFirstError: true,
  validationError: { target: false, value: false },
};

function invalidRequest(errors: ValidationError[]): AppError {
  const fields = fieldErrors(errors);
  return AppError.invalidRequest(`Invalid request: ${fields.map((field) => field.message).join('; ')}`, fields);
}

/** Validates DTOs, rejects unknown fields, and reports every offending field in `error` and in `errors`. */
export function createValidationPipe(): ValidationPipe {
  return new ContractValidationPipe({ transform: true, ...VALIDATOR_OPTIONS, exceptionFactory: invalidRequest });
}
