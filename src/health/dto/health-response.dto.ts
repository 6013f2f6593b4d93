import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Health' })
export class HealthResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status: 'ok';

  @ApiProperty({ enum: ['up'], example: 'up', description: 'PostgreSQL answered a query' })
  database: 'up';
}

@ApiSchema({ name: 'Readiness' })
export class ReadinessResponseDto {
  @ApiProperty({ enum: ['ready'], example: 'ready' })
  status: 'ready';

  @ApiProperty({
    enum: ['up', 'down'],
    example: 'up',
    description: '`down` from the first request this instance answered 503 SERVER_BUSY for want of PostgreSQL until a probe reaches it again (the `atiru_database_outage` metric)',
  })
  database: 'up' | 'down';
}
