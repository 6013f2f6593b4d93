import { randomUUID } from 'node:crypto';
import { signedInUser } from '../support/signed-in-user';
import { startTestApp, TestApp } from '../support/test-app';

describe('HTTP hardening', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { CORS_ORIGINS: 'https://dashboard.atiru.test' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('sends the API security headers on API responses, no-store included', async () => {
    const { jwt } = await signedInUser(service.app, `headers-${randomUUID()}@example.com`);
    const requests: Array<[string, Record<string, string>?]> = [
      ['/health'],
      ['/users/me'],
      ['/no-such-route'],
      // Refused by Fastify's router before any hook runs.
      ['/users/%zz'],
      // A credential seen first, then one seen before (decided from memory), and a browser's request.
      ['/users/me', jwt],
      ['/users/me', jwt],
      ['/users/me', { ...jwt, origin: 'https://dashboard.atiru.test' }],
    ];
    for (const [path, headers] of requests) {
      const response = await service.request('GET', path, { headers, contract: path === '/no-such-route' || path === '/users/%zz' ? false : undefined });
      expect([path, response.headers.get('x-request-id')]).toEqual([path, expect.stringMatching(/^[\w.:-]{1,128}$/)]);
      expect([path, response.headers.get('x-content-type-options')]).toEqual([path, 'nosniff']);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      // Responses carry tokens, keys and account data: no cache may keep them.
      expect(response.headers.get('cache-control')).toBe('no-store');
      // Headers that protect documents, and Vary, which only a kept response needs, are left out.
      for (const header of ['cross-origin-resource-policy', 'referrer-policy', 'cross-origin-opener-policy', 'vary', 'x-powered-by']) {
        expect([path, header, response.headers.get(header)]).toEqual([path, header, null]);
      }
      if (headers?.origin) expect(response.headers.get('access-control-allow-origin')).toBe(headers.origin);
    }
  });

  it("sends helmet's full set, and a policy that lets Swagger UI load, on /docs", async () => {
    const page = await service.request('GET', '/docs');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-site');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('vary')).toBe('Origin');
  });

  it('lets the JWKS be cached for its own lifetime', async () => {
    const jwks = await service.request('GET', '/.well-known/jwks.json');
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=60');
    // Caches keep it, and its CORS headers depend on the Origin: one copy per origin.
    expect(jwks.headers.get('vary')).toBe('Origin');
  });

  it('keeps Swagger UI loadable under the content security policy', async () => {
    const page = await service.request('GET', '/docs');
    expect(page.status).toBe(200);
    const scripts = [...page.text.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    // Every script is a file from this origin, which `script-src 'self'` allows; none is inline.
    expect(page.text).not.toMatch(/<script(?![^>]*src=)[^>]*>\s*\S/);
    for (const src of scripts) {
      const asset = await service.request('GET', new URL(src, `${service.baseUrl}/docs`).pathname);
      expect([src, asset.status]).toEqual([src, 200]);
    }
  });

  it('allows CORS from a configured origin only', async () => {
    const allowed = await service.request('OPTIONS', '/health', {
      headers: { origin: 'https://dashboard.atiru.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dashboard.atiru.test');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);

    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(allowed.headers.get('access-control-max-age')).toBe('600');

    const simple = await service.request('GET', '/health', { headers: { origin: 'https://dashboard.atiru.test' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://dashboard.atiru.test');
    expect(simple.headers.get('access-control-expose-headers')).toMatch(/x-request-id.*retry-after/);

    const denied = await service.request('GET', '/health', { headers: { origin: 'https://evil.test' } });
    expect(denied.status).toBe(200);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(denied.headers.get('access-control-expose-headers')).toBeNull();

    const deniedPreflight = await service.request('OPTIONS', '/users/me', {
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
    });
    expect(deniedPreflight.status).toBe(204);
    expect(deniedPreflight.headers.get('access-control-allow-origin')).toBeNull();

    const noOrigin = await service.request('GET', '/health');
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});
