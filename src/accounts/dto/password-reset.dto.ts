import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { NewPasswordField } from './password.field';

@ApiSchema({ name: 'PasswordResetRequest' })
export class PasswordResetDto {
  @ApiProperty({ description: 'The token from the reset link (`?token=…`)', example: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A', minLength: 1, maxLength: 512 })
  @MaxLength(512)
  @IsString()
  @IsNotEmpty()
  token: string;

  @NewPasswordField()
  password: string;

  @ApiProperty({
    description:
      'Also revoke every API key of the account, on every instance, in the same transaction: for an owner taking the account back, ' +
      'since keys someone else created while in it outlive their sessions. Left false, keys keep working, and the notice mailed ' +
      'to the owner says how many still do. Default false (not declared as an OpenAPI `default`, which generated clients ' +
      'would turn into a required field).',
    required: false,
    type: Boolean,
  })
  @IsOptional()
  @IsBoolean()
  revoke_api_keys?: boolean;
}
