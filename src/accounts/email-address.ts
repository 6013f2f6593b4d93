import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { isEmail, MaxLength, ValidateBy } from 'class-validator';
import { normalizeEmail } from '../common/email-address';

/** A UTF-16 surrogate without its pair: not text, and validator.js's isEmail throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const IsEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value) && isEmail(value),
      defaultMessage: () => 'email must be an email address',
    },
  });

/** An `email` body field: normalised before it is validated, so ` Ada@Example.COM ` is ada@example.com. */
export const EmailField = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty({ format: 'email', maxLength: 320, example: 'ada@example.com', description: 'Compared case-insensitively; stored trimmed and lower-cased' }),
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    IsEmailAddress(),
    MaxLength(320),
  );
