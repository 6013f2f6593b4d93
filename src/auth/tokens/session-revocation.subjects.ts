/*
 * The session revocation channel's name and its one subject that is not a user, apart from
 * SessionRevocations: the signing keys announce their retirement at once on it (decision 028), and
 * SessionRevocations depends on the signing keys.
 */

/** The PostgreSQL channel that carries session revocations, by user id, to every instance. */
export const SESSION_REVOKED_CHANNEL = 'session_revoked';

/**
 * The subject that ends the lease of every user (no user id looks like it): sent when the signing
 * keys are retired at once, so that every access token an instance remembers is checked again,
 * and its key with it, on its next request (decision 028).
 */
export const EVERY_USER = '*';
