import fastify, { FastifyInstance } from 'fastify';
import { installAccessLog } from '../../src/common/logging/access-log';
import { ACCESS_LOG_CONTEXT } from '../../src/common/logging/app.logger';
import { LogCapture } from '../support/log-capture';

/** A bare Fastify instance with the access log, on the given capture. */
async function serverLoggingTo(logs: LogCapture): Promise<FastifyInstance> {
  const server = fastify();
  installAccessLog(server, logs.logger);
  server.get('/things/:id', async () => ({ ok: true }));
  await server.ready();
  return server;
}

describe('access log', () => {
  it('writes one line per request at info, with the route pattern and never the URL', async () => {
    const logs = new LogCapture('info');
    const server = await serverLoggingTo(logs);
    await server.inject({ method: 'GET', url: '/things/42?token=secret', headers: { 'x-request-id': 'ignored-here' } });
    await server.inject({ method: 'GET', url: '/nowhere' });
    await server.close();

    const lines = logs.entries();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      level: 30,
      time: expect.any(String),
      context: 'AccessLog',
      msg: 'GET /things/:id 200',
      event: 'http_request',
      request_id: expect.any(String),
      method: 'GET',
      route: '/things/:id',
      status: 200,
      duration_ms: expect.any(Number),
      ip: '127.0.0.1',
      user_id: null,
      auth: null,
    });
    expect(lines[1]).toMatchObject({ msg: 'GET (no route) 404', route: null, status: 404 });
    expect(logs.text).not.toContain('secret');
  });

  it("writes pino's line for the same fields, whatever a field holds", () => {
    // What the service's own logger writes for those fields and message through pino: the
    // shape the access log's own line must keep (level, time, context, fields, msg).
    const logs = new LogCapture('info');
    const fields = {
      request_id: 'req-1',
      event: 'http_request',
      method: 'GET',
      route: null,
      status: 404,
      duration_ms: Number.NaN,
      ip: '"quoted" \\ back\nslash\u0000 ünïcode \u2028 \ud800',
      user_id: undefined,
      auth: null,
    };
    logs.logger.access.write(fields, 'GET (no route) "404"\n');
    logs.logger.pino.info({ context: ACCESS_LOG_CONTEXT, ...fields }, 'GET (no route) "404"\n');

    const [own, pinos] = logs.lines;
    const { time, ...rest } = JSON.parse(own);
    expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(rest).toEqual({ ...JSON.parse(pinos), time: undefined });
    expect(Object.keys(JSON.parse(own))).toEqual(Object.keys(JSON.parse(pinos)));
    expect(JSON.parse(own).ip).toBe(fields.ip);
  });

  it('writes nothing when info is off', async () => {
    const logs = new LogCapture('warn');
    const server = await serverLoggingTo(logs);
    expect((await server.inject({ method: 'GET', url: '/things/42' })).statusCode).toBe(200);
    await server.close();
    expect(logs.lines).toEqual([]);
  });

  it('goes to the logger of its own application, not to whichever Nest logger was set last', async () => {
    const first = new LogCapture('info');
    const second = new LogCapture('info');
    const one = await serverLoggingTo(first);
    const two = await serverLoggingTo(second);
    await one.inject({ method: 'GET', url: '/things/1' });
    await one.close();
    await two.close();
    expect(first.entries().map((line) => line.route)).toEqual(['/things/:id']);
    expect(second.lines).toEqual([]);
  });
});
