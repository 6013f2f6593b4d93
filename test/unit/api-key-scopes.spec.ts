import { createHash } from 'node:crypto';
import { checkedScopes, scopeClaim } from '../../src/api-keys/api-key-scopes';
import { IntrospectionClients } from '../../src/auth/guards/introspection.clients';
import { defaultScopes, missingScope } from '../../src/common/auth/scopes';
import { AppError } from '../../src/common/errors/app-error';
import { ConfigError, loadConfig } from '../../src/config/app-config';

const SECRET = 'a-long-random-secret-0123456789abcdef';

describe('API key scopes', () => {
  it('asks read of GET and HEAD and write of every other method, unless the route says otherwise', () => {
    expect(['GET', 'head', 'OPTIONS'].map(defaultScopes)).toEqual([['read'], ['read'], ['read']]);
    expect(['POST', 'PUT', 'PATCH', 'DELETE'].map(defaultScopes)).toEqual([['write'], ['write'], ['write'], ['write']]);
    expect(missingScope(['read'], ['read'])).toBeUndefined();
    expect(missingScope(['read'], ['deploy', 'write'])).toBe('deploy');
    expect(missingScope(['write', 'deploy'], ['deploy', 'write'])).toBeUndefined();
  });

  it('keeps a key\'s scopes in the vocabulary\'s order, once each, and refuses one outside it', () => {
    const vocabulary = ['read', 'write', 'deploy'];
    expect(checkedScopes(undefined, vocabulary)).toBeNull();
    expect(checkedScopes(null, vocabulary)).toBeNull();
    expect(checkedScopes(['deploy', 'read', 'deploy'], vocabulary)).toEqual(['read', 'deploy']);
    expect(() => checkedScopes(['read', 'admin'], vocabulary)).toThrow(AppError);
    expect(scopeClaim(undefined, vocabulary)).toBe('read write deploy');
    expect(scopeClaim(['read'], vocabulary)).toBe('read');
  });

  it('reads API_KEY_SCOPES (default read,write) and refuses malformed or repeated names', () => {
    expect(loadConfig({}).apiKeys.scopes).toEqual(['read', 'write']);
    expect(loadConfig({ API_KEY_SCOPES: 'read, write ,billing:export' }).apiKeys.scopes).toEqual(['read', 'write', 'billing:export']);
    for (const value of ['Read', 'read,read', 'read write', `a${'b'.repeat(32)}`]) {
      expect(() => loadConfig({ API_KEY_SCOPES: value })).toThrow(/API_KEY_SCOPES/);
    }
  });
});

describe('introspection clients', () => {
  const digest = createHash('sha256').update(SECRET).digest('hex');
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  it('reads INTROSPECTION_CLIENTS as id:secret or id:sha256:<hex>, keeping digests only', () => {
    const config = loadConfig({ INTROSPECTION_CLIENTS: `billing:${SECRET}, reports:sha256:${digest}` });
    expect(config.introspectionClients.map((client) => [client.id, client.secretSha256.toString('hex')])).toEqual([
      ['billing', digest],
      ['reports', digest],
    ]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(loadConfig({}).introspectionClients).toEqual([]);
  });

  it('refuses a short secret, a repeated or malformed id, without naming the secret', () => {
    for (const value of ['billing:short', `billing:${SECRET},billing:${SECRET}`, `bad id:${SECRET}`, 'billing']) {
      let error: unknown;
      try {
        loadConfig({ INTROSPECTION_CLIENTS: value });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/INTROSPECTION_CLIENTS/);
      expect((error as ConfigError).message).not.toContain(SECRET);
    }
  });

  it('accepts the right id and secret only, in either form of configuration', () => {
    const clients = new IntrospectionClients(loadConfig({ INTROSPECTION_CLIENTS: `billing:${SECRET},reports:sha256:${digest}` }));
    expect(clients.verify(basic('billing', SECRET))).toBe('billing');
    expect(clients.verify(`basic  ${Buffer.from(`reports:${SECRET}`).toString('base64')}`)).toBe('reports');
    for (const header of [undefined, '', basic('billing', `${SECRET}x`), basic('nobody', SECRET), basic('', SECRET), basic('reports', digest), `Bearer ${SECRET}`, 'Basic !!!']) {
      expect(clients.verify(header)).toBeUndefined();
    }
    expect(new IntrospectionClients(loadConfig({})).verify(basic('billing', SECRET))).toBeUndefined();
  });
});
