import createClient from 'openapi-fetch';
import type { components, paths } from '../../client/atiru-api';

export type ErrorCode = components['schemas']['ErrorCode'];
export type FieldError = components['schemas']['FieldError'];
export type User = components['schemas']['User'];

/** The typed client generated from openapi.yaml, the same one the tests use: the dashboard is one more client of the API. */
export const api = createClient<paths>({ baseUrl: window.location.origin });

/** A failed call, as the pages show it. `NETWORK`: no answer at all. */
export interface Failure {
  status: number;
  code: ErrorCode | 'NETWORK';
  message: string;
  fields: FieldError[];
  retryAfterSeconds: number | null;
  requestId: string | null;
}

export type Result<T> = { ok: true; data: T; response: Response } | { ok: false; failure: Failure };

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Settles a call of the client into a success or a `Failure` the page can explain. */
export async function settle<T>(pending: Promise<Answer<T>>): Promise<Result<T>> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch {
    return { ok: false, failure: { status: 0, code: 'NETWORK', message: 'No answer from the service.', fields: [], retryAfterSeconds: null, requestId: null } };
  }
  const { response } = answer;
  if (response.ok) return { ok: true, data: answer.data as T, response };
  const body = (answer.error ?? {}) as Partial<components['schemas']['Error']>;
  const retryAfter = Number(response.headers.get('retry-after'));
  return {
    ok: false,
    failure: {
      status: response.status,
      code: body.code ?? 'INTERNAL_ERROR',
      message: body.error ?? response.statusText,
      fields: body.errors ?? [],
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : null,
      requestId: body.request_id ?? response.headers.get('x-request-id'),
    },
  };
}
