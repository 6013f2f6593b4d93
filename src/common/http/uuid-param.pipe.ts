import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { AppError } from '../errors/app-error';

// Any 8-4-4-4-12 hex string, whatever its version and variant bits: what the routes have always
// accepted (Nest 12's ParseUUIDPipe also checks those bits, which would turn a lookup of an
// unknown id into a 400 instead of a 404).
const UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/i;

/** A path parameter that must be a UUID: anything else is a 400 INVALID_REQUEST naming it, not a 500. */
@Injectable()
export class UuidParamPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && UUID.test(value)) return value;
    const field = metadata.data ?? 'parameter';
    throw AppError.invalidRequest(`Invalid request: ${field} must be a UUID`, [{ field, code: 'isUuid', message: `${field} must be a UUID` }]);
  }
}
