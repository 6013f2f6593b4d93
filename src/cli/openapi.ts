import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createApp } from '../app.factory';
import { loadConfig } from '../config/app-config';
import { buildOpenApiDocument, toYaml } from '../openapi';

/** Regenerates the committed `openapi.yaml` from the code. Needs no database. */
export async function renderOpenApiYaml(): Promise<string> {
  const app = await createApp(loadConfig({ NODE_ENV: 'test' }), { preview: true });
  try {
    return toYaml(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  renderOpenApiYaml().then((yaml) => {
    const target = resolve(__dirname, '..', '..', 'openapi.yaml');
    writeFileSync(target, yaml);
    process.stdout.write(`wrote ${target}\n`);
  });
}
