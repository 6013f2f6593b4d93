import { DurationHistogram } from '../../src/metrics/duration-histogram';

describe('DurationHistogram', () => {
  it('writes cumulative buckets, the sum and the count of each series in the text format', () => {
    const histogram = new DurationHistogram<'route' | 'status'>('x_seconds', 'How long', [0.01, 0.1, 1]);
    const fast = histogram.seriesFor({ route: '/a', status: '200' });
    fast.observe(0.005);
    fast.observe(0.01); // a bound is inclusive: `le` means less than or equal
    fast.observe(0.5);
    fast.observe(3);

    expect(histogram.exposition()).toBe(
      [
        '# HELP x_seconds How long',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{route="/a",status="200",le="0.01"} 2',
        'x_seconds_bucket{route="/a",status="200",le="0.1"} 2',
        'x_seconds_bucket{route="/a",status="200",le="1"} 3',
        'x_seconds_bucket{route="/a",status="200",le="+Inf"} 4',
        'x_seconds_sum{route="/a",status="200"} 3.515',
        'x_seconds_count{route="/a",status="200"} 4',
        '',
      ].join('\n'),
    );
  });

  it('leaves out a series that has observed nothing, and escapes label values and help', () => {
    const histogram = new DurationHistogram<'route'>('x_seconds', 'line\\one\nline two', [1]);
    histogram.seriesFor({ route: '/never' });
    histogram.seriesFor({ route: 'say "hi"\\\n' }).observe(2);

    expect(histogram.exposition().split('\n')).toEqual([
      '# HELP x_seconds line\\\\one\\nline two',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{route="say \\"hi\\"\\\\\\n",le="1"} 0',
      'x_seconds_bucket{route="say \\"hi\\"\\\\\\n",le="+Inf"} 1',
      'x_seconds_sum{route="say \\"hi\\"\\\\\\n"} 2',
      'x_seconds_count{route="say \\"hi\\"\\\\\\n"} 1',
      '',
    ]);
  });
});
