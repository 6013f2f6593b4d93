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
  @ApiOperation({
    summary: 'Health, with the database status',
    description:
      'Answers 200 when PostgreSQL answers a query, 503 SERVER_BUSY when it does not: for monitoring, not for a probe that restarts the instance (an outage of the shared database would restart every one). Load balancers ask `/health/ready`.',
  })
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
      'Answers 200 while this instance takes new work, 503 SERVER_BUSY from the moment it begins to stop (SIGTERM or SIGINT). ' +
      "A PostgreSQL outage does not fail it: every instance shares the database, and a load balancer that dropped them all would answer clients its own error instead of this service's 503 SERVER_BUSY with Retry-After. " +
      'It never waits on the database: `database` is `down` while this instance answers 503 for want of it. `/health` asks PostgreSQL.',
  })
  @ApiOkResponse({ description: 'This instance takes new work', type: ReadinessResponseDto })
  @ApiResponse({ status: 503, description: 'SERVER_BUSY: this instance is stopping', type: ErrorResponseDto })
  getReadiness(): ReadinessResponseDto {
    if (!this.lifecycle.serving) throw AppError.serverBusy('This instance is stopping: send new requests to another one');
    return { status: 'ready', database: this.health.isDatabaseKnownDown ? 'down' : 'up' };
  }
}
