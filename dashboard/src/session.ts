import { api, Failure, Result, settle } from './api';

/**
 * The access token lives in this module's memory only, never in localStorage or sessionStorage:
 * a script injected into the page could read those. The refresh token is an HttpOnly cookie
 * scoped to /auth/refresh that this code never sees; a reload gets a new access token with it.
 */
let accessToken: string | null = null;
let refreshing: Promise<string | null> | null = null;
let onEnded: () => void = () => undefined;

export function isSignedIn(): boolean {
  return accessToken !== null;
}

/** What to do when the session ends under the person's feet (revoked elsewhere, expired). */
export function whenSessionEnds(handler: () => void): void {
  onEnded = handler;
}

export function forget(): void {
  accessToken = null;
}

/** Signs in and asks for the refresh token as a cookie, so a reload keeps the person signed in. */
export async function signIn(email: string, password: string): Promise<Result<unknown>> {
  const result = await settle(api.POST('/auth/login', { body: { email, password, refresh_cookie: true } }));
  if (result.ok) accessToken = (result.data as { session: { access_token: string } }).session.access_token;
  return result;
}

/** A new access token from the refresh cookie, or null when there is no live session. One call at a time. */
export function refresh(): Promise<string | null> {
  refreshing ??= (async () => {
    const result = await settle(api.POST('/auth/refresh', { body: {}, headers: { 'X-Atiru-Refresh': 'cookie' } }));
    accessToken = result.ok ? (result.data as { session: { access_token: string } }).session.access_token : null;
    return accessToken;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The credential was refused; a wrong password (INVALID_CREDENTIALS, when changing it) is not. */
function refused(result: Result<unknown>): boolean {
  return !result.ok && result.failure.status === 401 && result.failure.code !== 'INVALID_CREDENTIALS';
}

export const SESSION_ENDED: Failure = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', message: 'Your session has ended.', fields: [], retryAfterSeconds: null, requestId: null };

/**
 * Calls an operation with the access token. A 401 gets one refresh from the cookie and one retry;
 * a second 401 means the session is over (signed out elsewhere, revoked) and the person goes to sign-in.
 */
export async function authed<T>(call: (headers: { authorization: string }) => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Result<T>> {
  let token = accessToken ?? (await refresh());
  let result: Result<T> = { ok: false, failure: SESSION_ENDED };
  if (token) result = await settle(call({ authorization: `Bearer ${token}` }));
  if (token && refused(result)) {
    token = await refresh();
    if (token) result = await settle(call({ authorization: `Bearer ${token}` }));
  }
  if (!token || refused(result)) {
    accessToken = null;
    onEnded();
  }
  return result;
}

/** Ends this session on the server (which clears the refresh cookie) and forgets the access token. */
export async function signOut(scope: 'local' | 'others' = 'local'): Promise<Result<unknown>> {
  const result = await authed((headers) => api.POST('/auth/logout', { params: { query: { scope } }, headers }));
  if (scope === 'local') accessToken = null;
  return result;
}
