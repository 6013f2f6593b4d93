import { startTestApp, TestApp } from '../support/test-app';

describe('HTTP hardening', () => {
  let service: TestApp;

  beforeAll(async () => {
    service = await startTestApp({ env: { CORS_ORIGINS: 'https://dashboard.atiru.test' } });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('sends security headers', async () => {
    const response = await service.request('GET', '/health');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(response.headers.get('x-powered-by')).toBeNull();
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

    const denied = await service.request('GET', '/health', { headers: { origin: 'https://evil.test' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });
});
