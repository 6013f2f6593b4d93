import * as argon2 from '@node-rs/argon2';
import { NO_PASSWORD_HASH, PasswordHasher } from '../../../src/accounts/passwords/password.hasher';
import { AppConfig } from '../../../src/config/app-config';

// The real argon2, counted: an account without a password must cost the verification a wrong password costs.
jest.mock('@node-rs/argon2', () => {
  const actual = jest.requireActual<typeof argon2>('@node-rs/argon2');
  return { ...actual, verify: jest.fn(actual.verify) };
});

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher({ passwordHashConcurrency: 1 } as AppConfig);
  const verify = argon2.verify as jest.MockedFunction<typeof argon2.verify>;

  beforeAll(() => hasher.onModuleInit());
  beforeEach(() => verify.mockClear());

  it('verifies a password against its own hash only', async () => {
    const hash = await hasher.hash('the password');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await hasher.verify(hash, 'the password')).toBe(true);
    expect(await hasher.verify(hash, 'another password')).toBe(false);
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('refuses every password for an account without one, after exactly one argon2 verification', async () => {
    for (const typed of ['anything', NO_PASSWORD_HASH, '']) {
      verify.mockClear();
      expect(await hasher.verify(NO_PASSWORD_HASH, typed)).toBe(false);
      expect(verify).toHaveBeenCalledTimes(1);
      expect(verify.mock.calls[0][0]).toMatch(/^\$argon2id\$/);
    }
  });

  it('never produces the no-password marker as a hash', async () => {
    expect(await hasher.hash(NO_PASSWORD_HASH)).not.toBe(NO_PASSWORD_HASH);
    expect(NO_PASSWORD_HASH.startsWith('$')).toBe(false);
  });
});
