import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderOpenApiYaml } from '../../src/cli/openapi';

describe('openapi.yaml', () => {
  it('is what `npm run openapi` generates from the code (run it and commit the result if this fails)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8');
    expect(await renderOpenApiYaml()).toBe(committed);
  });
});
