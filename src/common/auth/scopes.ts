/**
 * What a route needs of an API key limited to scopes. A route may declare it
 * (`@Authenticated({ scopes: ['read'] })`); one that does not needs `read` to be read (GET, HEAD)
 * and `write` for anything else, so a route added without a thought for scopes is still closed to
 * a read-only key. A key made without scopes, and a JWT, are not limited.
 */
const READING_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const READ: readonly string[] = Object.freeze(['read']);
const WRITE: readonly string[] = Object.freeze(['write']);

export function defaultScopes(method: string): readonly string[] {
  return READING_METHODS.has(method.toUpperCase()) ? READ : WRITE;
}

/** The first of `required` that `held` lacks, or undefined when it holds them all. */
export function missingScope(held: readonly string[], required: readonly string[]): string | undefined {
  for (const scope of required) if (!held.includes(scope)) return scope;
  return undefined;
}
