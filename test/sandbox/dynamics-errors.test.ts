import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../src/sandbox/common/sandbox-tls.js';
import { type DynamicsSandbox, startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { rawClient, type RawCallOptions, type RawReply } from './dynamics-client-helpers.js';

/** Bad input at the wire level: Entra ID error bodies, OData errors, validation, limits and expired tokens. */

let sandbox: DynamicsSandbox;
let token: string;

let call: (method: string, path: string, options?: RawCallOptions) => Promise<RawReply>;

function tokenRequest(form: Record<string, string>, tenant = sandbox.tenantId): Promise<RawReply> {
  return call('POST', `/${tenant}/oauth2/v2.0/token`, {
    body: new URLSearchParams(form).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    bearer: null,
  });
}

function secretForm(overrides: Record<string, string> = {}): Record<string, string> {
  const c = sandbox.credentials['client-secret']!;
  return {
    grant_type: 'client_credentials',
    client_id: c.clientId!,
    client_secret: c.clientSecret!,
    scope: `${sandbox.url}/.default`,
    ...overrides,
  };
}

function assertion(
  privateKeyPem: string,
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
): string {
  const clientId = sandbox.credentials.certificate!.clientId!;
  const now = Math.floor(Date.now() / 1000);
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header })).toString('base64url');
  const c = Buffer.from(
    JSON.stringify({
      aud: `${sandbox.url}/${sandbox.tenantId}/oauth2/v2.0/token`,
      iss: clientId,
      sub: clientId,
      jti: randomUUID(),
      nbf: now,
      exp: now + 600,
      ...claims,
    }),
  ).toString('base64url');
  const s = createSign('RSA-SHA256').update(`${h}.${c}`).sign(privateKeyPem).toString('base64url');
  return `${h}.${c}.${s}`;
}

function assertionForm(jwt: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_id: sandbox.credentials.certificate!.clientId!,
    scope: `${sandbox.url}/.default`,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: jwt,
  };
}

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ records: 50, seed: 3 });
  call = rawClient(sandbox.url, sandbox.caFile, () => token);
  const reply = await tokenRequest(secretForm());
  token = reply.json().access_token as string;
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('token endpoint errors', () => {
  it('rejects a wrong client secret with AADSTS7000215', async () => {
    const reply = await tokenRequest(secretForm({ client_secret: 'not-the-secret' }));
    expect(reply.status).toBe(401);
    const body = reply.json();
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided/);
    expect(body.error_description).not.toContain('not-the-secret');
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects an unknown client, a bad scope, an unknown tenant and a wrong password', async () => {
    expect((await tokenRequest(secretForm({ client_id: randomUUID() }))).json()).toMatchObject({
      error: 'unauthorized_client',
      error_codes: [700016],
    });
    expect((await tokenRequest(secretForm({ scope: `${sandbox.url}/user.read` }))).json()).toMatchObject({
      error: 'invalid_scope',
      error_codes: [70011],
    });
    expect((await tokenRequest(secretForm(), 'no-such-tenant')).json()).toMatchObject({ error_codes: [90002] });
    const p = sandbox.credentials.password!;
    const wrong = await tokenRequest({
      grant_type: 'password',
      client_id: p.clientId!,
      username: p.username!,
      password: 'wrong',
      scope: `${sandbox.url}/.default openid profile offline_access`,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'invalid_grant', error_codes: [50126] });
  });

  it('accepts a correct certificate assertion and refuses a wrong key, a wrong thumbprint and an expired one', async () => {
    const c = sandbox.credentials.certificate!;
    const key = readFileSync(c.privateKeyFile!, 'utf8');
    const x5t = certificateThumbprint(readFileSync(c.certificateFile!, 'utf8'));
    const good = await tokenRequest(assertionForm(assertion(key, { x5t })));
    expect(good.status).toBe(200);
    expect(good.json()).toMatchObject({ token_type: 'Bearer' });
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const wrongKey = await tokenRequest(assertionForm(assertion(otherKey, { x5t })));
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.json()).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    const wrongThumb = await tokenRequest(
      assertionForm(assertion(key, { x5t: Buffer.alloc(20, 7).toString('base64url') })),
    );
    expect(wrongThumb.json()).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    const now = Math.floor(Date.now() / 1000);
    const expired = await tokenRequest(assertionForm(assertion(key, { x5t }, { nbf: now - 7200, exp: now - 3600 })));
    expect(expired.json()).toMatchObject({ error: 'invalid_client', error_codes: [700024] });
    const wrongAud = await tokenRequest(
      assertionForm(assertion(key, { x5t }, { aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' })),
    );
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.json()).toMatchObject({ error: 'invalid_client', error_codes: [700023] });
  });
});

