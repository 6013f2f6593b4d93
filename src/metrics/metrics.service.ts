import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Principal } from '../common/auth/principal';

/** What a gauge reads when Prometheus scrapes; undefined leaves the gauge unset. */
export type GaugeReader = () => number | undefined | Promise<number | undefined>;

/** The same, for a metric with one label: a value per label value. */
export type LabelledReader = () => Record<string, number> | undefined | Promise<Record<string, number> | undefined>;

type Labels = 'method' | 'route' | 'status';
type RequestChildren = { count: Counter.Internal; duration: Histogram.Internal<Labels> };

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The service's Prometheus metrics, in a registry of this application's own (several instances
 * can share a process in tests). Requests are counted as they end; everything else is read from
 * its owner when scraped, so nothing on the request path keeps a gauge up to date. Labelled
 * children are kept, since prom-client hashes the labels on every call otherwise.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly durations: Histogram<'method' | 'route' | 'status'>;
  private readonly authentications: Counter<'method' | 'outcome'>;
  private readonly authenticationChildren = new Map<string, Counter.Internal>();

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
    const byMethod = new Map<string, Map<number, RequestChildren>>();
    return (request, reply) => {
      const status = reply.statusCode;
      let byStatus = byMethod.get(request.method);
      if (byStatus === undefined) byMethod.set(request.method, (byStatus = new Map()));
      let children = byStatus.get(status);
      if (children === undefined) {
        const labels = { method: request.method, route, status: String(status) };
        byStatus.set(status, (children = { count: this.requests.labels(labels), duration: this.durations.labels(labels) }));
      }
      children.count.inc();
      children.duration.observe(reply.elapsedTime / 1000);

      const principal = (request as FastifyRequest & { user?: Principal | null }).user;
      if (principal) this.authentication(principal.method, 'admitted').inc();
      else if (status === 401 || status === 403 || status === 429) {
        const method = credentialKind(request);
        if (method !== undefined) this.authentication(method, status === 429 ? 'rate_limited' : 'denied').inc();
      }
    };
  }

  private authentication(method: 'jwt' | 'api_key', outcome: 'admitted' | 'denied' | 'rate_limited'): Counter.Internal {
    const key = `${method}:${outcome}`;
    let child = this.authenticationChildren.get(key);
    if (child === undefined) this.authenticationChildren.set(key, (child = this.authentications.labels({ method, outcome })));
    return child;
  }
}

/** The kind of credential a refused request carried, if any (never the credential itself). */
function credentialKind(request: FastifyRequest): 'jwt' | 'api_key' | undefined {
  if (request.headers['x-api-key'] !== undefined) return 'api_key';
  const authorization = request.headers.authorization;
  if (authorization === undefined) return undefined;
  return /^bearer\s+atiru_/i.test(authorization) ? 'api_key' : 'jwt';
}
