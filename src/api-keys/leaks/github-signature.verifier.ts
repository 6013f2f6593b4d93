import { Injectable, Logger } from '@nestjs/common';
import { KeyObject, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { parseSecretScanningKeys, SecretScanningKey } from '../../config/secret-scanning-keys';

/** How often, at most, the keys file is read again for a key identifier it did not hold. */
const RELOAD_INTERVAL_MS = 10_000;

export type SignatureCheck = 'valid' | 'no-keys-configured' | 'unknown-key' | 'invalid';

/**
 * True when `signature` (base64 of a DER-encoded ECDSA signature, as GitHub sends it in
 * `Github-Public-Key-Signature`) signs `payload` with SHA-256 under `key`.
 */
export function verifyGithubSignature(key: KeyObject, signature: string, payload: Buffer): boolean {
  const der = Buffer.from(signature, 'base64');
  if (der.length === 0) return false;
  try {
    return verify('sha256', payload, { key, dsaEncoding: 'der' }, der);
  } catch {
    // A value that is not a DER signature at all.
    return false;
  }
}

/**
 * Verifies GitHub's secret-scanning reports against the configured keys, by the identifier the
 * report names (`Github-Public-Key-Identifier`). Several keys are held at once, so GitHub can
 * rotate: when the keys come from a file, a report naming an identifier the file did not hold has
 * the file read again (at most every RELOAD_INTERVAL_MS), so operators rotate by replacing the
 * file, without a restart.
 */
@Injectable()
export class GithubSignatureVerifier {
  private readonly logger = new Logger(GithubSignatureVerifier.name);
  private keys: Map<string, KeyObject>;
  private readonly keysFile: string;
  private lastReloadAt = 0;

  constructor(@InjectConfig() config: AppConfig) {
    this.keys = byIdentifier(config.secretScanning.keys);
    this.keysFile = config.secretScanning.keysFile;
  }

  async verify(identifier: string, signature: string, payload: Buffer): Promise<SignatureCheck> {
    const key = await this.keyFor(identifier);
    if (typeof key === 'string') return key;
    return verifyGithubSignature(key, signature, payload) ? 'valid' : 'invalid';
  }

  /** The key `identifier` names, or why none does: known before the body is, so a report no key could verify need not be read. */
  async keyFor(identifier: string): Promise<KeyObject | 'no-keys-configured' | 'unknown-key'> {
    if (this.keys.size === 0 && this.keysFile === '') return 'no-keys-configured';
    return this.keys.get(identifier) ?? (await this.reloadFor(identifier)) ?? 'unknown-key';
  }

  private async reloadFor(identifier: string): Promise<KeyObject | undefined> {
    const now = Date.now();
    if (this.keysFile === '' || now - this.lastReloadAt < RELOAD_INTERVAL_MS) return undefined;
    this.lastReloadAt = now;
    try {
      this.keys = byIdentifier(parseSecretScanningKeys(await readFile(this.keysFile, 'utf8')));
    } catch (error) {
      // The keys already held stay in use.
      this.logger.warn('could not read the GitHub secret-scanning keys again', { file: this.keysFile, error: (error as Error).message });
    }
    return this.keys.get(identifier);
  }
}

function byIdentifier(keys: SecretScanningKey[]): Map<string, KeyObject> {
  return new Map(keys.map((entry) => [entry.keyIdentifier, entry.key]));
}
