import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { looksLikeApiKey } from '../api-keys/api-key-format';
import { bearerCredential } from '../common/auth/bearer';
import type { Principal } from '../common/auth/principal';
import { DurationHistogram, DurationSeries } from './duration-histogram';

/** What a gauge reads when Prometheus scrapes; undefined leaves the gauge unset. */
export type GaugeReader = () => number | undefined | Promise<number | undefined>;

/** The same, for a metric with one label: a value per label value. */
export type LabelledReader = () => Record<string, number> | undefined | Promise<Record<string, number> | undefined>;

type Labels = 'method' | 'route' | 'status';

/** The responses of one route with one method and status: counted in a plain number, reported when scraped. */
interface ResponseTally {
  readonly labels: Record<Labels, string>;
  count: number;
  readonly duration: DurationSeries<Labels>;
}

type CredentialKind = 'jwt' | 'api_key';
type AuthenticationOutcome = 'admitted' | 'denied' | 'rate_limited';

/** Admitted, denied or rate-limited authentications with one kind of credential. */
interface AuthenticationTally {
  readonly labels: { method: CredentialKind; outcome: AuthenticationOutcome };
  count: number;
}

function authenticationTallies(): Record<CredentialKind, Record<AuthenticationOutcome, AuthenticationTally>> {
  const of = (method: CredentialKind) => ({
    admitted: { labels: { method, outcome: 'admitted' as const }, count: 0 },
    denied: { labels: { method, outcome: 'denied' as const }, count: 0 },
    rate_limited: { labels: { method, outcome: 'rate_limited' as const }, count: 0 },
  });
  return { jwt: of('jwt'), api_key: of('api_key') };
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The service's Prometheus metrics, in a registry of this application's own (several instances
 * can share a process in tests). Requests are counted as they end; everything else is read from
 * its owner when scraped, so nothing on the request path keeps a gauge up to date.
 *
 * prom-client checks and hashes the labels on every `inc` and `observe`, its labelled children
 * included, so the request path counts in plain numbers (one tally per route, method and status,
 * one per authentication kind and outcome) and the counters read them when scraped. The duration
 * histogram, which prom-client cannot be handed counts for, is one of the service's own
 * (DurationHistogram, docs/decisions/021), written out after the registry's metrics.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly durations = new DurationHistogram<Labels>(
    'atiru_http_request_duration_seconds',
    'Time from the request to its response, by route and status',
    DURATION_BUCKETS,
  );
  private readonly authentications: Counter<'method' | 'outcome'>;
  private readonly responseTallies: ResponseTally[] = [];
  private readonly authenticationTallies = authenticationTallies();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const responseTallies = this.responseTallies;
    const authenticationTallies = this.authenticationTallies;
    this.requests = new Counter({
      name: 'atiru_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const tally of responseTallies) this.inc(tally.labels, tally.count);
      },
    });
    this.authentications = new Counter({
      name: 'atiru_authentications_total',
      help: 'Authentication decisions on protected routes, by credential kind (jwt, api_key) and outcome (admitted, denied, rate_limited)',
      labelNames: ['method', 'outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const byOutcome of Object.values(authenticationTallies)) {
          // A series appears once it has counted something, as prom-client's own would.
          for (const tally of Object.values(byOutcome)) if (tally.count > 0) this.inc(tally.labels, tally.count);
        }
      },
    });
  }

  /** Every metric in Prometheus' text format: the registry's, then the duration histogram. */
  async exposition(): Promise<string> {
    // The registry's text (this registry's, never OpenMetrics) ends with a line feed.
    return `${await this.registry.metrics()}${this.durations.exposition()}`;
  }

  /** The content type of `exposition()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: GaugeReader): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const value = await read();
        if (value !== undefined) this.set(value);
      },
    });
  }

  /** A gauge with one label, read at scrape time. */
  labelledGauge(name: string, help: string, label: string, read: LabelledReader): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      async collect() {
        const values = await read();
        for (const [value, count] of Object.entries(values ?? {})) this.set({ [label]: value }, count);
      },
    });
  }

  /** A counter its owner keeps (counts since the process started), with one label, read at scrape time. */
  labelledCounter(name: string, help: string, label: string, read: () => Record<string, number>): void {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, count] of Object.entries(read())) this.inc({ [label]: value }, count);
      },
    });
  }

  /**
   * What counts the responses of one route (its pattern, e.g. `/auth/api-keys/:id`), as they end.
   * Made once per route, so a response costs no label hashing and no look-up of its route.
   */
  routeObserver(route: string): (request: FastifyRequest, reply: FastifyReply) => void {
    const byMethod = new Map<string, Map<number, ResponseTally>>();
    return (request, reply) => {
      const status = reply.statusCode;
      let byStatus = byMethod.get(request.method);
      if (byStatus === undefined) byMethod.set(request.method, (byStatus = new Map()));
      let tally = byStatus.get(status);
      if (tally === undefined) {
        const labels = { method: request.method, route, status: String(status) };
        byStatus.set(status, (tally = { labels, count: 0, duration: this.durations.seriesFor(labels) }));
        this.responseTallies.push(tally);
      }
      tally.count++;
      tally.duration.observe(reply.elapsedTime / 1000);

      const principal = (request as FastifyRequest & { user?: Principal | null }).user;
      if (principal) this.authenticationTallies[principal.method].admitted.count++;
      else if (status === 401 || status === 403 || status === 429) {
        const method = credentialKind(request);
        if (method !== undefined) this.authenticationTallies[method][status === 429 ? 'rate_limited' : 'denied'].count++;
      }
    };
  }
}

/** The kind of credential a refused request carried, if any (never the credential itself). */
function credentialKind(request: FastifyRequest): CredentialKind | undefined {
  if (request.headers['x-api-key'] !== undefined) return 'api_key';
  const credential = bearerCredential(request.headers.authorization);
  if (credential === undefined) return undefined;
  return looksLikeApiKey(credential) ? 'api_key' : 'jwt';
}
