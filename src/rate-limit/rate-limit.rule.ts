export const RATE_LIMIT_RULE = 'atiru:rate-limit-rule';

/**
 * Which counters a route spends:
 * `login`: per client IP and per (IP, email), failures cost more; the email is the body's, or the
 *   signed-in user's (changing the password);
 * `mail`: per client IP and per target email (register, resend-confirmation, forgot-password);
 * `refresh`: per client IP;
 * `reset`: per client IP and per presented reset token;
 * `confirm`: per client IP (opening the confirmation link, its page's button, and the JSON
 *   confirmation), failures cost more.
 */
export type RateLimitRule = 'login' | 'mail' | 'refresh' | 'reset' | 'confirm';
