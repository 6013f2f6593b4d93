import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords/password.hasher';

/**
 * Half of a UTF-16 surrogate pair, which is not text: on its way to the hash it becomes U+FFFD, so
 * every other half, and U+FFFD itself, would log in with the same password.
 */
const NO_LONE_SURROGATE = /^\P{Cs}*$/u;

/** A new password: 6 to 256 characters. */
export const NewPasswordField = (): PropertyDecorator =>
  applyDecorators(
    ApiProperty({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, example: 'correct horse battery staple', format: 'password' }),
    IsString(),
    MinLength(PASSWORD_MIN_LENGTH),
    MaxLength(PASSWORD_MAX_LENGTH),
    Matches(NO_LONE_SURROGATE, { message: 'password must be text: it holds half of a UTF-16 surrogate pair' }),
  );
