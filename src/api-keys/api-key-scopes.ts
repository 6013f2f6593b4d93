import { AppError } from '../common/errors/app-error';

/**
 * The scopes a key is created with, checked against the operator's vocabulary (API_KEY_SCOPES):
 * null when none are asked for (the key may do everything), else the distinct names in the
 * vocabulary's order, so equal sets read alike everywhere.
 */
export function checkedScopes(requested: readonly string[] | null | undefined, vocabulary: readonly string[]): string[] | null {
  if (requested === undefined || requested === null) return null;
  const unknown = requested.filter((scope) => !vocabulary.includes(scope));
  if (unknown.length > 0) {
    const message = `scopes must be taken from: ${vocabulary.join(', ')} (unknown: ${[...new Set(unknown)].join(', ')})`;
    throw AppError.invalidRequest(`Invalid request: ${message}`, [{ field: 'scopes', code: 'isIn', message }]);
  }
  return vocabulary.filter((scope) => requested.includes(scope));
}

/** The `scope` of an introspection answer: what the credential may do, space-separated (RFC 7662 §2.2). */
export function scopeClaim(scopes: readonly string[] | undefined, vocabulary: readonly string[]): string {
  return (scopes ?? vocabulary).join(' ');
}
