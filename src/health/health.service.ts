import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DatabaseOutage } from '../database/database.outage';

const PROBE_TIMEOUT_MS = 2000;

@Injectable()
export class HealthService {
  constructor(
    private readonly em: EntityManager,
    private readonly outage: DatabaseOutage,
  ) {}

  async isDatabaseUp(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    const probe = this.em
      .getConnection()
      .execute('SELECT 1')
      .then(() => true)
      .catch(() => false);
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether this instance is answering 503 for want of the database, known without asking it: an
   * answer that waited on a stalled database would outlast the load balancer's probe timeout.
   */
  get isDatabaseKnownDown(): boolean {
    return this.outage.ongoing;
  }
}
