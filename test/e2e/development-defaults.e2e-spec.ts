import { CompiledService, startCompiledService } from '../support/compiled-service';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * A deployment that sets its database, mail and public address but forgets NODE_ENV=production
 * starts on development defaults (the placeholder signing-key secret, a localhost front-end
 * allowed to receive mailed tokens); the start says so, at warn, which a deployment's logs show.
 */
describe('the service started without NODE_ENV=production', () => {
  let database: TestDatabase;
  let service: CompiledService | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it('says at warn which development defaults it runs on, before it serves', async () => {
    service = await startCompiledService(database.url, {
      env: { NODE_ENV: undefined, PUBLIC_URL: 'https://auth.atiru.test', SMTP_URL: 'smtp://127.0.0.1:9', LOG_LEVEL: 'warn' },
    });
    const output = service.stdout() + service.stderr();

    expect(output).toContain('NODE_ENV is not production: running on development defaults');
    expect(output).toContain('SIGNING_KEY_ENCRYPTION_SECRET is a placeholder');
    expect(output).toContain('mailed links may send their tokens to http://localhost:5173 (REDIRECT_ALLOW_LIST)');
    expect(output).not.toContain('(SMTP_URL)');
    expect(output).not.toContain('(PUBLIC_URL)');
  });
});
