import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EMAIL_FORMAT } from '../../common/email-address';

/** The account fields every answer that names a user carries (login, refresh, /users/me). */
export class UserSummaryDto {
  @ApiProperty({ format: 'uuid', example: '6f1c2a9e-3b7d-4e0a-9c51-2d8f4b6a7e10' })
  id: string;

  @ApiProperty({ format: EMAIL_FORMAT, example: 'ada@example.com' })
  email: string;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T12:00:00.000Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2024-01-15T12:00:00.000Z' })
  updated_at: string;
}

@ApiSchema({ name: 'User' })
export class UserProfileResponseDto extends UserSummaryDto {
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2024-01-15T12:05:00.000Z',
    description: 'When the email address was confirmed; null while it is not',
  })
  email_confirmed_at: string | null;
}
