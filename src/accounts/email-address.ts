import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { isEmail, MaxLength, ValidateBy } from 'class-validator';
import { EMAIL_FORMAT, normalizeEmail } from '../common/email-address';

/** A UTF-16 surrogate without its pair: not text, and validator.js's isEmail throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What no provider puts in an address, and what would change how a line that quotes one reads:
 * controls, format characters (bidirectional and zero-width marks) but the joiners that Persian
 * and Indic words need (U+200C, U+200D), line and paragraph separators, unpaired surrogates.
 */
const NOT_IN_A_NEW_ADDRESS = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]|(?![\u200C\u200D])\p{Cf}/u;

/** An address to look an account up by: anything that may have been stored, so that no account is locked out of its login or its reset. */
const IsEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value) && isEmail(value),
      defaultMessage: () => 'email must be an email address',
    },
  });

/**
 * A new address, as providers issue them and in one form: no quoted local part (RFC 5321 allows
 * one, with `@`, `<` or line breaks inside, which mail software then reads otherwise), nothing of
 * NOT_IN_A_NEW_ADDRESS, composed (NFC, which the field applies first) and with no compatibility
 * form that NFKC folds into another address (fullwidth letters), so that one mailbox is one account.
 */
const IsNewEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && !NOT_IN_A_NEW_ADDRESS.test(value) && value.normalize('NFKC') === value && isEmail(value, { blacklisted_chars: '"' }),
      defaultMessage: () => 'email must be an email address',
    },
  });

const EMAIL_PROPERTY = { format: EMAIL_FORMAT, maxLength: 320, example: 'ada@example.com', description: 'Compared case-insensitively; stored trimmed and lower-cased, an internationalised domain in Unicode form (its punycode is the same address)' } as const;

/** An `email` body field that names an account (login, resend, forgot): normalised before it is validated, so ` Ada@Example.COM ` is ada@example.com. */
export const EmailField = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty(EMAIL_PROPERTY),
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    IsEmailAddress(),
    MaxLength(320),
  );

/** The `email` of a registration: normalised, composed (a decomposed accent is the same address), then held to IsNewEmailAddress. */
export const NewEmailField = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty(EMAIL_PROPERTY),
    Transform(({ value }) => (typeof value === 'string' ? normalizeEmail(value).normalize('NFC') : value)),
    IsNewEmailAddress(),
    MaxLength(320),
  );
