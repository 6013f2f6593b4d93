import { Child } from './dom';

export type Access = 'public' | 'guest' | 'private';

export interface PageContext {
  query: URLSearchParams;
  /** A message carried over from the page before (signed out, session ended). */
  flash: string | null;
  go(path: string, options?: { replace?: boolean; flash?: string }): void;
}

export interface Route {
  title: string;
  /** `guest`: only signed out (signed in goes to keys); `private`: only signed in (else sign-in). */
  access: Access;
  wide?: boolean;
  render(context: PageContext): Child | Promise<Child>;
}

export const BASE = '/dashboard/';

/** The route name of the current address: `/dashboard/keys` → `keys`. */
export function currentRoute(): string {
  const path = window.location.pathname;
  return path.startsWith(BASE) ? path.slice(BASE.length).replace(/\/+$/, '') : '';
}
