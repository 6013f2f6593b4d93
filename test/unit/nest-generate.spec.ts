import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify, stripVTControlCharacters } from 'node:util';

/**
 * `nest generate` as nest-cli.json configures it, dry-run (nothing is written): a feature lands
 * in `src/<name>/` with `<name>.<role>.ts` files, and no spec file beside it (the project's tests
 * live under test/, where Jest looks).
 */
const ROOT = join(__dirname, '..', '..');
const NEST = require.resolve('@nestjs/cli/bin/nest.js');

async function dryRun(schematic: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [NEST, 'generate', schematic, 'widgets', '--dry-run'], { cwd: ROOT, env: { PATH: process.env.PATH } });
  // "CREATE src/widgets/widgets.module.ts (84 bytes)", without colours
  return stripVTControlCharacters(stdout)
    .split('\n')
    .filter((line) => /^(CREATE|UPDATE) /.test(line))
    .map((line) => line.replace(/ \(\d+ bytes\)$/, ''));
}

describe('nest generate (nest-cli.json)', () => {
  it.each([
    ['module', 'CREATE src/widgets/widgets.module.ts'],
    ['controller', 'CREATE src/widgets/widgets.controller.ts'],
    ['service', 'CREATE src/widgets/widgets.service.ts'],
  ])('%s: one file in the feature folder and no spec file', async (schematic, created) => {
    expect(await dryRun(schematic)).toEqual([created, 'UPDATE src/app.module.ts']);
  }, 60_000);
});
