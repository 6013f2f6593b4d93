import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sign } from 'jsonwebtoken';
import type { AppPassport } from '../../src/auth/guards/app.passport';
import type { SigningKeyRing } from '../../src/auth/keys/signing-key.ring';
import { JwtStrategy } from '../../src/auth/strategies/jwt.strategy';
import type { AccessTokenClaims } from '../../src/auth/tokens/access-token-claims';
import type { AccessTokenSessions } from '../../src/auth/tokens/access-token.sessions';
import { MemoryBudget } from '../../src/common/cache/memory.budget';
import type { AppConfig } from '../../src/config/app-config';
import type { UsersService } from '../../src/users/users.service';

/**
 * The memory of verified tokens (`JwtStrategy.fromMemory`), without passport: a token is
 * verified once through `validate`, then looked up as the guard does.
 */
describe('JwtStrategy memory of verified tokens', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const user = { id: randomUUID(), email: 'someone@example.com' };
  const config = { tokens: { issuer: 'https://auth.example.test', audience: 'atiru-api' } } as unknown as AppConfig;

  function strategyWithToken() {
    const keys = { verificationKey: (name: string) => (name === kid ? publicKey : undefined) } as unknown as SigningKeyRing;
    const users = { findCachedAuthenticatedUser: (id: string) => (id === user.id ? user : undefined) } as unknown as UsersService;
    const sessions = {
      admit: async (claims: AccessTokenClaims) => ({ user, lease: { live: true }, liveUntilMs: claims.exp * 1000 }),
    } as unknown as AccessTokenSessions;
    const passport = { use: () => undefined } as unknown as AppPassport;
    const strategy = new JwtStrategy(keys, users, sessions, config, passport, new MemoryBudget(1 << 20));
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessTokenClaims = { iss: config.tokens.issuer, aud: config.tokens.audience, sub: user.id, email: user.email, sid: randomUUID(), iat, exp: iat + 900 };
    const token = sign(claims, privateKey, { algorithm: 'ES256', keyid: kid });
    return { strategy, claims, token };
  }

  async function verified() {
    const { strategy, claims, token } = strategyWithToken();
    await strategy.validate({ headers: { authorization: `Bearer ${token}` } }, claims);
    return { strategy, token };
  }

  it('answers a token it verified from memory', async () => {
    const { strategy, token } = await verified();
    expect(strategy.fromMemory(token)).toMatchObject({ user, method: 'jwt' });
  });

  it('answers nothing for a token it has not verified', () => {
    const { strategy, token } = strategyWithToken();
    expect(strategy.fromMemory(token)).toBeUndefined();
  });

  it('never answers a forged header and payload under a verified signature, even one with the same length and CRC-32', async () => {
    const { strategy, token } = await verified();
    const signatureAt = token.lastIndexOf('.') + 1;
    const forgedSigned = sameCrcVariant(token.slice(0, signatureAt - 1));
    const forged = `${forgedSigned}.${token.slice(signatureAt)}`;
    // What a checksum of the header and payload could not tell apart.
    expect(forged).not.toBe(token);
    expect(forged.length).toBe(token.length);
    expect(crc32(forgedSigned)).toBe(crc32(token.slice(0, signatureAt - 1)));

    expect(strategy.fromMemory(forged)).toBeUndefined();
    // The forgery did not evict the token it imitates.
    expect(strategy.fromMemory(token)).toMatchObject({ user });
  });

  it('reads the token after the Bearer scheme in any case and any spaces or tabs, and nothing else', () => {
    const { strategy, token } = strategyWithToken();
    const read = (authorization: string | undefined) => strategy.credentialIn({ authorization });
    expect(read(`Bearer ${token}`)).toBe(token);
    expect(read(`bEaReR \t ${token}`)).toBe(token);
    expect(read(`BEARER\t${token}`)).toBe(token);
    expect(read(`Bearer${token}`)).toBeUndefined();
    expect(read(`Bearer_${token}`)).toBeUndefined();
    expect(read(`Beare ${token}`)).toBeUndefined();
    expect(read(` Bearer ${token}`)).toBeUndefined();
    expect(read(`Basic ${token}`)).toBeUndefined();
    expect(read('Bearer ')).toBeUndefined();
    expect(read('Bearer')).toBeUndefined();
    expect(read(undefined)).toBeUndefined();
    // Not a compact JWS: no two dots.
    expect(read('Bearer abc.def')).toBeUndefined();
  });

  it('refuses a token whose key the database says has retired, remembers nothing of it, and has the key ring read the keys again', async () => {
    const retiredElsewhere = jest.fn();
    const keys = { verificationKey: (name: string) => (name === kid ? publicKey : undefined), retiredElsewhere } as unknown as SigningKeyRing;
    const users = { findCachedAuthenticatedUser: () => user } as unknown as UsersService;
    const admit = jest.fn(async () => 'key_retired');
    const passport = { use: () => undefined } as unknown as AppPassport;
    const strategy = new JwtStrategy(keys, users, { admit } as unknown as AccessTokenSessions, config, passport, new MemoryBudget(1 << 20));
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessTokenClaims = { iss: config.tokens.issuer, aud: config.tokens.audience, sub: user.id, email: user.email, sid: randomUUID(), iat, exp: iat + 900 };
    const token = sign(claims, privateKey, { algorithm: 'ES256', keyid: kid });

    expect(await strategy.validate({ headers: { authorization: `Bearer ${token}` } }, claims)).toEqual([false, { message: 'the key that signed the token has retired' }]);
    // The session's read was asked about the token's key: the keys are in the database here.
    expect(admit).toHaveBeenCalledWith(claims, kid);
    expect(retiredElsewhere).toHaveBeenCalledWith(kid);
    expect(strategy.fromMemory(token)).toBeUndefined();
  });

  it('does not ask the database after the key when the keys come from SIGNING_KEY_PEM, which holds none of them', async () => {
    const { claims, token } = strategyWithToken();
    const admit = jest.fn(async (admitted: AccessTokenClaims, _signedBy?: string) => ({ user, lease: { live: true }, liveUntilMs: admitted.exp * 1000 }));
    const keys = { verificationKey: (name: string) => (name === kid ? publicKey : undefined) } as unknown as SigningKeyRing;
    const users = { findCachedAuthenticatedUser: () => user } as unknown as UsersService;
    const pemConfig = { tokens: { ...config.tokens, signingKeyPem: 'a PEM' } } as unknown as AppConfig;
    const passport = { use: () => undefined } as unknown as AppPassport;
    const strategy = new JwtStrategy(keys, users, { admit } as unknown as AccessTokenSessions, pemConfig, passport, new MemoryBudget(1 << 20));
    await strategy.validate({ headers: { authorization: `Bearer ${token}` } }, claims);
    expect(admit).toHaveBeenCalledTimes(1);
    expect(admit.mock.calls[0][1]).toBeUndefined();
    expect(strategy.fromMemory(token)).toMatchObject({ user });
  });
});

