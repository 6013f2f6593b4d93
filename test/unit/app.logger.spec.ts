import { ACCESS_LOG_CONTEXT } from '../../src/common/logging/app.logger';
import { LogCapture } from '../support/log-capture';

describe('AppLogger', () => {
  it("writes the convention's message and fields as one line: logger.warn('message', { fields }, context)", () => {
    const logs = new LogCapture();
    logs.logger.warn('rate limit login exceeded', { policy: 'login' }, 'RateLimiterService');
    expect(logs.entries()).toEqual([{ level: 40, time: expect.any(String), context: 'RateLimiterService', policy: 'login', msg: 'rate limit login exceeded' }]);
  });

  it('keeps the message of a line written the other way round, fields first', () => {
    const logs = new LogCapture();
    logs.logger.warn({ policy: 'login' }, 'rate limit login exceeded', 'RateLimiterService');
    expect(logs.entries()[0]).toMatchObject({ policy: 'login', msg: 'rate limit login exceeded', context: 'RateLimiterService' });
  });

  it('redacts credentials at the top level and one level down on ordinary lines', () => {
    const logs = new LogCapture();
    logs.logger.log('attempt', { password: 'hunter2', body: { token: 'abc', refresh_token: 'def' } }, 'Somewhere');
    expect(logs.entries()[0]).toMatchObject({ password: '[redacted]', body: { token: '[redacted]', refresh_token: '[redacted]' } });
    expect(logs.text).not.toMatch(/hunter2|abc|def/);
  });

  it('redacts top-level credential fields on access-log lines too', () => {
    const logs = new LogCapture();
    logs.logger.log('GET /users/me 200', { route: '/users/me', token: 'leaked' }, ACCESS_LOG_CONTEXT);
    expect(logs.entries()[0]).toMatchObject({ context: ACCESS_LOG_CONTEXT, route: '/users/me', token: '[redacted]' });
  });

  it('writes a failure with its error, message first', () => {
    const logs = new LogCapture();
    logs.logger.error('outbox tick failed', new Error('connection refused'), 'OutboxWorker');
    expect(logs.entries()[0]).toMatchObject({ level: 50, msg: 'outbox tick failed', err: { message: 'connection refused', type: 'Error' } });
  });

  it("writes a failed statement's shape, table and reason, never the values MikroORM inlined nor PostgreSQL's detail", () => {
    const logs = new LogCapture();
    const failure = Object.assign(
      new Error(
        "insert into \"mail_outbox\" (\"payload\", \"recipient\") values (E'{\"text\":\"Confirm:\\\\nhttp://x.test/confirm?token=abc\"}', 'ada@example.com') returning \"id\" - new row for relation \"mail_outbox\" violates check constraint \"refuse\"\n - detail: Failing row contains (1, ada@example.com)",
      ),
      { name: 'CheckConstraintViolationException', code: '23514', table: 'mail_outbox', constraint: 'refuse', detail: 'Failing row contains (1, ada@example.com)' },
    );
    logs.logger.error('tick failed', failure, 'OutboxWorker');
    expect(logs.entries()[0].err).toMatchObject({
      message: `insert into "mail_outbox" ("payload", "recipient") values ('…', '…') returning "id" - new row for relation "mail_outbox" violates check constraint "refuse"`,
      table: 'mail_outbox',
      constraint: 'refuse',
    });
    expect(logs.text).not.toMatch(/ada@example\.com|token=abc/);
  });

  it('keeps the quotes of an error that is not a statement\'s', () => {
    const logs = new LogCapture();
    logs.logger.error('bug', new TypeError("Cannot read properties of undefined (reading 'id')"), 'Somewhere');
    expect(logs.entries()[0].err.message).toBe("Cannot read properties of undefined (reading 'id')");
  });

  it('writes nothing of the values a failed statement was given: no detail, no quoted value', () => {
    const logs = new LogCapture();
    const failure = Object.assign(new Error('insert into "users" ("email") values ($1) - invalid input syntax for type uuid: "ada@example.com"'), {
      code: '22P02',
      severity: 'ERROR',
      detail: 'Failing row contains (ada@example.com, http://x.test/confirm?token=secret)',
      where: 'unnamed portal parameter $1 = \'ada@example.com\'',
    });
    logs.logger.error('tick failed', failure, 'OutboxWorker');
    expect(logs.entries()[0]).toMatchObject({ err: { code: '22P02', message: 'insert into "users" ("email") values ($1) - invalid input syntax for type uuid: "…"' } });
    expect(logs.text).not.toMatch(/ada@example\.com|token=secret/);
  });

  it("stamps each line with its millisecond in ISO form, as Date's toISOString writes it, across seconds and a clock set back", () => {
    const logs = new LogCapture();
    const base = Date.UTC(2026, 11, 31, 23, 59, 59, 0);
    // Milliseconds of one digit, two and three; a second's and a year's turn; the clock set back.
    const times = [base, base + 7, base + 42, base + 999, base + 1000, base + 1005, base + 123, base - 86_400_000 + 1];
    const now = jest.spyOn(Date, 'now');
    try {
      for (const time of times) {
        now.mockReturnValue(time);
        logs.logger.warn('tick', 'Clock');
        logs.logger.access.write({ route: '/users/me' }, 'GET /users/me 200');
      }
    } finally {
      now.mockRestore();
    }
    const expected = times.flatMap((time) => [new Date(time).toISOString(), new Date(time).toISOString()]);
    expect(logs.entries().map((entry) => entry.time)).toEqual(expected);
  });
});
