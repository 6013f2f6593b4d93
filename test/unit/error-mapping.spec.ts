import { BadRequestException, ForbiddenException, HttpException, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { ConnectionException } from '@mikro-orm/core';
import { AppError } from '../../src/common/errors/app-error';
import { isUnavailableError, toAppError } from '../../src/common/errors/error-mapping';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('toAppError', () => {
  it.each([
    ['a refused connection', coded('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ["pg's connect timeout (a database that accepts connections and never answers)", new Error('timeout expired')],
    ["pg-pool's connect timeout", new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') })],
    ['a connection dropped mid-query', new Error('Connection terminated unexpectedly')],
    ["knex's disposed connection", new Error('Connection ended unexpectedly')],
    ['a pool with no free connection', Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' })],
    ['an administrator shutdown', coded('terminating connection due to administrator command', '57P01')],
    ["MikroORM's wrapper around any of them", new ConnectionException(new Error('timeout expired') as any)],
    ["pg's query timeout, after knex's statement prefix (a server frozen mid-query)", new Error('select 1 from "users" where "id" = $1 - Query read timeout')],
    ['a query queued on a connection that was ended', new Error('ROLLBACK - Client was closed and is not queryable')],
    ["PostgreSQL's statement_timeout", coded('select pg_sleep($1) - canceling statement due to statement timeout', '57014')],
  ])('answers %s as 503 SERVER_BUSY with Retry-After', (_what, error) => {
    expect(isUnavailableError(error)).toBe(true);
    const { appError } = toAppError(error);
    expect({ status: appError.statusCode, code: appError.code, headers: appError.headers }).toEqual({ status: 503, code: 'SERVER_BUSY', headers: { 'retry-after': '1' } });
  });

  it('does not take a query error for an outage', () => {
    expect(isUnavailableError(coded('duplicate key value violates unique constraint "users_email_key"', '23505'))).toBe(false);
    expect(toAppError(new Error('relation "users" does not exist')).appError.code).toBe('INTERNAL_ERROR');
    // A column or a value that merely mentions a timeout is not one.
    expect(isUnavailableError(new Error('insert into "notes" ("text") values ($1) - value too long: timeout expired soon'))).toBe(false);
  });

  it('never invents a code a status did not mean: a bare 401 or 403 is a bug, answered 500 and logged as one', () => {
    for (const exception of [new UnauthorizedException(), new ForbiddenException('nope'), new HttpException('teapot', 418)]) {
      expect(toAppError(exception)).toEqual({ appError: expect.objectContaining({ code: 'INTERNAL_ERROR', statusCode: 500 }), expected: false });
    }
  });

  it('maps framework exceptions whose status has exactly one code', () => {
    expect(toAppError(new BadRequestException('bad')).appError.toBody('r-1')).toEqual({ error: 'bad', statusCode: 400, code: 'INVALID_REQUEST', request_id: 'r-1' });
    expect(toAppError(new NotFoundException('Cannot GET /x')).appError.toBody()).toEqual({ error: 'Cannot GET /x', statusCode: 404, code: 'NOT_FOUND' });
    const busy = toAppError(new HttpException('down', 503)).appError;
    expect({ code: busy.code, headers: busy.headers }).toEqual({ code: 'SERVER_BUSY', headers: { 'retry-after': '1' } });
  });

  it('keeps an AppError as it is, field errors included', () => {
    const error = AppError.invalidRequest('Invalid request: email must be an email', [{ field: 'email', code: 'isEmail', message: 'email must be an email' }]);
    expect(toAppError(error)).toEqual({ appError: error, expected: true });
    expect(error.toBody('r-2')).toEqual({
      error: 'Invalid request: email must be an email',
      statusCode: 400,
      code: 'INVALID_REQUEST',
      request_id: 'r-2',
      errors: [{ field: 'email', code: 'isEmail', message: 'email must be an email' }],
    });
  });
});
