import { api, Failure, Result, settle } from './api';

/**
 * The access token lives in this module's memory only, never in localStorage or sessionStorage:
 * a script injected into the page could read those. The refresh token is an HttpOnly cookie
 * scoped to /auth/refresh that this code never sees; a reload gets a new access token with it.
 */
let accessToken: string | null = null;
let refreshing: Promise<Result<string>> | null = null;
/** How long the other tabs wait for one tab's refresh before they go on without its answer. */
const LOCK_HELD_AT_MOST_MS = 15_000;
let onEnded: (how: SessionEnd) => void = () => undefined;

/** How a session came to an end: the person signed out, or the service refused it (revoked elsewhere, expired). */
export type SessionEnd = 'signed-out' | 'ended';

/**
 * The other tabs of the dashboard share the refresh cookie, so a session that ends in one has
 * ended in all; told at once, they stop showing the account (a key shown once, say) rather than
 * at their next call.
 */
const otherTabs = new BroadcastChannel('atiru-dashboard');
otherTabs.addEventListener('message', (event: MessageEvent<SessionEnd>) => {
  if (accessToken === null) return;
  accessToken = null;
  onEnded(event.data);
});

export function isSignedIn(): boolean {
  return accessToken !== null;
}

/** What to do when the session ends under the person's feet: ended by the service, or signed out in another tab. */
export function whenSessionEnds(handler: (how: SessionEnd) => void): void {
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

/**
 * A new access token from the refresh cookie. One call at a time, in this tab and across tabs.
 * Only a refusal drops the token held: a refresh that got no answer says nothing about the
 * session, which may well be alive.
 */
export function refresh(): Promise<Result<string>> {
  refreshing ??= inTurnWithOtherTabs(async (): Promise<Result<string>> => {
    const result = await settle(api.POST('/auth/refresh', { body: {}, headers: { 'X-Atiru-Refresh': 'cookie' } }));
    if (!result.ok) {
      if (refused(result)) accessToken = null;
      return result;
    }
    accessToken = (result.data as { session: { access_token: string } }).session.access_token;
    return { ...result, data: accessToken };
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * Tabs that refresh at once send the same cookie, and all but one are answered by a replay; a
 * second such race in a row ends the session (decision 024). In turn, each sends the cookie the
 * previous answer set. A refresh that hangs holds the others for LOCK_HELD_AT_MOST_MS, and is not
 * cut off: were it aborted after the service rotated the token, its new cookie would be lost and
 * the old one, presented later, taken for a stolen copy. Without Web Locks, tabs race as before.
 */
function inTurnWithOtherTabs<T>(work: () => Promise<T>): Promise<T> {
  if (!('locks' in navigator)) return work();
  return new Promise<T>((resolve, reject) => {
    void navigator.locks.request('atiru-refresh', () => {
      const done = work();
      done.then(resolve, reject);
      return Promise.race([done.then(noop, noop), new Promise<void>((release) => setTimeout(release, LOCK_HELD_AT_MOST_MS))]);
    });
  });
}

function noop(): void {}

/** The credential was refused; a wrong password (INVALID_CREDENTIALS, when changing it) is not. */
function refused(result: Result<unknown>): boolean {
  return !result.ok && result.failure.status === 401 && result.failure.code !== 'INVALID_CREDENTIALS';
}

export const SESSION_ENDED: Failure = { status: 401, code: 'INVALID_OR_EXPIRED_TOKEN', message: 'Your session has ended.', fields: [], retryAfterSeconds: null, requestId: null };

/**
 * Calls an operation with the access token. A 401 gets one refresh from the cookie and one retry;
 * a refused refresh or a second 401 means the session is over (signed out elsewhere, revoked) and
 * the person goes to sign-in. A refresh with no answer is answered as the failure it is: the
 * person is not told their session ended while its cookie still works.
 */
export async function authed<T>(call: (headers: { authorization: string }) => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Result<T>> {
  const send = (token: string) => settle(call({ authorization: `Bearer ${token}` }));
  let result = accessToken === null ? null : await send(accessToken);
  if (result === null || refused(result)) {
    const renewed = await refresh();
    if (!renewed.ok && !refused(renewed)) return renewed;
    result = renewed.ok ? await send(renewed.data) : { ok: false, failure: SESSION_ENDED };
  }
  if (refused(result)) {
    forgetInEveryTab('ended');
    onEnded('ended');
  }
  return result;
}

function forgetInEveryTab(how: SessionEnd): void {
  accessToken = null;
  otherTabs.postMessage(how);
}

/**
 * Ends sessions on the server. Only its answer ends anything: signing out of this one (`local`)
 * also clears the refresh cookie, and until the service confirms it, the cookie would sign the
 * next person at this browser back in. So a failure keeps the access token, for the person to try
 * again, and is answered for the page to say so. A refused token means the session had ended
 * already, and `authed` has sent the person to sign-in.
 */
export async function signOut(scope: 'local' | 'others' = 'local'): Promise<Result<unknown>> {
  const result = await authed((headers) => api.POST('/auth/logout', { params: { query: { scope } }, headers }));
  if (result.ok && scope === 'local') forgetInEveryTab('signed-out');
  return result;
}
