import type { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

/**
 * The hooks Nest's FastifyAdapter adds in its constructor, for every request of every route:
 * four `onRequest` hooks (its own request hook, `app.enableCors()`, middleware targets, custom
 * versioning) and one `onResponse` hook (its own response hook). With none of those features in
 * use they only call `done()`, yet they cost every request about 4,000 instructions, 6 % of a
 * bare Fastify request (callgrind; see the README, "Performance").
 */
const ADAPTER_HOOKS = { onRequest: 4, onResponse: 1 } as const;

/** What would need the dropped hooks: refused from now on, rather than silently not working. */
const NEEDS_DROPPED_HOOKS = ['setOnRequestHook', 'setOnResponseHook', 'enableCors'] as const;

/** The per-request hook lists of a Fastify instance that this module touches. */
export type HookLists = Record<keyof typeof ADAPTER_HOOKS, unknown[]>;

/**
 * Removes the adapter's per-request hooks, which this service does not use: no Nest middleware
 * (`skipMiddie`), no `app.enableCors()` (CORS is our own hook), no versioning, no request or
 * response hook of Nest's. Call it on a new adapter, before adding any hook of one's own:
 * Fastify adds hooks when its plugin queue runs, so this queues its removal right behind the
 * adapter's own. The adapter's methods that would rely on them throw from then on. Versioning is
 * configured on the application, not the adapter, so nothing refuses it: custom versioning
 * (`VersioningType.CUSTOM`) would lose its extractor's errors with the fourth hook.
 *
 * Fastify has no API to remove a hook, so this reaches its hook lists (`Symbol(fastify.hooks)`),
 * and refuses to start when they are not what it expects: a Fastify or Nest upgrade that changes
 * them fails at start-up, and in every test, rather than leaving a hook out unnoticed.
 */
export function dropAdapterHooks(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  const hooks = fastifyHookLists(fastify);
  for (const method of NEEDS_DROPPED_HOOKS) {
    (adapter as unknown as Record<string, unknown>)[method] = () => {
      throw new Error(`FastifyAdapter#${method} is not available: createApp removed the adapter's per-request hooks (src/common/http/adapter-hooks.ts)`);
    };
  }
  // An error thrown here fails Fastify's start, and so app.init().
  fastify.after(async () => {
    for (const [name, count] of Object.entries(ADAPTER_HOOKS) as [keyof typeof ADAPTER_HOOKS, number][]) {
      if (hooks[name].length !== count) {
        throw new Error(`Expected the ${count} ${name} hook(s) FastifyAdapter adds, found ${hooks[name].length}: Nest or Fastify changed, see src/common/http/adapter-hooks.ts`);
      }
      hooks[name].length = 0;
    }
  });
}

/** Fastify's own hook lists (`Symbol(fastify.hooks)`); throws when Fastify keeps them elsewhere. */
export function fastifyHookLists(fastify: FastifyInstance): HookLists {
  const symbol = Object.getOwnPropertySymbols(fastify).find((candidate) => candidate.description === 'fastify.hooks');
  const hooks = symbol === undefined ? undefined : (fastify as unknown as Record<symbol, Partial<HookLists>>)[symbol];
  if (!Array.isArray(hooks?.onRequest) || !Array.isArray(hooks?.onResponse)) {
    throw new Error("Fastify's hook lists were not found: Fastify changed, see src/common/http/adapter-hooks.ts");
  }
  return hooks as HookLists;
}
