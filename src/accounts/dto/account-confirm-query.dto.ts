import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class AccountConfirmQueryDto {
  @ApiProperty({ description: 'The token from the confirmation email', example: 'q3XbM0Qn1vYc8f2c7w1tU8QbV7z3l0eP9m4sKf6hR2A', minLength: 1, maxLength: 512 })
  @MaxLength(512)
  @IsString()
  @IsNotEmpty()
  token: string;
}
