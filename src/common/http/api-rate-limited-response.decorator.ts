import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';

/** Documents a `429 RATE_LIMITED` answer and the headers it carries (the contract requires `Retry-After`). */
export const ApiRateLimitedResponse = (description: string): MethodDecorator & ClassDecorator =>
  ApiResponse({
    status: 429,
    description: `RATE_LIMITED: ${description}; retry after \`Retry-After\` seconds`,
    type: ErrorResponseDto,
    headers: {
      'Retry-After': { description: 'Seconds until the limit resets', required: true, schema: { type: 'integer' } },
      'RateLimit-Limit': { description: 'Requests allowed in the window', schema: { type: 'integer' } },
      'RateLimit-Remaining': { description: 'Requests left in the window', schema: { type: 'integer' } },
      'RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
    },
  });
