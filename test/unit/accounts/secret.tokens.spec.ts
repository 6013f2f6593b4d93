import { SecretTokens } from '../../../src/accounts/secrets/secret.tokens';

describe('SecretTokens', () => {
  const secrets = new SecretTokens();

  it('makes 256-bit base64url tokens and stores only their SHA-256', () => {
    const { token, hash } = secrets.generate();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(secrets.hash(token));
    expect(secrets.generate().token).not.toBe(token);
  });

  it('opens a sealed successor only with the token it was sealed under', () => {
    const current = secrets.generate().token;
    const successor = secrets.generate().token;
    const sealed = secrets.seal(successor, current);
    expect(sealed.toString('utf8')).not.toContain(successor);
    expect(secrets.open(sealed, current)).toBe(successor);
    expect(secrets.open(sealed, secrets.generate().token)).toBeNull();
    // The stored hash of the token is not the key.
    expect(secrets.open(sealed, secrets.hash(current))).toBeNull();
  });

  it('refuses a tampered seal', () => {
    const current = secrets.generate().token;
    const sealed = secrets.seal(secrets.generate().token, current);
    sealed[sealed.length - 1] ^= 1;
    expect(secrets.open(sealed, current)).toBeNull();
    expect(secrets.open(Buffer.alloc(10), current)).toBeNull();
  });
});
