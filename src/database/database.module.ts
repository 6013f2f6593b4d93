import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ormOptions } from './mikro-orm.options';

@Module({
  imports: [
    MikroOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      // Contexts are forked explicitly where needed; no per-request middleware on the hot path.
      useFactory: (config: AppConfig) => ({ ...ormOptions(config.database.url, config.database.poolMax), autoLoadEntities: true, registerRequestContext: false }),
      driver: PostgreSqlDriver,
    }),
  ],
})
export class DatabaseModule {}
