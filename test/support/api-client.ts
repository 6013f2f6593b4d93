import createClient, { Client } from 'openapi-fetch';
import type { paths } from '../../client/atiru-api';
import { assertMatchesContract } from './contract';
import type { TestApp } from './test-app';

/** The client a consumer of `openapi.yaml` would generate: `npm run client:generate` + openapi-fetch. */
export type ApiClient = Client<paths>;

/**
 * A typed client for a running test app. If `openapi.yaml` and the service disagree, a test using
 * it fails to compile (paths, parameters, bodies) or fails at run time: every response is also
 * checked against the contract, as `TestApp.request()` does.
 */
export function createApiClient(service: Pick<TestApp, 'baseUrl'>, headers: Record<string, string> = {}): ApiClient {
  // Redirects are answers of this API (e.g. the confirmation link), so they are not followed.
  const client = createClient<paths>({ baseUrl: service.baseUrl, redirect: 'manual', headers });
  client.use({
    async onResponse({ request, response }) {
      const url = new URL(request.url);
      const text = await response.clone().text();
      assertMatchesContract(request.method, url.pathname + url.search, response.status, text === '' ? undefined : parseJson(text), response.headers);
    },
  });
  return client;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
