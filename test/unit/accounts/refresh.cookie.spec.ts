import type { FastifyRequest } from 'fastify';
import { RefreshCookie } from '../../../src/accounts/sessions/refresh.cookie';
import { loadConfig } from '../../../src/config/app-config';

const cookieFor = (publicUrl: string) => new RefreshCookie(loadConfig({ NODE_ENV: 'test', PUBLIC_URL: publicUrl }));
const requestWith = (cookie: string | undefined) => ({ headers: cookie === undefined ? {} : { cookie } }) as FastifyRequest;

describe('RefreshCookie', () => {
  it.each([
    ['https://auth.atiru.dev', true],
    ['http://auth.example.com', true],
    ['http://localhost.example.com', true],
    ['http://localhost:3000', false],
    ['http://localhost', false],
    ['http://127.0.0.1:3000', false],
  ])('PUBLIC_URL %s: Secure is %s', (publicUrl, secure) => {
    const set = cookieFor(publicUrl).set('tok', 600);
    expect(set).toBe(`atiru_refresh=tok; Max-Age=600; Path=/auth/refresh; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`);
    expect(cookieFor(publicUrl).clear()).toBe(`atiru_refresh=; Max-Age=0; Path=/auth/refresh; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`);
  });

  it('reads its own cookie among others, and nothing from a look-alike or an empty one', () => {
    const cookie = cookieFor('https://auth.atiru.dev');
    expect(cookie.read(requestWith('a=1; atiru_refresh=abc_DEF-123; b=2'))).toBe('abc_DEF-123');
    expect(cookie.read(requestWith('atiru_refresh_old=zzz; xatiru_refresh=yyy'))).toBeUndefined();
    expect(cookie.read(requestWith('atiru_refresh='))).toBeUndefined();
    expect(cookie.read(requestWith(undefined))).toBeUndefined();
  });
});
