import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

type HelmetOptions = Parameters<typeof helmet>[0];

/**
 * The security headers of every response, computed once by helmet: running helmet's middleware
 * on every request re-parsed the content security policy each time, a tenth of the cost of an
 * authenticated request, and the headers never change.
 *
 * Two sets. API responses (JSON) get what protects an API: HSTS, no sniffing, no framing, no
 * cross-site embedding, no referrer, a policy that allows nothing to load, and `no-store`, since
 * they carry tokens, keys and account data (RFC 6749 §5.1 requires it of token responses). The
 * document-only headers (COOP, Origin-Agent-Cluster, DNS prefetch, the legacy IE and Flash ones)
 * would be bytes on every response for nothing: each header costs about 1 µs to set and write.
 * Swagger UI's pages under `/docs` get helmet's full set, with a policy that lets it load its
 * own scripts and styles.
 */
export interface SecurityHeaders {
  api: Record<string, string>;
  documents: Record<string, string>;
}

export function securityHeaders(): SecurityHeaders {
  return {
    api: {
      ...helmetHeaders({
        contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
        crossOriginOpenerPolicy: false,
        crossOriginResourcePolicy: { policy: 'same-site' },
        originAgentCluster: false,
        referrerPolicy: { policy: 'no-referrer' },
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
        },
      },
      crossOriginResourcePolicy: { policy: 'same-site' },
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
