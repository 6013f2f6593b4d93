import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiResponse, ApiSchema, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/auth-policy.decorator';
import { AppError } from '../common/errors/app-error';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { HealthService } from './health.service';

@ApiSchema({ name: 'Health' })
export class HealthResponseDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status: 'ok';

  @ApiProperty({ enum: ['up'], example: 'up', description: 'PostgreSQL answered a query' })
  database: 'up';
}

@ApiTags('service')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness and readiness', description: 'Answers 200 when PostgreSQL answers a query, 503 SERVER_BUSY when it does not.' })
  @ApiOkResponse({ description: 'The service is up and PostgreSQL answered', type: HealthResponseDto })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
  async getHealth(): Promise<HealthResponseDto> {
    if (!(await this.health.isDatabaseUp())) throw AppError.serverBusy('The database is unavailable');
    return { status: 'ok', database: 'up' };
  }
}
