import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';

/** No DTO nests this deep; class-transformer recurses, so a deeper body would overflow the stack. */
const MAX_BODY_DEPTH = 32;

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) =>
      // class-validator starts its messages with the property; name the full path instead.
      text.startsWith(`${error.property} `) ? `${path} ${text.slice(error.property.length + 1)}` : `${path}: ${text}`,
    );
    return [...own, ...describe(error.children ?? [], path)];
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

/** A JSON body bound to a DTO must be an object of bounded depth before class-transformer sees it. */
class ContractValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw AppError.invalidRequest('Invalid request: the body must be a JSON object');
      if (nestedDeeperThan(value, MAX_BODY_DEPTH)) throw AppError.invalidRequest('Invalid request: the body is nested too deeply');
    }
    return super.transform(value, metadata);
  }
}

/** Validates DTOs, rejects unknown fields, and reports every offending field in `error`. */
export function createValidationPipe(): ValidationPipe {
  return new ContractValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => AppError.invalidRequest(`Invalid request: ${describe(errors).join('; ')}`),
  });
}
