import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * A merge that left its conflict markers in a file (docs/operations.md held one unnoticed across
 * several commits): TypeScript refuses them in code, but nothing read the documents.
 */
const ROOT = join(__dirname, '..', '..');
const FOLDERS = ['src', 'test', 'bench', 'docs', 'dashboard', 'client', '.ci'];
const ROOT_FILES = ['README.md', 'openapi.yaml', 'package.json', '.env.example'];
const SKIPPED = new Set(['node_modules', 'dist']);
// The opening and closing markers: a line of seven `=` alone may be a Markdown heading's underline.
const MARKER = /^(?:<{7}|>{7})(?: |$)/m;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the repository', () => {
  it('holds no unresolved merge conflict in its code, tests or documents', () => {
    const files = [...FOLDERS.flatMap((folder) => filesUnder(join(ROOT, folder))), ...ROOT_FILES.map((name) => join(ROOT, name))];
    expect(files.length).toBeGreaterThan(100);
    const conflicted = files.filter((path) => MARKER.test(readFileSync(path, 'utf8'))).map((path) => relative(ROOT, path));
    expect(conflicted).toEqual([]);
  });
});
