import { describeDevice, formatAgo, formatWait } from '../../dashboard/src/format';

describe('the dashboard tells a person', () => {
  it.each([
    [1, '1 second'],
    [45, '45 seconds'],
    [60, '1 minute'],
    [61, '2 minutes'],
    [900, '15 minutes'],
  ])('a Retry-After of %i s as "%s"', (seconds, words) => {
    expect(formatWait(seconds)).toBe(words);
  });

  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on macOS'],
    ['curl/8.5.0', 'curl'],
    [null, 'Unknown device'],
  ])('the device of %s as "%s"', (userAgent, device) => {
    expect(describeDevice(userAgent)).toBe(device);
  });

  it('how long ago a session was active', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    expect(formatAgo('2026-12-05T11:59:58Z', now)).toBe('just now');
    expect(formatAgo('2026-12-05T11:57:00Z', now)).toBe('3 minutes ago');
    expect(formatAgo('2026-12-05T09:00:00Z', now)).toBe('3 hours ago');
    expect(formatAgo('2026-12-04T12:00:00Z', now)).toBe('yesterday');
  });
});
