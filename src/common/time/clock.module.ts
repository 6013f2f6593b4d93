import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock } from './clock';

/** One clock for the whole application, so a test that moves time moves it everywhere at once. */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = new Clock()): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}
