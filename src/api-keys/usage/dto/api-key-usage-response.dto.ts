import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'ApiKeyUsageDay', description: 'The requests made with a key on one UTC day' })
export class ApiKeyUsageDayDto {
  @ApiProperty({ format: 'date', description: 'The UTC day', example: '2024-01-15' })
  day: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Requests the key was let through on', example: 1520 })
  succeeded: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Requests with the valid key that were refused: over a rate limit, or an operation the key may not call', example: 3 })
  refused: number;
}

@ApiSchema({ name: 'ApiKeyUsage', description: "A key's last use and its requests per day, as written by the last flush (at most API_KEY_LAST_USED_INTERVAL_SECONDS old)" })
export class ApiKeyUsageResponseDto {
  @ApiProperty({ format: 'uuid', example: '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32' })
  id: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Null: never used', example: '2024-01-16T08:30:00.000Z' })
  last_used_at: string | null;

  @ApiProperty({ type: String, nullable: true, maxLength: 64, description: 'The client address of the last use (behind TRUST_PROXY, the forwarded one)', example: '203.0.113.7' })
  last_used_ip: string | null;

  @ApiProperty({ type: String, nullable: true, maxLength: 512, description: 'The User-Agent of the last use', example: 'deploy-bot/2.1' })
  last_used_user_agent: string | null;

  @ApiProperty({ format: 'date', description: 'The first UTC day the counts cover (89 days before today)', example: '2023-10-18' })
  since: string;

  @ApiProperty({ type: [ApiKeyUsageDayDto], description: 'One entry per day with at least one request, oldest first; days without requests are left out' })
  days: ApiKeyUsageDayDto[];
}
