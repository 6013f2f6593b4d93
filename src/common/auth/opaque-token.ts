/**
 * The format of the service's opaque tokens (refresh, confirmation, reset): 256 random bits,
 * base64url, unpadded. Here rather than with their maker (SecretTokens) because the rate limiter
 * reads it too, and it depends on no feature module.
 */
export const OPAQUE_TOKEN_BYTES = 32;

const OPAQUE_TOKEN_SHAPE = new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((OPAQUE_TOKEN_BYTES * 8) / 6)}}$`);

/** Whether `value` could be a token this service made; anything else matches no stored hash. */
export function isOpaqueTokenShaped(value: string): boolean {
  return OPAQUE_TOKEN_SHAPE.test(value);
}
