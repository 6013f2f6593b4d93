import autocannon from 'autocannon';

/** One request of a scenario; a scenario with several sends them round-robin. */
export interface RequestVariant {
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as application/x-www-form-urlencoded instead. */
  form?: Record<string, string>;
}

export interface LoadSpec {
  baseUrl: string;
  method: string;
  path: string;
  variants: RequestVariant[];
  expectStatus: number;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Responses whose status was not the expected one. */
  unexpected: number;
  /** The statuses seen, for diagnosing `unexpected`. */
  statuses: Record<string, number>;
  responses: number;
  /** Requests written, answered or not when the run stopped. */
  sent: number;
  /** Each response's latency (ms), kept so that slices of one measurement can be merged exactly. */
  latenciesMs?: number[];
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    const instance = autocannon(options(spec, { duration: spec.durationSeconds }), (error, result) =>
      error ? reject(error) : resolve({ ...summarise(result, spec.expectStatus), latenciesMs }),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latenciesMs.push(responseTime));
  });
}

export interface BackgroundLoad {
  /** Responses received so far. */
  responses(): number;
  stop(): Promise<LoadResult>;
}

/** A load that runs until stopped, e.g. logins flat out while another scenario is measured. */
export function startBackgroundLoad(spec: Omit<LoadSpec, 'durationSeconds'>): BackgroundLoad {
  let responses = 0;
  let instance!: autocannon.Instance;
  const finished = new Promise<LoadResult>((resolve, reject) => {
    instance = autocannon(options(spec, { duration: 3600 }), (error, result) =>
      error ? reject(error) : resolve(summarise(result, spec.expectStatus)),
    );
  });
  instance.on('response', () => responses++);
  return {
    responses: () => responses,
    stop() {
      instance.stop();
      return finished;
    },
  };
}

/** Exactly `amount` requests, however long they take: for counting instructions, not for rates. */
export function sendRequests(spec: Omit<LoadSpec, 'durationSeconds'>, amount: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon(options(spec, { amount }), (error, result) => (error ? reject(error) : resolve(summarise(result, spec.expectStatus))));
  });
}

function options(spec: Omit<LoadSpec, 'durationSeconds'>, length: { duration: number } | { amount: number }): autocannon.Options {
  const requests = spec.variants.map((variant) => toRequest(spec, variant));
  return {
    url: spec.baseUrl,
    connections: spec.connections,
    ...length,
    timeout: 10,
    // Each connection builds the buffer of every request it is given, before the run starts, and
    // the whole list on every connection took a noticeable part of a run. So each connection gets
    // its own share, and starts with the first of it.
    requests: requests.slice(0, 1),
    setupClient: requests.length > 1 ? shareOut(requests, spec.connections) : undefined,
  };
}

/**
 * Deals the requests out to the connections like cards: connection c sends requests c, c + n,
 * c + 2n... round-robin (n connections), so every request is sent, and the ones in flight at any
 * moment are spread over the whole list. With fewer requests than connections, each connection
 * sends one of them.
 */
function shareOut(requests: autocannon.Request[], connections: number): (client: autocannon.Client) => void {
  let connection = 0;
  return (client) => {
    const own = connection++ % connections;
    const share = requests.length >= connections ? requests.filter((_, index) => index % connections === own) : [requests[own % requests.length]];
    client.setRequests(share);
  };
}

function toRequest(spec: Pick<LoadSpec, 'method' | 'path'>, variant: RequestVariant): autocannon.Request {
  const headers: Record<string, string> = { ...variant.headers };
  if (variant.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { method: spec.method, path: spec.path, headers, body: new URLSearchParams(variant.form).toString() };
  }
  if (variant.body !== undefined) headers['content-type'] = 'application/json';
  return {
    method: spec.method,
    path: spec.path,
    headers,
    body: variant.body === undefined ? undefined : JSON.stringify(variant.body),
  };
}

export function summarise(result: autocannon.Result, expectStatus: number): LoadResult {
  const statuses: Record<string, number> = {};
  let responses = 0;
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    statuses[status] = count;
    responses += count;
  }
  return {
    requestsPerSecond: result.requests.average,
    // Without a single response there is no latency to speak of (autocannon would say 0).
    p50Ms: responses > 0 ? result.latency.p50 : NaN,
    p99Ms: responses > 0 ? result.latency.p99 : NaN,
    errors: result.errors + result.timeouts,
    unexpected: responses - (statuses[String(expectStatus)] ?? 0),
    statuses,
    responses,
    sent: result.requests.sent,
  };
}
