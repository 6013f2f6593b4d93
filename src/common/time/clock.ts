import { Injectable } from '@nestjs/common';

/** The current time, behind an injectable so tests can hold it still or move it on. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
