import { Injectable } from '@nestjs/common';

/**
 * The current time, behind an injectable so tests can hold it still or move it on (a fake
 * overrides `nowMs`, and `now` follows). `nowMs` allocates nothing, for the request path.
 */
@Injectable()
export class Clock {
  nowMs(): number {
    return Date.now();
  }

  now(): Date {
    return new Date(this.nowMs());
  }
}
