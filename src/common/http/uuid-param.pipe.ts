import { ArgumentMetadata, Injectable, ParseUUIDPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';

/** A path parameter that must be a UUID: anything else is a 400 INVALID_REQUEST naming it, not a 500. */
@Injectable()
export class UuidParamPipe extends ParseUUIDPipe {
  constructor() {
    super();
  }

  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    try {
      return await super.transform(value, metadata);
    } catch {
      const field = metadata.data ?? 'parameter';
      throw AppError.invalidRequest(`Invalid request: ${field} must be a UUID`, [{ field, code: 'isUuid', message: `${field} must be a UUID` }]);
    }
  }
}
