import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/**
 * The naming scheme of docs/architecture.md ("Names"): a file holding an injectable or a Nest
 * building block is `<name>.<role>.ts` and its class `<Name><Role>`, the role being the class
 * name's last word; a DTO file is named after one of its classes. A reader who knows the class
 * knows the file, and the other way round.
 */
const SRC = join(__dirname, '..', '..', 'src');
const NEST_DECORATED = /^@(?:Injectable|Controller|Module|Catch|Entity)\([^]*?^export (?:abstract )?class (\w+)/gm;
const EXPORTED_CLASS = /^export (?:abstract )?class (\w+)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `SigningKeyRing` → `signing-key.ring.ts`; a one-word class keeps its word (`Clock` → `clock.ts`). */
function fileNameOf(className: string): string {
  const words = (className.match(/[A-Z][a-z0-9]*/g) ?? []).map((word) => word.toLowerCase());
  const role = words.pop()!;
  return words.length === 0 ? `${role}.ts` : `${words.join('-')}.${role}.ts`;
}

const files = sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), name: basename(path), text: readFileSync(path, 'utf8') }));

describe('file names in src/', () => {
  it('derives the file name from the class name', () => {
    expect(fileNameOf('SigningKeyRing')).toBe('signing-key.ring.ts');
    expect(fileNameOf('ApiKeysRepository')).toBe('api-keys.repository.ts');
    expect(fileNameOf('ActiveSessionListResponseDto')).toBe('active-session-list-response.dto.ts');
    expect(fileNameOf('Clock')).toBe('clock.ts');
  });

  it('names every file holding an injectable, a controller, a module, a filter or an entity after its class', () => {
    const misnamed = files.flatMap(({ path, name, text }) => {
      const classes = [...text.matchAll(NEST_DECORATED)].map((match) => match[1]);
      return classes.length > 0 && !classes.some((cls) => fileNameOf(cls) === name) ? [`${path}: ${classes.map(fileNameOf).join(' or ')}`] : [];
    });
    expect(misnamed).toEqual([]);
  });

  it('names every DTO file after one of its classes', () => {
    const misnamed = files.flatMap(({ path, name, text }) => {
      if (!name.endsWith('.dto.ts')) return [];
      const classes = [...text.matchAll(EXPORTED_CLASS)].map((match) => match[1]);
      return classes.some((cls) => fileNameOf(cls) === name) ? [] : [`${path}: ${classes.join(', ')}`];
    });
    expect(misnamed).toEqual([]);
  });

  it('keeps every DTO class in a DTO file, not beside a controller or a service', () => {
    const strays = files.flatMap(({ path, name, text }) =>
      name.endsWith('.dto.ts') ? [] : [...text.matchAll(EXPORTED_CLASS)].filter((match) => match[1].endsWith('Dto')).map((match) => `${path}: ${match[1]}`),
    );
    expect(strays).toEqual([]);
  });
});
