import { describe, expect, it } from 'vitest';
import { httpError, networkError, parseApiErrors, tokenError } from '../../src/crm/salesforce/salesforce-errors.js';
import { jwtAudience, tokenUrl } from '../../src/crm/salesforce/salesforce-auth.js';
import { splitWindow, replicationDate } from '../../src/crm/salesforce/salesforce-deleted.js';

describe('Salesforce error mapping', () => {
  it('reads the REST error array', () => {
    expect(
      parseApiErrors(
        '[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]',
      ),
    ).toEqual([
      { errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] },
    ]);
    expect(parseApiErrors('<html>nope</html>')).toBeUndefined();
    expect(parseApiErrors('{"error":"invalid_grant"}')).toBeUndefined();
  });

  it('maps codes to the error vocabulary, naming status, code and message', () => {
    const limit = httpError(
      403,
      '[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
      'query Contact',
    );
    expect(limit.code).toBe('api_limit_exceeded');
    expect(limit.message).toContain('REQUEST_LIMIT_EXCEEDED');
    const malformed = httpError(
      400,
      '[{"message":"unexpected token: OR","errorCode":"MALFORMED_QUERY"}]',
      'query Contact',
    );
    expect(malformed.code).toBe('crm_error');
    expect(malformed.message).toBe('query Contact: HTTP 400 MALFORMED_QUERY: unexpected token: OR');
    expect(malformed.details).toMatchObject({ status: 400, errorCode: 'MALFORMED_QUERY' });
    expect(
      httpError(
        400,
        '[{"message":"sObject type \'Foo\' is not supported.","errorCode":"INVALID_TYPE"}]',
        'describe Foo',
      ).code,
    ).toBe('object_not_found');
    expect(
      httpError(
        400,
        '[{"message":"No such column \'Foo\' on entity \'Contact\'.","errorCode":"INVALID_FIELD"}]',
        'query',
      ).code,
    ).toBe('field_not_found');
    expect(httpError(410, '', 'x').code).toBe('unsupported_version');
    expect(httpError(429, '', 'x').code).toBe('rate_limited');
    const html = httpError(404, '<html><body><h1>Not found</h1></body></html>', 'x');
    expect(html.code).toBe('http_error');
    expect(html.message).toBe('x: HTTP 404: Not found');
  });

  it('maps token errors to auth_failed without echoing the request', () => {
    const e = tokenError(
      400,
      '{"error":"invalid_client","error_description":"invalid client credentials"}',
      'https://login.example/services/oauth2/token',
    );
    expect(e.code).toBe('auth_failed');
    expect(e.message).toContain('invalid_client: invalid client credentials');
    expect(tokenError(503, 'busy', 'https://x/t').code).toBe('http_error');
  });

  it('maps network failures by their Node codes', () => {
    const err = (code: string, message = code): Error => Object.assign(new Error(message), { code });
    expect(networkError(err('ENOTFOUND'), 'https://nowhere.invalid/x').code).toBe('dns_error');
    expect(
      networkError(err('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), 'https://h/x')
        .code,
    ).toBe('tls_error');
    expect(networkError(err('ERR_TLS_CERT_ALTNAME_INVALID'), 'https://h/x').code).toBe('tls_error');
    expect(networkError(err('ECONNREFUSED'), 'https://h/x').code).toBe('network_error');
    expect(
      networkError(Object.assign(new Error('late'), { name: 'TimeoutError', code: 'ETIMEDOUT' }), 'https://h/x').code,
    ).toBe('timeout');
  });
});

describe('auth and replication helpers', () => {
  it('builds the token URL and JWT audience', () => {
    expect(tokenUrl('https://acme.my.salesforce.com/')).toBe('https://acme.my.salesforce.com/services/oauth2/token');
    expect(tokenUrl('https://site.example.com/community/')).toBe(
      'https://site.example.com/community/services/oauth2/token',
    );
    expect(jwtAudience('https://login.salesforce.com')).toBe('https://login.salesforce.com');
    expect(jwtAudience('https://test.salesforce.com/')).toBe('https://test.salesforce.com');
    expect(jwtAudience('https://acme.my.salesforce.com')).toBe('https://login.salesforce.com');
    expect(jwtAudience('https://acme--dev.sandbox.my.salesforce.com')).toBe('https://test.salesforce.com');
    expect(jwtAudience('https://127.0.0.1:4443')).toBe('https://127.0.0.1:4443');
  });

  it('splits deleted windows into ≤ 30 days and writes dates as documented', () => {
    const day = 86_400_000;
    const start = Date.parse('2024-01-01T00:00:00Z');
    expect(splitWindow(start, start + 75 * day)).toEqual([
      [start, start + 30 * day],
      [start + 30 * day, start + 60 * day],
      [start + 60 * day, start + 75 * day],
    ]);
    expect(replicationDate(start + 1234)).toBe('2024-01-01T00:00:01+00:00');
  });
});
