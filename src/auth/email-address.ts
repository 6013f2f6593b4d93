import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, MaxLength } from 'class-validator';

/** Emails are compared and stored trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** An `email` body field: normalised before it is validated, so ` Ada@Example.COM ` is ada@example.com. */
export const EmailField = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty({ format: 'email', maxLength: 320, example: 'ada@example.com', description: 'Compared case-insensitively; stored trimmed and lower-cased' }),
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    IsEmail({}, { message: 'email must be an email address' }),
    MaxLength(320),
  );
