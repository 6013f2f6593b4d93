import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { renderOpenApiYaml } from '../../src/cli/openapi';

const root = join(__dirname, '..', '..');

describe('openapi.yaml', () => {
  it('is what `npm run openapi` generates from the code (run it and commit the result if this fails)', async () => {
    const committed = readFileSync(join(root, 'openapi.yaml'), 'utf8');
    expect(await renderOpenApiYaml()).toBe(committed);
  });

  it('has its typed client, client/atiru-api.d.ts, up to date (`npm run client:generate` if this fails)', async () => {
    const cli = join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
    const check = promisify(execFile)(process.execPath, [cli, 'openapi.yaml', '-o', 'client/atiru-api.d.ts', '--check'], { cwd: root });
    await expect(check).resolves.toBeDefined();
  });
});
