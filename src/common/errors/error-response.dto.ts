import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from './error-codes';

@ApiSchema({ name: 'FieldError', description: 'One field a validation error names' })
export class FieldErrorDto {
  @ApiProperty({ description: 'The field, `.`-separated when nested', example: 'email' })
  field: string;

  @ApiProperty({ description: 'The rule that failed, e.g. `isEmail`, `minLength`, `maxLength`, `isString`, `unknownField`', example: 'isEmail' })
  code: string;

  @ApiProperty({ description: 'What to tell a person', example: 'email must be an email' })
  message: string;
}

@ApiSchema({ name: 'Error', description: 'The body of every error response. Programs act on `code`; `error` is for people.' })
export class ErrorResponseDto {
  @ApiProperty({ description: 'Human-readable message' })
  error: string;

  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated' })
  statusCode: number;

  @ApiProperty({ enum: ERROR_CODES, enumName: 'ErrorCode', description: 'What went wrong, for programs; each status has its own codes' })
  code: ErrorCode;

  @ApiProperty({ description: 'The id of the request, as in the `X-Request-Id` response header: quote it when reporting a problem' })
  request_id: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Validation errors (400 INVALID_REQUEST) only: every offending field' })
  errors?: FieldErrorDto[];
}
