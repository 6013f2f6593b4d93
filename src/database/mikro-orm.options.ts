import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, Options } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { migrationsList } from './migrations';

const ormLogger = new Logger('MikroORM');

/**
 * MikroORM settings shared by the service and the migration command. Entities are registered
 * by each feature module (`MikroOrmModule.forFeature`) and loaded automatically, so this file
 * knows no feature.
 */
export function ormOptions(url: string, poolMax = 10): Options {
  return defineConfig({
    clientUrl: url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 5000, idleTimeoutMillis: 30_000 },
    driverOptions: { connection: { connectionTimeoutMillis: 3000 } },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: false,
    logger: (message) => ormLogger.debug(message),
  });
}
