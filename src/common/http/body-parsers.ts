import { errorCodes, FastifyInstance } from 'fastify';

/**
 * JSON is the only body this API reads, and an empty body is no body, whatever its Content-Type.
 * Common clients send `Content-Type: application/json` with nothing after it on a POST or DELETE
 * that takes no body (or `-d ''`, which curl labels form-urlencoded); Fastify's own parsers answer
 * those 400 or 415. Here an empty body reaches the route as no body: an operation without one
 * goes ahead, and one that needs a body answers the validation pipe's 400. A non-empty body that is
 * not JSON is still a 415.
 */
export function acceptJsonOrEmptyBodies(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type'] ?? ''), undefined);
  });
}
