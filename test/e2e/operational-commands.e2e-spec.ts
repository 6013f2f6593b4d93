import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompiledCommand } from '../support/compiled-service';
import { createTestDatabase } from '../support/test-database';

const ROOT = join(__dirname, '..', '..');

/**
 * The commands of the runbook (docs/operations.md) as an operator runs them on a deployment: the
 * built `dist/` and the production dependencies, no sources and no build tools.
 */
describe('the operational commands', () => {
  it('run the built files and build nothing: a deployment has no sources to build, and a build beside a running service would replace the dashboard it serves', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect({ migrate: scripts.migrate, rotate: scripts['keys:rotate'], resend: scripts['mail:resend'] }).toEqual({
      migrate: 'node dist/cli/migrate.js',
      rotate: 'node dist/cli/keys-rotate.js',
      resend: 'node dist/cli/mail-resend.js',
    });
  });

  it('migrate refuses an argument it does not know, exits 2 and applies nothing: a --dry-run is no go-ahead', async () => {
    const database = await createTestDatabase();
    try {
      const run = await runCompiledCommand('migrate', ['--dry-run'], { DATABASE_URL: database.url }, { timeoutMs: 30_000 });
      expect({ status: run.code, stderr: run.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(/^usage: npm run migrate/) });
      expect(await database.query(`SELECT count(*)::int AS tables FROM information_schema.tables WHERE table_schema = 'public'`)).toEqual([{ tables: 0 }]);
    } finally {
      await database.drop();
    }
  });
});
