import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { dropAdapterHooks, fastifyHookLists, HookLists } from '../../src/common/http/adapter-hooks';

/** Fastify's hook lists once it has started, with a route served to show it works. */
async function hooksAfterStart(fastify: FastifyInstance): Promise<HookLists> {
  fastify.get('/probe', () => 'ok');
  await fastify.ready();
  expect((await fastify.inject({ method: 'GET', url: '/probe' })).body).toBe('ok');
  return fastifyHookLists(fastify);
}

describe('dropAdapterHooks', () => {
  it("leaves only the hooks added after it: none of the adapter's own", async () => {
    const adapter = new FastifyAdapter({ logger: false, skipMiddie: true });
    dropAdapterHooks(adapter);
    const ours = (_request: unknown, _reply: unknown, done: () => void) => done();
    adapter.getInstance().addHook('onRequest', ours);

    const hooks = await hooksAfterStart(adapter.getInstance());
    expect(hooks.onRequest).toEqual([ours]);
    expect(hooks.onResponse).toEqual([]);
    await adapter.close();
  });

  it('the adapter has them without it (the test above would pass for nothing otherwise)', async () => {
    const adapter = new FastifyAdapter({ logger: false, skipMiddie: true });
    const hooks = await hooksAfterStart(adapter.getInstance());
    expect(hooks.onRequest).toHaveLength(4);
    expect(hooks.onResponse).toHaveLength(1);
    await adapter.close();
  });

  it('fails the start when the hooks are not the ones it expects', async () => {
    const adapter = new FastifyAdapter({ logger: false, skipMiddie: true });
    adapter.getInstance().addHook('onRequest', (_request, _reply, done) => done());
    dropAdapterHooks(adapter);
    await expect(adapter.getInstance().ready()).rejects.toThrow('Expected the 4 onRequest hook(s) FastifyAdapter adds, found 5');
    await adapter.close().catch(() => undefined);
  });

  it('refuses what would have needed the dropped hooks', () => {
    const adapter = new FastifyAdapter({ logger: false, skipMiddie: true });
    dropAdapterHooks(adapter);
    expect(() => adapter.enableCors({})).toThrow('FastifyAdapter#enableCors is not available');
    expect(() => adapter.setOnRequestHook(() => undefined)).toThrow('FastifyAdapter#setOnRequestHook is not available');
    expect(() => adapter.setOnResponseHook(() => undefined)).toThrow('FastifyAdapter#setOnResponseHook is not available');
  });
});
