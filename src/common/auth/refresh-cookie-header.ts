/**
 * The header a cookie refresh must carry (`X-Atiru-Refresh: cookie`), read by the refresh cookie
 * and by the rate limiter. A page on another origin cannot send it without a CORS preflight, which
 * this service does not allow for it: a second wall against cross-site requests besides
 * `SameSite=Strict`.
 */
export const REFRESH_COOKIE_HEADER = 'x-atiru-refresh';
export const REFRESH_COOKIE_MODE = 'cookie';
