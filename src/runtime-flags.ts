import { setFlagsFromString } from 'node:v8';

/**
 * No allocation-site pretenuring. V8 watches where objects are allocated and, when most objects
 * from one site outlive a young-generation collection, allocates that site's objects straight in
 * the old generation from then on. Logins wait ~10 ms on argon2, so during a burst of them the
 * request objects that every route allocates at the same sites (Fastify's, Nest's, ours) live
 * long enough to look long-lived; afterwards every request's short-lived objects went to the old
 * generation: each young collection took 4–8 ms instead of ~1, fresh pages faulted in at ~0.8 per
 * request, and `GET /users/me` cost 75–85 µs of CPU instead of 55 (benchmark machine, after 600 or
 * 1,000 logins, most runs). Nothing this service keeps is long-lived enough to gain from it.
 *
 * Imported first by the entry point, before anything allocates much.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
