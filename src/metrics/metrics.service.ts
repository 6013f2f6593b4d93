import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Principal } from '../common/auth/principal';

/** What a gauge reads when Prometheus scrapes; undefined leaves the gauge unset. */
export type GaugeReader = () => number | undefined | Promise<number | undefined>;

type Labels = 'method' | 'route' | 'status';
type RequestChildren = { count: Counter.Internal; duration: Histogram.Internal<Labels> };

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The service's Prometheus metrics, in a registry of this application's own (several instances
 * can share a process in tests). Requests are counted as they end; everything else is read from
 * its owner when scraped, so nothing on the request path keeps a gauge up to date.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly durations: Histogram<'method' | 'route' | 'status'>;
  private readonly authentications: Counter<'method' | 'outcome'>;
  /** Labelled children by route, method and status: prom-client hashes the labels on each call otherwise. */
  private readonly children = new Map<string, Map<string, Map<number, RequestChildren>>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'atiru_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.durations = new Histogram({
      name: 'atiru_http_request_duration_seconds',
      help: 'Time from the request to its response, by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.authentications = new Counter({
      name: 'atiru_authentications_total',
      help: 'Authentication decisions on protected routes, by credential kind (jwt, api_key) and outcome (admitted, denied, rate_limited)',
      labelNames: ['method', 'outcome'],
      registers: [this.registry],
    });
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

  /** Called once per response, as it ends. */
  observe(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const children = this.childrenFor(request.method, route, status);
    children.count.inc();
    children.duration.observe(reply.elapsedTime / 1000);

    const principal = (request as FastifyRequest & { user?: Principal | null }).user;
    if (principal) this.authentications.inc({ method: principal.method, outcome: 'admitted' });
    else if (status === 401 || status === 403 || status === 429) {
      const method = credentialKind(request);
      if (method !== undefined) this.authentications.inc({ method, outcome: status === 429 ? 'rate_limited' : 'denied' });
    }
  }

  private childrenFor(method: string, route: string, status: number): RequestChildren {
    let byMethod = this.children.get(route);
    if (byMethod === undefined) this.children.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let children = byStatus.get(status);
    if (children === undefined) {
      const labels = { method, route, status: String(status) };
      byStatus.set(status, (children = { count: this.requests.labels(labels), duration: this.durations.labels(labels) }));
    }
    return children;
  }
}

/** The kind of credential a refused request carried, if any (never the credential itself). */
function credentialKind(request: FastifyRequest): 'jwt' | 'api_key' | undefined {
  if (request.headers['x-api-key'] !== undefined) return 'api_key';
  const authorization = request.headers.authorization;
  if (authorization === undefined) return undefined;
  return /^bearer\s+atiru_/i.test(authorization) ? 'api_key' : 'jwt';
}
