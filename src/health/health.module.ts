import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { ServiceLifecycle } from './service.lifecycle';

@Module({ controllers: [HealthController], providers: [HealthService, ServiceLifecycle], exports: [ServiceLifecycle] })
export class HealthModule {}
