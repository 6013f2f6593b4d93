import Redis, { Cluster } from 'ioredis';

/** Where the shared counts live: REDIS_URL, REDIS_KEY_PREFIX and REDIS_CLUSTER. */
export interface RedisTarget {
  url: string;
  keyPrefix: string;
  /** The URL names a node of a Redis Cluster rather than a standalone server. */
  cluster?: boolean;
}

/** A connection to a standalone Redis or to a cluster: the store uses what both offer alike. */
export type RedisConnection = Redis | Cluster;

/** How long a connection waits for a server to accept it before it tries again. */
const CONNECT_TIMEOUT_MS = 1000;

/**
 * A connection that fails fast while Redis is unreachable (no offline queue, no retries) and gives
 * up on a command after `commandTimeout` ms, with the rate-limit script defined on it
 * (`atiruRateLimit`, called with the number of keys first).
 *
 * ioredis puts the key prefix before every key a command names, a script's KEYS included. It would
 * not prefix a key a script makes up, a KEYS or SCAN pattern, or a pub/sub channel: the store uses
 * none, and a command that needs one must add the prefix itself.
 */
export function redisConnection(target: RedisTarget, commandTimeout: number, script: string): RedisConnection {
  const redis = target.cluster ? clusterConnection(target, commandTimeout) : standaloneConnection(target, commandTimeout);
  // Connection errors surface on each command; this listener only keeps them from being unhandled.
  redis.on('error', () => undefined);
  redis.defineCommand('atiruRateLimit', { lua: script });
  return redis;
}

/**
 * The prefix keys carry on a cluster: the deployment's prefix as a hash tag (`{atiru}:`), so that
 * every counter hashes to one slot. A script call and a merge name many keys at once, which a
 * cluster runs only when they share a slot; the counts are small and few, so one node holds them
 * all (docs/decisions/040).
 */
function clusterKeyPrefix(keyPrefix: string): string {
  return `{${keyPrefix.slice(0, -1)}}:`;
}

function standaloneConnection(target: RedisTarget, commandTimeout: number): Redis {
  return new Redis(target.url, {
    keyPrefix: target.keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

/**
 * The cluster through one of its nodes (its configuration endpoint): ioredis learns the others and
 * which holds each slot, and follows the cluster when a slot moves or a replica takes over.
 */
function clusterConnection(target: RedisTarget, commandTimeout: number): Cluster {
  const url = new URL(target.url);
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    keyPrefix: clusterKeyPrefix(target.keyPrefix),
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    // The nodes as the cluster names them: resolved to addresses here, a TLS connection to a
    // managed cluster would check its certificate against an address instead of the name.
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      username: decodeURIComponent(url.username) || undefined,
      password: decodeURIComponent(url.password) || undefined,
      tls: url.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout,
    },
  });
}

/**
 * Whether the server REDIS_URL names runs as a node of a cluster, asked on a connection of its
 * own that ends at once; undefined when it does not answer within `timeoutMs`.
 */
export async function redisServerIsClusterNode(url: string, timeoutMs: number): Promise<boolean | undefined> {
  const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const info = await probe.info('cluster');
    return /^cluster_enabled:1\s*$/m.test(info);
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}
