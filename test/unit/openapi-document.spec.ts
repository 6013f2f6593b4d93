import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ERROR_STATUS } from '../../src/common/errors/error-codes';
import { BROWSER_LINK_EXTENSION } from '../../src/openapi';
import { committedContract } from '../support/contract';

const text = readFileSync(join(__dirname, '..', '..', 'openapi.yaml'), 'utf8');
const document = parse(text);
type Operation = Record<string, any>;
const operations: Array<[string, string, Operation]> = Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
  Object.entries(item).map(([method, operation]) => [method.toUpperCase(), path, operation] as [string, string, Operation]),
);

describe('the committed openapi.yaml, for those who generate clients from it', () => {
  it('gives every error response an example per code, each with its status, a code of that status, and the documented shape', () => {
    const checked: string[] = [];
    for (const [method, path, operation] of operations) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) < 400) continue;
        const media = response.content['application/json'];
        const codes: string[] = media.schema.allOf[1].properties.code.enum;
        expect({ where: `${method} ${path} ${status}`, examples: Object.keys(media.examples) }).toEqual({ where: `${method} ${path} ${status}`, examples: codes });
        for (const code of codes) {
          expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS]).toBe(Number(status));
          const example = media.examples[code].value;
          expect(example).toMatchObject({ statusCode: Number(status), code });
          committedContract().assertMatches(method, path.replace(/\{[^}]+\}/g, '3f1c2a4e-8b7d-4f6a-9c21-5d0e7b9a1f32'), Number(status), example, {
            'content-type': 'application/json',
            'x-request-id': example.request_id,
            'retry-after': '1',
          });
          checked.push(`${method} ${path} ${status} ${code}`);
        }
      }
    }
    expect(checked.length).toBeGreaterThan(operations.length * 3);
  });

  it('documents 500 and 503 on every API operation, and X-Request-Id on every response', () => {
    for (const [method, path, operation] of operations) {
      const statuses = Object.keys(operation.responses);
      if (!operation[BROWSER_LINK_EXTENSION]) expect({ operation: `${method} ${path}`, has: ['500', '503'].filter((status) => statuses.includes(status)) }).toEqual({ operation: `${method} ${path}`, has: ['500', '503'] });
      for (const response of Object.values(operation.responses as Record<string, any>)) {
        expect(response.headers['X-Request-Id']).toEqual({ $ref: '#/components/headers/X-Request-Id' });
      }
    }
  });

  it('declares Retry-After on every response that carries it: 429 and 503, and the redirects a browser link answers them with', () => {
    const carriers = [];
    for (const [method, path, operation] of operations) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (['429', '503'].includes(status) || /\b(RATE_LIMITED|SERVER_BUSY)\b/.test(response.description)) carriers.push({ response: `${method} ${path} ${status}`, declared: 'Retry-After' in response.headers });
      }
    }
    expect(carriers).toContainEqual({ response: 'GET /auth/confirm 302', declared: true });
    expect(carriers).toContainEqual({ response: 'POST /auth/confirm-link 303', declared: true });
    expect(carriers.filter(({ declared }) => !declared)).toEqual([]);
  });

  it('closes every request body schema and names schemas as a consumer would', () => {
    for (const [, , operation] of operations) {
      for (const body of Object.values<any>(operation.requestBody?.content ?? {})) {
        const ref = body.schema?.$ref;
        if (ref) expect(document.components.schemas[ref.split('/').pop()].additionalProperties).toBe(false);
      }
    }
    expect(Object.keys(document.components.schemas).filter((name) => /Dto$/.test(name))).toEqual([]);
    expect(document.components.schemas.Session.properties.expires_in.type).toBe('integer');
    expect(document.components.schemas.Session.properties.expires_at.type).toBe('integer');
  });

  it('names a server a generator can join paths to, and quotes its timestamps', () => {
    expect(document.servers).toEqual([{ url: 'http://localhost:3000', description: 'This service' }]);
    expect(text.split('\n').filter((line) => /:\s+\d{4}-\d{2}-\d{2}T/.test(line))).toEqual([]);
    expect(text).toContain('"2024-01-15T12:00:00.000Z"');
  });
});
