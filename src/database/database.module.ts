import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DatabaseOutage } from './database.outage';
import { ormOptions } from './mikro-orm.options';
import { RetentionWorker } from './retention.worker';

/**
 * The ORM, what every module reports a database outage to (global, as the ORM is), and the worker
 * that deletes rows past their retention.
 */
@Global()
@Module({
  imports: [
    MikroOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      // Contexts are forked explicitly where needed; no per-request middleware on the hot path.
      useFactory: (config: AppConfig) => ({ ...ormOptions(config.database.url, config.database.poolMax, config.database), autoLoadEntities: true, registerRequestContext: false }),
      driver: PostgreSqlDriver,
    }),
  ],
  providers: [DatabaseOutage, RetentionWorker],
  exports: [DatabaseOutage],
})
export class DatabaseModule {}
