import Redis from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestRedisServer } from './redis-server';
import { eventually } from './wait';

/** Slots a cluster has: every key hashes to one of them. */
const SLOTS = 16384;

/**
 * A throw-away Redis Cluster of the test's own: three primaries, no replicas, the slots shared out
 * evenly. A node stopped and started again keeps its port and its cluster configuration (a file
 * in a temporary folder), so it rejoins with its slots, empty, as a primary restarted without
 * persistence does. Nodes give up on a silent peer after a second rather than fifteen.
 */
export class TestRedisCluster {
  private readonly folder = mkdtempSync(join(tmpdir(), 'atiru-redis-cluster-'));
  readonly nodes = [0, 1, 2].map(
    () =>
      new TestRedisServer((port) => [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(this.folder, `nodes-${port}.conf`),
        '--cluster-node-timeout', '1000',
      ]),
  );

  /** The first node's address: what REDIS_URL names, as an operator gives the configuration endpoint. */
  get url(): string {
    return this.nodes[0].url;
  }

  async start(): Promise<this> {
    for (const node of this.nodes) await node.start();
    const clients = this.nodes.map((node) => new Redis(node.url));
    try {
      const share = Math.ceil(SLOTS / clients.length);
      await Promise.all(clients.map((client, index) => client.cluster('ADDSLOTSRANGE', index * share, Math.min(SLOTS, (index + 1) * share) - 1)));
      for (const node of this.nodes.slice(1)) await clients[0].cluster('MEET', '127.0.0.1', node.port);
      const up = (infos: unknown[]) => infos.every((info) => /cluster_state:ok/.test(String(info)));
      if (!up(await eventually(() => Promise.all(clients.map((client) => client.cluster('INFO'))), up, 20_000))) {
        throw new Error('the test Redis Cluster did not come up');
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
    return this;
  }

  /** The node that holds `key`'s slot, as the cluster says. */
  async nodeOf(key: string): Promise<TestRedisServer> {
    const client = new Redis(this.url);
    try {
      const slot = Number(await client.cluster('KEYSLOT', key));
      const ranges = await client.cluster('SLOTS');
      const holder = ranges.find(([first, last]) => first <= slot && slot <= last)?.[2][1];
      const node = this.nodes.find((candidate) => candidate.port === holder);
      if (node === undefined) throw new Error(`no node of the test cluster holds slot ${slot}`);
      return node;
    } finally {
      client.disconnect();
    }
  }

  /** Every key of every node, by node. */
  async keys(): Promise<string[][]> {
    return Promise.all(
      this.nodes.map(async (node) => {
        const client = new Redis(node.url);
        try {
          return await client.keys('*');
        } finally {
          client.disconnect();
        }
      }),
    );
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop();
    rmSync(this.folder, { recursive: true, force: true });
  }
}
