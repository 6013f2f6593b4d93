/** One DNS label, as the URL parser writes host names (lower case, punycode). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ENTRY = /^(https?):\/\/(\*\.)?([^/:?#*]+)(?::(\d{1,5}))?\/?$/i;

interface Rule {
  protocol: string;
  /** Exact host, or the suffix after `*.` for a pattern. */
  host: string;
  wildcard: boolean;
  port: string;
}

/**
 * Decides whether a `redirect_to` may be used. Entries are exact origins (`https://app.atiru.dev`,
 * `http://localhost:5173`) or patterns whose `*` stands for exactly one subdomain label
 * (`https://*.atiru.dev` matches `https://eu.atiru.dev/x`, not `https://atiru.dev` nor
 * `https://a.b.atiru.dev`). Scheme and port must match too; paths and queries are free.
 */
export class RedirectAllowList {
  private readonly rules: Rule[];

  constructor(entries: readonly string[]) {
    this.rules = entries.map(parseEntry);
  }

  /** Answers the parsed URL when `candidate` is an allowed absolute http(s) URL, else null. */
  match(candidate: string): URL | null {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    // `https://app.atiru.dev@evil.example` reads like ours to a person; refuse credentials outright.
    if (url.username !== '' || url.password !== '') return null;
    // new URL() accepts relative-looking input such as `https:evil.example`; demand the real form.
    if (!/^https?:\/\//i.test(candidate.trim())) return null;
    const allowed = this.rules.some((rule) => {
      if (rule.protocol !== url.protocol || rule.port !== url.port) return false;
      if (!rule.wildcard) return url.hostname === rule.host;
      const dot = url.hostname.indexOf('.');
      return dot > 0 && LABEL.test(url.hostname.slice(0, dot)) && url.hostname.slice(dot + 1) === rule.host;
    });
    return allowed ? url : null;
  }
}

function parseEntry(entry: string): Rule {
  const match = ENTRY.exec(entry.trim());
  if (!match) {
    throw new Error(`REDIRECT_ALLOW_LIST: "${entry}" is neither an origin (https://app.example.com) nor a pattern (https://*.example.com)`);
  }
  const [, scheme, star, host, port] = match;
  // Let the URL parser normalise host and port exactly as it will normalise candidates.
  const normalised = new URL(`${scheme}://${host}${port ? `:${port}` : ''}`);
  return { protocol: normalised.protocol, host: normalised.hostname, wildcard: Boolean(star), port: normalised.port };
}
