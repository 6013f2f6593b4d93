import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

type HelmetOptions = Parameters<typeof helmet>[0];

/**
 * The security headers of every response, computed once by helmet: running helmet's middleware
 * on every request re-parsed the content security policy each time, a visible share of an
 * authenticated request's cost, and the headers never change.
 *
 * Two sets. API responses (JSON) get what protects an API, the set the OWASP REST Security Cheat
 * Sheet names: HSTS, no sniffing, no framing (CSP `frame-ancestors` and, for older browsers,
 * X-Frame-Options), a policy that allows nothing to load, and `no-store`, since they carry
 * tokens, keys and account data (RFC 6749 §5.1 requires it of token responses).
 *
 * Headers that protect documents do nothing on these responses, and each one is set, checked and
 * written on every response, a cost the hot path notices, so API responses go without them:
 * - Cross-Origin-Resource-Policy keeps a response out of a cross-site page that embeds it
 *   (`<img>`, `<script>`) with the visitor's ambient credentials. This API has none: it reads
 *   credentials from the Authorization and X-Api-Key headers only, which such an embed cannot
 *   send, so the embed gets what any anonymous caller gets.
 * - Referrer-Policy governs the requests a document makes. A JSON response makes none: the
 *   policy above lets it load nothing.
 * - COOP, Origin-Agent-Cluster, DNS prefetch, and the legacy IE and Flash headers are for pages.
 * Swagger UI's pages under `/docs` are documents, and get helmet's full set, with a policy that
 * lets them load their own scripts and styles.
 *
 * The dashboard's pages under `/dashboard/` get helmet's full set too, with a stricter policy: its
 * build has no inline script or style, so nothing inline runs, nothing loads from another origin,
 * and its pages (which carry reset tokens in their address) send no Referer anywhere.
 */
export interface SecurityHeaders {
  api: Record<string, string>;
  documents: Record<string, string>;
  dashboard: Record<string, string>;
}

export function securityHeaders(): SecurityHeaders {
  return {
    api: {
      ...helmetHeaders({
        contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
        crossOriginOpenerPolicy: false,
        crossOriginResourcePolicy: false,
        originAgentCluster: false,
        referrerPolicy: false,
        xDnsPrefetchControl: false,
        xDownloadOptions: false,
        xFrameOptions: { action: 'deny' },
        xPermittedCrossDomainPolicies: false,
        xXssProtection: false,
      }),
      'cache-control': 'no-store',
    },
    documents: helmetHeaders({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          // Helmet's default would have the browser fetch the page's scripts over HTTPS, which a
          // service reached over plain HTTP (any host but localhost) does not answer: a blank page.
          upgradeInsecureRequests: null,
        },
      },
      crossOriginResourcePolicy: { policy: 'same-site' },
    }),
    dashboard: helmetHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          objectSrc: ["'none'"],
        },
      },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
    }),
  };
}

/** The headers helmet's middleware would set with these options, captured once. */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}
