import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: Array<{ pointer: string }>;
}

/** Runs `redocly lint` with the repository's config but without its ignore file. */
async function lintWithoutIgnores(): Promise<LintProblem[]> {
  const dir = mkdtempSync(join(tmpdir(), 'atiru-lint-'));
  try {
    for (const file of ['openapi.yaml', 'redocly.yaml']) copyFileSync(join(root, file), join(dir, file));
    const cli = join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
    // Exits non-zero on errors; the JSON report is on stdout either way.
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'lint', 'openapi.yaml', '--format=json'], {
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off' },
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    return JSON.parse(stdout).problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('openapi.yaml under Redocly (recommended rules, redocly.yaml)', () => {
  // An exception, when one is ever needed, goes into .redocly.lint-ignore.yaml (`redocly lint
  // --generate-ignore-file`) with a comment saying why; this test then holds it to still apply.
  it('has no problem except those .redocly.lint-ignore.yaml accepts, and every accepted one still occurs', async () => {
    const problems = await lintWithoutIgnores();
    const found = problems.map((problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer}: ${problem.message}`);
    const ignoreFile = join(root, '.redocly.lint-ignore.yaml');
    const accepted: Record<string, string[] | null> = existsSync(ignoreFile) ? (parse(readFileSync(ignoreFile, 'utf8'))?.['openapi.yaml'] ?? {}) : {};
    const acceptedKeys = Object.entries(accepted).flatMap(([rule, pointers]) => (pointers ?? []).map((pointer) => `${rule} ${pointer}`));

    const foundKeys = problems.map((problem) => `${problem.ruleId} ${problem.location[0]?.pointer}`);
    expect({ notAccepted: found.filter((_, index) => !acceptedKeys.includes(foundKeys[index])) }).toEqual({ notAccepted: [] });
    expect({ acceptedButGone: acceptedKeys.filter((key) => !foundKeys.includes(key)) }).toEqual({ acceptedButGone: [] });
    expect(found.filter((line) => line.startsWith('error '))).toEqual([]);
  });
});
