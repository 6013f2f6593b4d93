import { createHash, generateKeyPair, KeyObject } from 'node:crypto';

export const SIGNING_ALGORITHM = 'ES256';

/** A public key as published in the JWKS. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: typeof SIGNING_ALGORITHM;
  use: 'sig';
}

export interface GeneratedKeyPair {
  kid: string;
  publicKeyPem: string;
  privateKeyPem: string;
}

/** A fresh P-256 key pair, generated off the event loop. */
export function generateSigningKeyPair(): Promise<GeneratedKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('ec', { namedCurve: 'P-256' }, (error, publicKey, privateKey) => {
      if (error) return reject(error);
      resolve({
        kid: jwkThumbprint(publicKey),
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
    });
  });
}

/** True for a P-256 key, the only curve ES256 signs with. */
export function isP256(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
}

/** RFC 7638 thumbprint: SHA-256 over the required members in lexical order, base64url. */
export function jwkThumbprint(publicKey: KeyObject): string {
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

export function toPublicJwk(publicKey: KeyObject, kid: string): PublicJwk {
  const { x, y } = publicKey.export({ format: 'jwk' });
  return { kty: 'EC', crv: 'P-256', x: x!, y: y!, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}
