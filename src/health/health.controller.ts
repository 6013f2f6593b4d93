import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/auth-policy.decorator';
import { AppError } from '../common/errors/app-error';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { HealthResponseDto, ReadinessResponseDto } from './dto/health-response.dto';
import { HealthService } from './health.service';
import { ServiceLifecycle } from './service.lifecycle';

@ApiTags('service')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly lifecycle: ServiceLifecycle,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness', description: 'Answers 200 when PostgreSQL answers a query, 503 SERVER_BUSY when it does not. Load balancers ask `/health/ready`.' })
  @ApiOkResponse({ description: 'The service is up and PostgreSQL answered', type: HealthResponseDto })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: the database is unavailable', type: ErrorResponseDto })
  async getHealth(): Promise<HealthResponseDto> {
    if (!(await this.health.isDatabaseUp())) throw AppError.serverBusy('The database is unavailable');
    return { status: 'ok', database: 'up' };
  }

  @Get('ready')
  @Public()
  @ApiOperation({
    summary: 'Readiness, for load balancers',
    description:
      'Answers 200 while this instance takes new work and PostgreSQL answers; 503 SERVER_BUSY from the moment it begins to stop (SIGTERM or SIGINT), or while the database is unavailable. `/health` answers for liveness.',
  })
  @ApiOkResponse({ description: 'This instance takes new work', type: ReadinessResponseDto })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: this instance is stopping, or the database is unavailable', type: ErrorResponseDto })
  async getReadiness(): Promise<ReadinessResponseDto> {
    if (!this.lifecycle.serving) throw AppError.serverBusy('This instance is stopping: send new requests to another one');
    if (!(await this.health.isDatabaseUp())) throw AppError.serverBusy('The database is unavailable');
    return { status: 'ready', database: 'up' };
  }
}
