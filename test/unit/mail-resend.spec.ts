import { parseResendArguments } from '../../src/cli/mail-resend';
import { isPermanentRejection } from '../../src/mail/smtp-mail.transport';

describe('npm run mail:resend arguments', () => {
  it('takes exactly one selection', () => {
    expect(parseResendArguments(['--id', '1234'])).toEqual({ id: '1234' });
    expect(parseResendArguments(['--all-failed'])).toEqual({ allFailed: true });
    expect(parseResendArguments(['--since', '2026-12-05T08:00:00Z'])).toEqual({ since: new Date('2026-12-05T08:00:00Z') });
    expect(parseResendArguments(['--since', '2026-12-05T09:00+01:00'])).toEqual({ since: new Date('2026-12-05T08:00:00Z') });
    expect(parseResendArguments(['--since', '2026-12-05T08:00:00.250Z'])).toEqual({ since: new Date('2026-12-05T08:00:00.250Z') });
  });

  it('answers the usage line for anything else, rather than guess', () => {
    for (const args of [[], ['--id'], ['--id', 'abc'], ['--id', '1', '--all-failed'], ['--all-failed', 'yes'], ['--since', 'yesterday'], ['--everything'],
      // Shapes Date.parse takes in ways nobody means: 5 December 2001, August 2001, a zone left to the shell's.
      ['--since', '12/05'], ['--since', '8'], ['--since', '2026-12-05'], ['--since', '2026-12-05T08:00:00'], ['--since', '2026-13-05T08:00:00Z']]) {
      expect(() => parseResendArguments(args)).toThrow(/^usage: npm run mail:resend -- --id <outbox id> \| --all-failed \| --since <ISO time/);
    }
  });
});

describe('which SMTP errors give a mail up at once', () => {
  // The shapes nodemailer gives its errors (code, responseCode, and `permanent` from the reply class).
  it('a 5xx to the recipient or the content of this mail', () => {
    expect(isPermanentRejection({ code: 'EENVELOPE', responseCode: 550, permanent: true })).toBe(true);
    expect(isPermanentRejection({ code: 'EMESSAGE', responseCode: 554, permanent: true })).toBe(true);
  });

  it('not a 4xx, a 503, a lost connection or timeout, nor a 5xx that every mail would get (greeting, login)', () => {
    expect(isPermanentRejection({ code: 'EENVELOPE', responseCode: 451, permanent: false })).toBe(false);
    expect(isPermanentRejection({ code: 'EENVELOPE', responseCode: 503, permanent: false })).toBe(false);
    expect(isPermanentRejection({ code: 'ESOCKET', originalCode: 'ECONNREFUSED' })).toBe(false);
    expect(isPermanentRejection({ code: 'ETIMEDOUT' })).toBe(false);
    expect(isPermanentRejection({ code: 'EAUTH', responseCode: 535, permanent: true })).toBe(false);
    expect(isPermanentRejection({ code: 'EPROTOCOL', responseCode: 554, permanent: true })).toBe(false);
    expect(isPermanentRejection(new Error('anything else'))).toBe(false);
  });
});
