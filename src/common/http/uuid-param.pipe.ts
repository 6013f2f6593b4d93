import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { AppError } from '../errors/app-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Any 8-4-4-4-12 hex string, whatever its version and variant bits: what this service takes for
 * an id. (Nest 12's ParseUUIDPipe also checks those bits, which would turn a lookup of an unknown
 * id into a 400 instead of a 404.)
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** A path parameter that must be a UUID: anything else is a 400 INVALID_REQUEST naming it, not a 500. */
@Injectable()
export class UuidParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (isUuid(value)) return value;
    const field = metadata.data ?? 'parameter';
    throw AppError.invalidRequest(`Invalid request: ${field} must be a UUID`, [{ field, code: 'isUuid', message: `${field} must be a UUID` }]);
  }
}
