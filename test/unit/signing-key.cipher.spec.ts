import { createPrivateKey } from 'node:crypto';
import { SigningKeyCipher, SigningKeyDecryptionError } from '../../src/auth/keys/signing-key.cipher';
import { generateSigningKeyPair } from '../../src/auth/keys/signing-key-material';
import { AppConfig, loadConfig } from '../../src/config/app-config';

const withSecret = (secret: string): AppConfig => loadConfig({ NODE_ENV: 'test', SIGNING_KEY_ENCRYPTION_SECRET: secret });

describe('SigningKeyCipher', () => {
  const cipher = new SigningKeyCipher(withSecret('the-right-secret-0123456789abcdef'));

  it('opens what it sealed: a private key survives the round trip', async () => {
    const pair = await generateSigningKeyPair();
    const sealed = await cipher.seal(pair.privateKeyPem, pair.kid);
    expect(sealed).toMatch(/^v1(\.[A-Za-z0-9_-]+){4}$/);
    expect(sealed).not.toContain('PRIVATE KEY');
    const opened = await cipher.open(sealed, pair.kid);
    expect(opened).toBe(pair.privateKeyPem);
    expect(createPrivateKey(opened).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('uses a fresh salt and IV every time', async () => {
    const [a, b] = await Promise.all([cipher.seal('same text', 'kid'), cipher.seal('same text', 'kid')]);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('refuses another secret with an error that names SIGNING_KEY_ENCRYPTION_SECRET', async () => {
    const sealed = await cipher.seal('private', 'kid-1');
    const other = new SigningKeyCipher(withSecret('a-different-secret-0123456789abcd'));
    const failure = other.open(sealed, 'kid-1');
    await expect(failure).rejects.toBeInstanceOf(SigningKeyDecryptionError);
    await expect(failure).rejects.toThrow(/Cannot decrypt signing key kid-1: SIGNING_KEY_ENCRYPTION_SECRET/);
  });

  it('refuses a sealed key moved to another kid', async () => {
    const sealed = await cipher.seal('private', 'kid-1');
    await expect(cipher.open(sealed, 'kid-2')).rejects.toBeInstanceOf(SigningKeyDecryptionError);
  });

  it('refuses a tampered ciphertext', async () => {
    const parts = (await cipher.seal('private key text', 'kid-1')).split('.');
    const ciphertext = Buffer.from(parts[4], 'base64url');
    ciphertext[0] ^= 1;
    parts[4] = ciphertext.toString('base64url');
    await expect(cipher.open(parts.join('.'), 'kid-1')).rejects.toBeInstanceOf(SigningKeyDecryptionError);
  });

  it('refuses an envelope it does not know', async () => {
    await expect(cipher.open('v0.a.b.c.d', 'kid-1')).rejects.toThrow(/unknown format/);
  });
});
