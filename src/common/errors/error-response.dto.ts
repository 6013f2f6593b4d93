import { ApiProperty } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode } from './error-codes';

export class ErrorResponseDto {
  @ApiProperty({ description: 'Human-readable message', example: 'Invalid request: email must be an email' })
  error: string;

  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated', example: 400 })
  statusCode: number;

  @ApiProperty({ enum: ERROR_CODES, enumName: 'ErrorCode', example: 'INVALID_REQUEST' })
  code: ErrorCode;
}