/**
 * `text` with the case of some of its letters swapped so that its CRC-32 stays the same: a CRC
 * is linear, so a set of swaps whose CRC differences cancel out is found by elimination over
 * GF(2). Every character stays a base64url letter.
 */
function sameCrcVariant(text: string): string {
  const zeros = '\0'.repeat(text.length);
  const crcOfZeros = crc32(zeros);
  const letters = [...text].flatMap((char, index) => (/[a-zA-Z]/.test(char) ? [index] : [])).slice(0, 64);
  // basis[bit]: a CRC difference whose highest set bit is `bit`, and the swaps that make it.
  const basis: ({ difference: number; swaps: Set<number> } | undefined)[] = new Array(32);
  for (const position of letters) {
    let difference = (crc32(zeros.slice(0, position) + ' ' + zeros.slice(position + 1)) ^ crcOfZeros) >>> 0;
    let swaps = new Set([position]);
    for (let bit = 31; bit >= 0 && difference !== 0; bit--) {
      if (((difference >>> bit) & 1) === 0) continue;
      const known = basis[bit];
      if (known === undefined) {
        basis[bit] = { difference, swaps };
        difference = -1;
        break;
      }
      difference = (difference ^ known.difference) >>> 0;
      swaps = new Set([...swaps].filter((swap) => !known.swaps.has(swap)).concat([...known.swaps].filter((swap) => !swaps.has(swap))));
    }
    if (difference === 0) return [...text].map((char, index) => (swaps.has(index) ? String.fromCharCode(char.charCodeAt(0) ^ 0x20) : char)).join('');
  }
  throw new Error('no set of swaps found');
}
