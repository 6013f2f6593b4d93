import { describeRetirement, parseRotateArguments, USAGE } from '../../src/cli/keys-rotate';

describe('npm run keys:rotate arguments', () => {
  it('rotates on schedule without an option, with a new secret with --new-secret, retires at once with --retire-now, and shows the usage for --help', () => {
    expect(parseRotateArguments([])).toEqual({ retireNow: false, newSecret: false });
    expect(parseRotateArguments(['--new-secret'])).toEqual({ retireNow: false, newSecret: true });
    expect(parseRotateArguments(['--retire-now'])).toEqual({ retireNow: true, newSecret: false });
    expect(parseRotateArguments(['--help'])).toBe('help');
    expect(parseRotateArguments(['-h'])).toBe('help');
  });

  it('answers the usage text for anything else, rather than rotate in a way nobody asked for', () => {
    for (const args of [['--retire'], ['--retire-now', '--new-secret'], ['--new-secret', '--new-secret'], ['--retire-now', '--retire-now'], ['--retire-now', 'yes'], ['retire-now'], ['--now'], ['--retire-now=true']]) {
      expect(() => parseRotateArguments(args)).toThrow(/^usage: npm run keys:rotate \[-- --retire-now \| --new-secret\]\n/);
    }
  });

  it('the usage text names the three ways and where the runbook is', () => {
    expect(USAGE).toMatch(/^usage: npm run keys:rotate \[-- --retire-now \| --new-secret\]\n/);
    expect(USAGE).toMatch(/\n {2}--new-secret {3}the same, sealed with a new SIGNING_KEY_ENCRYPTION_SECRET/);
    expect(USAGE).toMatch(/\n {2}--retire-now {3}for a signing key that may be compromised/);
    expect(USAGE).toContain('docs/operations.md');
  });
});

describe('what npm run keys:rotate -- --retire-now prints', () => {
  it('names the new key, the keys retired, from when nothing they signed is accepted, and what verifiers must do', () => {
    const printed = describeRetirement({
      kid: 'new-kid',
      signsFrom: new Date('2026-12-06T18:00:00.000Z'),
      retired: ['old-kid', 'older-kid'],
      refusedEverywhereFrom: new Date('2026-12-06T18:00:02.010Z'),
    });
    expect(printed).toBe(
      'new signing key new-kid signs access tokens from 2026-12-06T18:00:00.000Z\n' +
        'retired at once, no longer verifying or published: old-kid, older-kid\n' +
        'no instance accepts an access token they signed since 2026-12-06T18:00:02.010Z; clients get new ones with their refresh tokens\n' +
        'services that cache the JWKS must fetch it again now, and again after 120 s ' +
          '(an instance that heard nothing may publish the old keys until its next reload, and a copy lives 60 s)\n',
    );
  });
});
