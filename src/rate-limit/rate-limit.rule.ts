export const RATE_LIMIT_RULE = 'atiru:rate-limit-rule';

/**
 * Which counters a route spends:
 * `login`: per client IP and per (IP, email), failures cost more; the email is the body's, or the
 *   signed-in user's (changing the password);
 * `mail`: per client IP and per (IP, target email) (register, resend-confirmation, forgot-password);
 *   never per target email alone, which anyone could spend for the address's owner;
 * `refresh`: per client IP;
 * `reset`: per client IP and per presented reset token;
 * `confirm`: per client IP (`POST /auth/confirm`, for programs);
 * `confirm_link`: per presented confirmation token, the query's (opening the mailed link) or the
 *   form's (its page's button); a request without one spends nothing, and is refused unread; nor
 *   does one whose token is not shaped like the service's, which confirms nothing;
 * `key_change`: per signed-in user (creating and rolling API keys, each of which mails a notice).
 */
export type RateLimitRule = 'login' | 'mail' | 'refresh' | 'reset' | 'confirm' | 'confirm_link' | 'key_change';
