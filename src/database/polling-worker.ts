import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { isUnavailableError } from '../common/errors/error-mapping';
import { outsideRequest } from '../common/logging/request-context';
import { describeFailure } from '../common/logging/sql-values';

/**
 * A background loop over a database queue: each tick handles one batch; a full batch suggests more
 * are waiting, so the next tick starts at once, otherwise after the poll interval. A failed tick
 * (typically the database is gone) is logged once per outage and retried on the next one.
 * `wake()` starts a tick without waiting for the interval, for code that has just committed work
 * to the queue in this process; the poll still finds what other instances committed.
 */
export abstract class PollingWorker implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private running = false;
  private busy = false;
  private woken = false;
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

  /** Runs a tick now, or right after the one in flight; many calls meanwhile make one tick. */
  wake(): void {
    if (!this.running) return;
    if (this.busy) {
      this.woken = true;
      return;
    }
    clearTimeout(this.timer);
    // The tick is the worker's own, not the work of the request that woke it.
    outsideRequest(() => this.schedule(0));
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.tick = this.runTick();
    }, delayMs);
  }

  private async runTick(): Promise<void> {
    let full = false;
    this.busy = true;
    this.woken = false;
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
      this.busy = false;
      this.schedule(full || (this.woken && this.failedTicks === 0) ? 0 : this.pollIntervalMs);
    }
  }
}
