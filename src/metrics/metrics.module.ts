import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuthModule } from '../auth/auth.module';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { MetricsGauges } from './metrics.gauges';
import { MetricsServer } from './metrics.server';
import { MetricsService } from './metrics.service';

/** Prometheus metrics on a listener of their own; see docs/operations.md for what they mean. */
@Module({
  imports: [ApiKeysModule, AuthModule, MailModule, UsersModule],
  providers: [MetricsService, MetricsGauges, MetricsServer],
  exports: [MetricsService],
})
export class MetricsModule {}