describe('Web API errors', () => {
  it('answers 401 with WWW-Authenticate for a missing or expired token', async () => {
    const none = await call('GET', '/api/data/v9.2/WhoAmI', { bearer: null });
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toMatch(/^Bearer authorization_uri=https:\/\/127\.0\.0\.1:\d+\//);
    expect(none.json()).toHaveProperty('error.message');
    const fresh = (await tokenRequest(secretForm())).json().access_token as string;
    expect((await call('GET', '/api/data/v9.2/WhoAmI', { bearer: fresh })).status).toBe(200);
    sandbox.admin.expireTokens();
    const expired = await call('GET', '/api/data/v9.2/WhoAmI', { bearer: fresh });
    expect(expired.status).toBe(401);
    token = (await tokenRequest(secretForm())).json().access_token as string;
    expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(200);
  });

  it('rejects malformed filters, unknown properties and unknown entity sets with OData errors', async () => {
    const malformed = await call(
      'GET',
      `/api/data/v9.2/contacts?$filter=${encodeURIComponent("lastname eq 'unterminated")}`,
    );
    expect(malformed.status).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: '0x80060888' } });
    const dangling = await call('GET', `/api/data/v9.2/contacts?$filter=${encodeURIComponent('lastname eq')}`);
    expect(dangling.status).toBe(400);
    const unknownSelect = await call('GET', '/api/data/v9.2/contacts?$select=nosuchcolumn');
    expect(unknownSelect.status).toBe(400);
    expect(unknownSelect.json()).toEqual({
      error: {
        code: '0x80060888',
        message: "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.contact'.",
      },
    });
    const unknownFilter = await call('GET', `/api/data/v9.2/contacts?$filter=${encodeURIComponent("bogus eq 'x'")}`);
    expect((unknownFilter.json().error as { message: string }).message).toBe(
      "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.contact'.",
    );
    const wrongType = await call(
      'GET',
      `/api/data/v9.2/contacts?$filter=${encodeURIComponent("numberofchildren eq 'two'")}`,
    );
    expect(wrongType.status).toBe(400);
    const set = await call('GET', '/api/data/v9.2/xyzs');
    expect(set.status).toBe(404);
    expect(set.json()).toEqual({
      error: { code: '0x80060888', message: "Resource not found for the segment 'xyzs'." },
    });
    expect((await call('GET', '/api/data/v9.2/contacts?$skip=10')).status).toBe(400);
    expect(
      (
        await call(
          'GET',
          `/api/data/v9.2/contacts?fetchXml=${encodeURIComponent('<fetch><entity name="contact"/></fetch>')}`,
        )
      ).status,
    ).toBe(400);
    expect((await call('GET', '/api/data/v9.2/contacts?$frobnicate=1')).status).toBe(400);
  });

  it('validates writes: invalid option, unknown attribute, max length, required, duplicate alternate key', async () => {
    const post = (body: unknown) =>
      call('POST', '/api/data/v9.2/contacts', {
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' },
      });
    const badOption = await post({ lastname: 'X', gendercode: 99 });
    expect(badOption.status).toBe(400);
    expect((badOption.json().error as { message: string }).message).toMatch(/gendercode.*outside the valid range/);
    const unknown = await post({ lastname: 'X', nickname: 'Y' });
    expect(unknown.json()).toEqual({
      error: {
        code: '0x80060888',
        message: "Invalid property 'nickname' was found in entity 'Microsoft.Dynamics.CRM.contact'.",
      },
    });
    expect((await post({ lastname: 'x'.repeat(51) })).status).toBe(400);
    // Like Dataverse, an ApplicationRequired column is not enforced by the Web API; the admin switch enforces it.
    expect((await post({ firstname: 'No last name' })).status).toBe(204);
    sandbox.admin.setValidation({ enforceApplicationRequired: true });
    try {
      expect((await post({ firstname: 'No last name' })).status).toBe(400);
    } finally {
      sandbox.admin.setValidation({ enforceApplicationRequired: false });
    }
    expect((await post({ lastname: 'X', lia_interests: '100000000,5' })).status).toBe(400);
    expect((await post({ lastname: 'X', birthdate: 'not a date' })).status).toBe(400);
    const first = await post({ lastname: 'Key', lia_customernumber: 'DUP-1' });
    expect(first.status).toBe(204);
    expect(String(first.headers['odata-entityid'])).toMatch(/contacts\([0-9a-f-]{36}\)$/);
    const dup = await post({ lastname: 'Key', lia_customernumber: 'DUP-1' });
    expect(dup.status).toBe(412);
    expect(dup.json()).toMatchObject({ error: { code: '0x80060892' } });
    // Non-writable columns are ignored, as Dataverse documents.
    const ignored = await post({ lastname: 'Ignored', versionnumber: 1, fullname: 'Forged' });
    const id = /\(([^)]+)\)$/.exec(String(ignored.headers['odata-entityid']))![1]!;
    expect(sandbox.admin.getRecord('contact', id)).toMatchObject({ fullname: 'Ignored' });
    const lookupDirect = await post({ lastname: 'X', _parentcustomerid_value: id });
    expect(lookupDirect.status).toBe(400);
    const missingTarget = await post({
      lastname: 'X',
      'parentcustomerid_account@odata.bind': `/accounts(${randomUUID()})`,
    });
    expect(missingTarget.status).toBe(404);
  });

  it('enforces If-Match / If-None-Match and 404 on missing records', async () => {
    const id = sandbox.admin.createRecord('contact', { lastname: 'Etag' });
    const patch = (headers: Record<string, string>, key = id) =>
      call('PATCH', `/api/data/v9.2/contacts(${key})`, {
        body: '{"jobtitle":"x"}',
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    expect((await patch({ 'If-Match': 'W/"1"' })).status).toBe(412);
    expect((await patch({ 'If-None-Match': '*' })).status).toBe(412);
    expect((await patch({ 'If-Match': '*' }, randomUUID())).status).toBe(404);
    expect((await call('DELETE', `/api/data/v9.2/contacts(${randomUUID()})`)).status).toBe(404);
    const versionBefore = Number(
      /"(\d+)"/.exec(
        (await call('GET', `/api/data/v9.2/contacts(${id})?$select=lastname`)).json()['@odata.etag'] as string,
      )![1],
    );
    expect((await patch({ 'If-Match': '*' })).status).toBe(204);
    const after = (await call('GET', `/api/data/v9.2/contacts(${id})?$select=versionnumber,modifiedon`)).json();
    expect(after.versionnumber as number).toBeGreaterThan(versionBefore);
  });

  it('refuses a batch of more than 1000 requests', async () => {
    const parts = Array.from(
      { length: 1001 },
      () =>
        '--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\nAccept: application/json\r\n\r\n',
    ).join('');
    const reply = await call('POST', '/api/data/v9.2/$batch', {
      body: `${parts}--batch_x--\r\n`,
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' },
    });
    expect(reply.status).toBe(400);
    expect((reply.json().error as { message: string }).message).toMatch(
      /A maximum number of '1000' operations are allowed/,
    );
  });

  it('refuses filters and top on a change-tracking query and tracking on untracked tables', async () => {
    const tracked = await call('GET', `/api/data/v9.2/contacts?$filter=${encodeURIComponent("lastname eq 'x'")}`, {
      headers: { Prefer: 'odata.track-changes' },
    });
    expect(tracked.status).toBe(400);
    const untracked = await call('GET', '/api/data/v9.2/salesorderdetails', {
      headers: { Prefer: 'odata.track-changes' },
    });
    expect(untracked.status).toBe(400);
    const badDelta = await call('GET', '/api/data/v9.2/contacts?$deltatoken=garbage');
    expect(badDelta.status).toBe(400);
  });
});

describe('limits', () => {
  it('caps @odata.count and /$count at 5000 and says so', async () => {
    const targets = Array.from({ length: 5000 }, (_, i) => ({
      '@odata.type': 'Microsoft.Dynamics.CRM.contact',
      lastname: `Many ${i}`,
    }));
    const created = await call('POST', '/api/data/v9.2/contacts/Microsoft.Dynamics.CRM.CreateMultiple', {
      body: JSON.stringify({ Targets: targets }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(created.status).toBe(200);
    expect((created.json().Ids as string[]).length).toBe(5000);
    const counted = (
      await call('GET', '/api/data/v9.2/contacts?$select=lastname&$count=true', {
        headers: { Prefer: 'odata.maxpagesize=10' },
      })
    ).json();
    expect(counted['@odata.count']).toBe(5000);
    expect(counted['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded']).toBe(true);
    expect((await call('GET', '/api/data/v9.2/contacts/$count')).text).toBe('5000');
    const small = (
      await call(
        'GET',
        `/api/data/v9.2/contacts?$count=true&$filter=${encodeURIComponent("startswith(lastname,'Many 499')")}`,
      )
    ).json();
    expect(small['@odata.count']).toBe(11);
    expect(small['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded']).toBeUndefined();
  });
});
