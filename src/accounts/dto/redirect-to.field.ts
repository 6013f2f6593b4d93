import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { REDIRECT_TO_MAX_LENGTH } from '../redirects/redirect.targets';

/** An optional `redirect_to`; the allow-list check happens in the service, which knows the config. */
export const RedirectToField = (description: string): PropertyDecorator =>
  applyDecorators(
    ApiPropertyOptional({
      format: 'uri',
      maxLength: REDIRECT_TO_MAX_LENGTH,
      // On the default REDIRECT_ALLOW_LIST, so the example works against `npm start` as it is.
      example: 'http://localhost:5173/welcome',
      description: `${description} Must match REDIRECT_ALLOW_LIST (exact origins, or patterns such as https://*.atiru.dev for one subdomain level), else 400 INVALID_REQUEST. Default: the dashboard URL.`,
    }),
    IsOptional(),
    IsString(),
    MaxLength(REDIRECT_TO_MAX_LENGTH),
  );
