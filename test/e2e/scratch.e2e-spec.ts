import { EntityManager } from '@mikro-orm/postgresql';
import { ApiKeyAuthenticator } from '../../src/api-keys/api-key-authenticator';
import { ApiKeysService } from '../../src/api-keys/api-keys.service';
import { UsersRepository } from '../../src/users/users.repository';
import { startTestApp, TestApp } from '../support/test-app';

describe('scratch', () => {
  let a: TestApp;
  beforeAll(async () => {
    a = await startTestApp({});
  });
  afterAll(async () => {
    const t = Date.now();
    await a.close();
    console.log('close ms', Date.now() - t);
  });
  it('works', async () => {
    const knex = a.app.get(EntityManager).getConnection().getKnex();
    const seen: string[] = [];
    knex.on('query', (q: any) => seen.push(q.sql));
    const em = a.app.get(EntityManager).fork();
    const user = await em.transactional((tx) => a.app.get(UsersRepository).insertIfEmailFree(tx, 'x@y.z', 'h'));
    const svc = a.app.get(ApiKeysService);
    const created = await svc.create(user!.id, { name: 'n' });
    await a.app.get(ApiKeyAuthenticator).authenticate(created.key);
    await a.app.get(ApiKeyAuthenticator).authenticate(created.key);
    await svc.revoke(user!.id, created.id);
    console.log(seen);
  });
});
