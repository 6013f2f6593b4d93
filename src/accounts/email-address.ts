import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { isEmail, MaxLength, ValidateBy } from 'class-validator';
import { normalizeEmail } from '../common/email-address';

/**
 * What no provider puts in an address, and what would change how a line that quotes one reads:
 * controls, format characters (bidirectional and zero-width marks), line and paragraph separators,
 * and surrogates without their pair (not text, and validator.js's isEmail throws on them).
 */
const NOT_IN_AN_ADDRESS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/**
 * An address as providers issue them, in one form: no quoted local part (RFC 5321 allows one, with
 * `@`, `<` or line breaks inside, which mail software then reads otherwise), and no compatibility
 * form that NFKC folds into another address (fullwidth letters), so that one mailbox is one account.
 */
const IsEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && !NOT_IN_AN_ADDRESS.test(value) && value.normalize('NFKC') === value && isEmail(value, { blacklisted_chars: '"' }),
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
