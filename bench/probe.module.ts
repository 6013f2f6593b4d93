import { Controller, Get, Header, HttpCode, Module, Post } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { Authenticated, Public } from '../src/common/auth/auth-policy.decorator';
import { ACCEPTS_FORM } from '../src/common/http/body-parsers';

const BODY = '{"ok":true}';

/**
 * Routes the product does not have. `guarded` and `open` are alike but for the guard: what the
 * guard costs a route is the rate of `guarded` (with a credential seen before) against `open`.
 * `form` reads a form POST as introspection does and answers without looking at it: the floor
 * under any form route of the service, which introspection's figure is read against.
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

  @Post('form')
  @Public()
  @HttpCode(200)
  @RouteConfig(ACCEPTS_FORM)
  @Header('Content-Type', 'application/json; charset=utf-8')
  form(): string {
    return BODY;
  }
}

@Module({ controllers: [ProbeController] })
export class BenchProbeModule {}
