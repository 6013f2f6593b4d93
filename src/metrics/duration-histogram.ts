/**
 * A Prometheus histogram kept in plain numbers, one series per set of labels, written out in the
 * text exposition format when scraped.
 *
 * prom-client's Histogram checks the labels, hashes them into a key and looks its bucket up by the
 * bound's string on every `observe`, its labelled children included, and offers no public way to
 * hand it counts kept elsewhere. A response's duration is observed on every request, so the
 * request path counts here instead: one series per route, method and status, made once, and an
 * observation is a scan of the bounds and two additions.
 */
export class DurationHistogram<L extends string> {
  private readonly series: DurationSeries<L>[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds in seconds, ascending; `+Inf` is implied. */
    readonly bounds: readonly number[],
  ) {}

  /** The series of these labels: made once by its owner, which keeps it and observes on it. */
  seriesFor(labels: Readonly<Record<L, string>>): DurationSeries<L> {
    const series = new DurationSeries(labels, this.bounds);
    this.series.push(series);
    return series;
  }

  /** The histogram in Prometheus' text format (version 0.0.4), cumulative buckets as it requires. */
  exposition(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const series of this.series) {
      if (series.count === 0) continue;
      const labels = Object.entries<string>(series.labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.buckets[i];
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        lines.push(`${this.name}_bucket{${[...labels, `le="${le}"`].join(',')}} ${cumulative}`);
      }
      lines.push(`${this.name}_sum{${labels.join(',')}} ${series.sum}`);
      lines.push(`${this.name}_count{${labels.join(',')}} ${series.count}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** The observations of one set of labels. */
export class DurationSeries<L extends string> {
  /** Observations per bucket, not cumulative; the last is above every bound. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<L, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]) bucket++;
    this.buckets[bucket]++;
    this.sum += seconds;
    this.count++;
  }
}

/** A label value as the text format writes it: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A HELP text as the text format writes it: backslash and line feed escaped. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
