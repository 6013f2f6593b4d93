import { loadConfig } from '../../src/config/app-config';

describe('retention configuration', () => {
  it('keeps mails and ended sessions 30 days, expired one-time tokens 7, ended API keys 90, by default', () => {
    expect(loadConfig({}).retention).toEqual({ mailDays: 30, sessionDays: 30, oneTimeTokenDays: 7, apiKeyDays: 90 });
  });

  it('reads each period in whole days', () => {
    const config = loadConfig({ MAIL_RETENTION_DAYS: '90', SESSION_RETENTION_DAYS: '365', ONE_TIME_TOKEN_RETENTION_DAYS: '1', API_KEY_RETENTION_DAYS: '3650' });
    expect(config.retention).toEqual({ mailDays: 90, sessionDays: 365, oneTimeTokenDays: 1, apiKeyDays: 3650 });
  });

  it('names each invalid period: none, a fraction, or words', () => {
    expect(() =>
      loadConfig({ MAIL_RETENTION_DAYS: '0', SESSION_RETENTION_DAYS: '1.5', ONE_TIME_TOKEN_RETENTION_DAYS: 'forever', API_KEY_RETENTION_DAYS: '3651' }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'MAIL_RETENTION_DAYS must be a whole number from 1 to 3650 (got "0")',
          'SESSION_RETENTION_DAYS must be a whole number from 1 to 3650 (got "1.5")',
          'ONE_TIME_TOKEN_RETENTION_DAYS must be a whole number from 1 to 3650 (got "forever")',
          'API_KEY_RETENTION_DAYS must be a whole number from 1 to 3650 (got "3651")',
        ],
      }),
    );
  });
});
