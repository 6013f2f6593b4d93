import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { isUnavailableError } from '../common/errors/error-mapping';
import { describeFailure } from '../common/logging/sql-values';

/**
 * A background loop over a database queue: each tick handles one batch; a full batch suggests more
 * are waiting, so the next tick starts at once, otherwise after the poll interval. A failed tick
 * (typically the database is gone) is logged once per outage and retried on the next one.
 */
export abstract class PollingWorker implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private running = false;
  private failedTicks = 0;

  constructor(
    /** What the log lines call this worker. */
    private readonly description: string,
    private readonly batchSize: number,
    private readonly pollIntervalMs: number,
  ) {}

  /** Handles one batch; answers how many items it took. */
  protected abstract runBatch(): Promise<number>;

  onApplicationBootstrap(): void {
    this.running = true;
    this.schedule(0);
  }

  /** Stops polling and waits for the batch in flight, before the ORM (and any transport) closes. */
  async onModuleDestroy(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tick;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick = this.runTick();
    }, delayMs);
  }

  private async runTick(): Promise<void> {
    let full = false;
    try {
      full = (await this.runBatch()) >= this.batchSize;
      if (this.failedTicks > 0) this.logger.log(`${this.description} recovered after ${this.failedTicks} failed tick(s)`);
      this.failedTicks = 0;
    } catch (error) {
      this.failedTicks++;
      // An outage is one line (its cause, no stack): the requests' side reports it too (DatabaseOutage).
      if (this.failedTicks === 1 && isUnavailableError(error)) {
        this.logger.warn(`${this.description} paused: the database cannot be reached (${describeFailure(error)}); retrying every ${this.pollIntervalMs} ms`);
      } else if (this.failedTicks === 1) this.logger.error(`${this.description} tick failed, retrying every ${this.pollIntervalMs} ms`, error as Error);
      else this.logger.debug(`${this.description} tick failed again (${this.failedTicks}): ${describeFailure(error)}`);
    } finally {
      this.schedule(full ? 0 : this.pollIntervalMs);
    }
  }
}
