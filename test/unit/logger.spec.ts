import { ACCESS_LOG_CONTEXT } from '../../src/common/logging/logger';
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
});
