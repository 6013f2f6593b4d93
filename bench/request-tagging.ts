import type { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, Server } from 'node:http';

type Emit = (this: Server, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Runs each 'request' event that `target` emits inside `storage`, with the store `tag` makes of
 * the request, so all the async work the request starts carries it. `target` is one server, or
 * `http.Server.prototype` for every server, present and future. Returns what undoes it; wrappings
 * of one target are undone in the reverse order of their making.
 *
 * The benchmark's SQL counter tags requests with it only while counting, after the timed runs:
 * on Node before 24 a storage entered turns async hooks on for the whole process.
 */
export function tagRequests<T>(target: Server, storage: AsyncLocalStorage<T>, tag: (request: IncomingMessage) => T): () => void {
  const own = Object.getOwnPropertyDescriptor(target, 'emit');
  const emit = target.emit as Emit;
  target.emit = function emitTagged(this: Server, event: string | symbol, ...args: unknown[]) {
    return event === 'request' ? storage.run(tag(args[0] as IncomingMessage), () => emit.call(this, event, ...args)) : emit.call(this, event, ...args);
  } as Server['emit'];
  return () => {
    if (own) Object.defineProperty(target, 'emit', own);
    else delete (target as { emit?: unknown }).emit;
  };
}
