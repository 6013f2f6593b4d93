import { Controller, Get, Header, Module } from '@nestjs/common';
import { Authenticated, Public } from '../src/common/auth/auth-policy.decorator';

const BODY = '{"ok":true}';

/**
 * Two routes the product does not have, alike but for the guard: what the guard costs a route
 * is the rate of `guarded` (with a credential seen before) against `open`.
 */
@Controller('bench-probe')
class ProbeController {
  @Get('guarded')
  @Authenticated()
  @Header('Content-Type', 'application/json; charset=utf-8')
  guarded(): string {
    return BODY;
  }

  @Get('open')
  @Public()
  @Header('Content-Type', 'application/json; charset=utf-8')
  open(): string {
    return BODY;
  }
}

@Module({ controllers: [ProbeController] })
export class BenchProbeModule {}
