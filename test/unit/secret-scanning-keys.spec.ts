import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GithubSignatureVerifier, verifyGithubSignature } from '../../src/api-keys/leaks/github-signature.verifier';
import { ConfigError, loadConfig } from '../../src/config/app-config';
import { parseSecretScanningKeys } from '../../src/config/secret-scanning-keys';
import { TestSecretScanner } from '../support/secret-scanner';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe("GitHub's secret-scanning keys (GITHUB_SECRET_SCANNING_KEYS)", () => {
  const github = new TestSecretScanner();
  const older = new TestSecretScanner();

  it("reads GitHub's document, or its bare list, keeping every key by identifier", () => {
    const keys = parseSecretScanningKeys(TestSecretScanner.keysDocument(github, older));
    expect(keys.map((key) => [key.keyIdentifier, key.isCurrent])).toEqual([
      [github.keyIdentifier, true],
      [older.keyIdentifier, false],
    ]);
    const bare = JSON.stringify(JSON.parse(TestSecretScanner.keysDocument(github)).public_keys);
    expect(parseSecretScanningKeys(bare).map((key) => key.keyIdentifier)).toEqual([github.keyIdentifier]);
  });

  it('refuses what cannot verify a report, saying why', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseSecretScanningKeys('not json')).toThrow('is not JSON');
    expect(() => parseSecretScanningKeys('{"public_keys":[]}')).toThrow(/at least one key/);
    expect(() => parseSecretScanningKeys('[{"key":"x"}]')).toThrow(/no key_identifier/);
    expect(() => parseSecretScanningKeys('[{"key_identifier":"a","key":"-----BEGIN PUBLIC KEY-----\\nnope"}]')).toThrow('key a is not a PEM public key');
    expect(() => parseSecretScanningKeys(JSON.stringify([{ key_identifier: 'r', key: rsa }]))).toThrow('key r is not an ECDSA P-256 key');
    expect(() => parseSecretScanningKeys(JSON.stringify([{ key_identifier: 'p', key: p384 }]))).toThrow('key p is not an ECDSA P-256 key');
  });

  it('is read at start, inline or from a file, and a bad value stops the start naming the variable', () => {
    const folder = mkdtempSync(join(tmpdir(), 'atiru-keys-'));
    try {
      const file = join(folder, 'keys.json');
      writeFileSync(file, TestSecretScanner.keysDocument(github));
      expect(loadConfig({ GITHUB_SECRET_SCANNING_KEYS: file }).secretScanning).toEqual({ keys: [expect.objectContaining({ keyIdentifier: github.keyIdentifier })], keysFile: file });
      expect(loadConfig({ GITHUB_SECRET_SCANNING_KEYS: TestSecretScanner.keysDocument(github) }).secretScanning.keysFile).toBe('');
      expect(loadConfig({}).secretScanning).toEqual({ keys: [], keysFile: '' });
      expect(problemsOf({ GITHUB_SECRET_SCANNING_KEYS: join(folder, 'missing.json') })).toEqual([expect.stringMatching(/^GITHUB_SECRET_SCANNING_KEYS .*missing\.json cannot be read \(ENOENT\)/)]);
      expect(problemsOf({ GITHUB_SECRET_SCANNING_KEYS: '{"public_keys": 3}' })).toEqual([expect.stringMatching(/^GITHUB_SECRET_SCANNING_KEYS .*the value must list at least one key/)]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('verifies a signature made as GitHub makes it, over the exact bytes, and nothing else', () => {
    const [key] = parseSecretScanningKeys(TestSecretScanner.keysDocument(github));
    const payload = '[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]';
    const signature = github.sign(payload)['github-public-key-signature'];
    expect(verifyGithubSignature(key.key, signature, Buffer.from(payload))).toBe(true);
    expect(verifyGithubSignature(key.key, signature, Buffer.from(JSON.stringify(JSON.parse(payload), null, 1)))).toBe(false);
    expect(verifyGithubSignature(key.key, older.sign(payload)['github-public-key-signature'], Buffer.from(payload))).toBe(false);
    for (const garbage of ['', 'AAAA', '!!!not base64!!!', 'MEQCIA==']) expect(verifyGithubSignature(key.key, garbage, Buffer.from(payload))).toBe(false);
  });

  it('tells a report signed by a configured key from one naming an unknown key, and from a service with no keys', async () => {
    const payload = Buffer.from('[]');
    const { 'github-public-key-signature': signature } = github.sign('[]');
    const configured = new GithubSignatureVerifier(loadConfig({ GITHUB_SECRET_SCANNING_KEYS: TestSecretScanner.keysDocument(github) }));
    expect(await configured.verify(github.keyIdentifier, signature, payload)).toBe('valid');
    expect(await configured.verify(older.keyIdentifier, older.sign('[]')['github-public-key-signature'], payload)).toBe('unknown-key');
    expect(await configured.verify(github.keyIdentifier, signature, Buffer.from('[ ]'))).toBe('invalid');
    expect(await new GithubSignatureVerifier(loadConfig({})).verify(github.keyIdentifier, signature, payload)).toBe('no-keys-configured');
  });
});
