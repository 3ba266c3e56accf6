import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { clientToken, firstError, rawRequest } from './salesforce-helpers.js';

/** Bad input gets Salesforce's documented status codes and error bodies. */
let sf: SalesforceSandbox;
let token: string;
const V = '/services/data/v62.0';

beforeAll(async () => {
  sf = await startSalesforceSandbox({ records: 50, seed: 5 });
  token = await clientToken(sf);
});

afterAll(async () => {
  await sf?.stop();
});

const get = (path: string) => rawRequest(sf, 'GET', path, { token });
const soql = (q: string) => get(`${V}/query?q=${encodeURIComponent(q)}`);
const send = (method: string, path: string, body: object) => rawRequest(sf, method, path, { token, body });

describe('SOQL errors', () => {
  it('malformed queries give 400 MALFORMED_QUERY with a position', async () => {
    for (const q of [
      'SELECT FROM Contact',
      'SELECT Id FROM Contact WHERE',
      "SELECT Id FROM Contact WHERE LastName = 'open",
      'SELECT Id, FROM Contact',
      'SELECT Id FROM Contact LIMIT x',
      'SELECT Id FROM Contact WHERE CreatedDate > 2024-01-15T10:20:30',
    ]) {
      const res = await soql(q);
      expect(res.status, q).toBe(400);
      expect(firstError(res).errorCode, q).toBe('MALFORMED_QUERY');
      expect(firstError(res).message, q).toMatch(/ERROR at Row:1:Column:\d+/);
    }
  });

  it('unknown fields, relationships and objects', async () => {
    const field = await soql('SELECT Id, Foo FROM Contact');
    expect(field.status).toBe(400);
    expect(firstError(field)).toMatchObject({ errorCode: 'INVALID_FIELD' });
    expect(firstError(field).message).toContain("No such column 'Foo' on entity 'Contact'");
    const rel = await soql('SELECT Nope.Name FROM Contact');
    expect(firstError(rel).errorCode).toBe('INVALID_FIELD');
    expect(firstError(rel).message).toContain("Didn't understand relationship 'Nope'");
    const object = await soql('SELECT Id FROM Foo__c');
    expect(object.status).toBe(400);
    expect(firstError(object)).toMatchObject({
      errorCode: 'INVALID_TYPE',
      message: "sObject type 'Foo__c' is not supported.",
    });
  });

  it('literal types must match the field', async () => {
    const res = await soql("SELECT Id FROM Contact WHERE Birthdate = '2024-01-01'");
    expect(firstError(res).errorCode).toBe('INVALID_FIELD');
    expect(firstError(res).message).toContain("value of filter criterion for field 'Birthdate' must be of type date");
    expect(firstError(await soql('SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01')).errorCode).toBe(
      'INVALID_FIELD',
    );
    expect(firstError(await soql("SELECT Id FROM Contact WHERE Id = 'bogus'")).errorCode).toBe(
      'INVALID_QUERY_FILTER_OPERATOR',
    );
  });

  it('datetime literals with offsets and 15-character ids work; an unknown locator is refused', async () => {
    const id18 = sf.admin.listIds('Contact', 1)[0] as string;
    const byShortId = await soql(`SELECT Id FROM Contact WHERE Id = '${id18.slice(0, 15)}'`);
    expect(byShortId.json).toMatchObject({ totalSize: 1, records: [{ Id: id18 }] });
    const withOffset = await soql('SELECT COUNT() FROM Contact WHERE SystemModstamp >= 2024-01-01T09:00:00+01:00');
    const utc = await soql('SELECT COUNT() FROM Contact WHERE SystemModstamp >= 2024-01-01T08:00:00.000Z');
    expect((withOffset.json as { totalSize: number }).totalSize).toBe((utc.json as { totalSize: number }).totalSize);
    const locator = await get(`${V}/query/01gLz0000000999AAA-2000`);
    expect(firstError(locator).errorCode).toBe('INVALID_QUERY_LOCATOR');
  });

  it('a malformed percent-escape in a path is a client error, not a server error', async () => {
    const res = await get(`${V}/sobjects/Contact/%E0%A4%A`);
    expect(res.status).toBe(400);
    expect(firstError(res).errorCode).toBe('MALFORMED_ID');
    expect((await rawRequest(sf, 'GET', '/_sandbox/records/Contact/%E0%A4%A')).status).toBe(404);
  });

  it('an unknown API version is 404 NOT_FOUND; the version list includes 60.0 to 62.0', async () => {
    const res = await get('/services/data/v12.0/sobjects');
    expect(res.status).toBe(404);
    expect(firstError(res).errorCode).toBe('NOT_FOUND');
    const versions = (await get('/services/data/')).json as { version: string; url: string }[];
    expect(versions.map((v) => v.version)).toEqual(expect.arrayContaining(['60.0', '61.0', '62.0']));
  });
});

describe('record validation', () => {
  const create = (body: object) => send('POST', `${V}/sobjects/Contact`, body);

  it.each([
    [{ FirstName: 'No Last' }, 'REQUIRED_FIELD_MISSING', ['LastName']],
    [{ LastName: 'x'.repeat(81) }, 'STRING_TOO_LONG', ['LastName']],
    [{ LastName: 'Tier', Loyalty_Tier__c: 'Diamond' }, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', ['Loyalty_Tier__c']],
    [{ LastName: 'Mail', Email: 'not-an-email' }, 'INVALID_EMAIL_ADDRESS', ['Email']],
    [{ LastName: 'Field', Foo__c: 1 }, 'INVALID_FIELD', ['Foo__c']],
    [
      { LastName: 'Stamp', SystemModstamp: '2024-01-01T00:00:00Z' },
      'INVALID_FIELD_FOR_INSERT_UPDATE',
      ['SystemModstamp'],
    ],
    [{ LastName: 'Acct', AccountId: 'notanid' }, 'MALFORMED_ID', ['AccountId']],
    [{ LastName: 'Num', Score__c: 'abc' }, 'JSON_PARSER_ERROR', ['Score__c']],
    [{ LastName: 'Range', Score__c: 123456 }, 'NUMBER_OUTSIDE_VALID_RANGE', ['Score__c']],
  ])('create %j → %s', async (body, code, fields) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ errorCode: code, fields });
  });

  it('unique external ids: DUPLICATE_VALUE names the existing record', async () => {
    const first = (await create({ LastName: 'Uno', Customer_Number__c: 'DUP-1' })).json as { id: string };
    const res = await create({ LastName: 'Dos', Customer_Number__c: 'dup-1' });
    expect(firstError(res).errorCode).toBe('DUPLICATE_VALUE');
    expect(firstError(res).message).toContain(first.id);
  });

  it('ids: malformed, unknown, deleted', async () => {
    expect(firstError(await send('PATCH', `${V}/sobjects/Contact/xyz`, { Title: 'a' })).errorCode).toBe('MALFORMED_ID');
    const unknown = await get(`${V}/sobjects/Contact/003Lz0000000zzzIAA`);
    expect(unknown.status).toBe(404);
    expect(firstError(unknown).errorCode).toBe('NOT_FOUND');
    const { id } = (await create({ LastName: 'Temp' })).json as { id: string };
    expect((await rawRequest(sf, 'DELETE', `${V}/sobjects/Contact/${id}`, { token })).status).toBe(204);
    const again = await rawRequest(sf, 'DELETE', `${V}/sobjects/Contact/${id}`, { token });
    expect(firstError(again).errorCode).toBe('ENTITY_IS_DELETED');
    expect(firstError(await send('PATCH', `${V}/sobjects/Contact/${id}`, { Title: 'x' })).errorCode).toBe(
      'ENTITY_IS_DELETED',
    );
    expect(firstError(await get(`${V}/sobjects/Nope__c/describe`)).errorCode).toBe('NOT_FOUND');
  });

  it('upsert: 201 created, 200 updated, 300 on several matches, 404 for a non-external-id field', async () => {
    const path = `${V}/sobjects/Loyalty_Card__c/Card_Number__c/CARD-1`;
    const created = await send('PATCH', path, { Name: 'Gold card', Points__c: 10 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ success: true, created: true });
    const updated = await send('PATCH', path, { Points__c: 20 });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id: (created.json as { id: string }).id, created: false });
    expect((await send('PATCH', `${V}/sobjects/Contact/LastName/Smith`, { Title: 'x' })).status).toBe(404);
    sf.admin.changeField('Loyalty_Card__c', 'Card_Number__c', { unique: false });
    sf.admin.createRecord('Loyalty_Card__c', { Name: 'Twin', Card_Number__c: 'CARD-1' });
    const multiple = await send('PATCH', path, { Points__c: 30 });
    expect(multiple.status).toBe(300);
    expect(multiple.json).toHaveLength(2);
    expect((multiple.json as string[])[0]).toMatch(/^\/services\/data\/v62\.0\/sobjects\/Loyalty_Card__c\/a0L/);
  });
});

describe('collections errors', () => {
  it('more than 200 records is refused as a whole', async () => {
    const records = Array.from({ length: 201 }, (_, i) => ({ attributes: { type: 'Contact' }, LastName: `N${i}` }));
    const res = await send('POST', `${V}/composite/sobjects`, { allOrNone: false, records });
    expect(res.status).toBe(400);
    expect(firstError(res).errorCode).toBe('EXCEEDED_ID_LIMIT');
    const ids = Array.from({ length: 201 }, () => '003Lz0000000001AAA').join(',');
    expect(firstError(await rawRequest(sf, 'DELETE', `${V}/composite/sobjects?ids=${ids}`, { token })).errorCode).toBe(
      'EXCEEDED_ID_LIMIT',
    );
  });

  it('allOrNone rolls back every record and marks the others ALL_OR_NONE_OPERATION_ROLLED_BACK', async () => {
    const before = sf.admin.countRecords('Contact');
    const res = await send('POST', `${V}/composite/sobjects`, {
      allOrNone: true,
      records: [
        { attributes: { type: 'Contact' }, LastName: 'Kept?' },
        { attributes: { type: 'Contact' }, LastName: 'Bad', OwnerId: 'BAD_ID' },
      ],
    });
    expect(res.status).toBe(200);
    const results = res.json as { success: boolean; errors: { statusCode: string }[] }[];
    expect(results.map((r) => r.success)).toEqual([false, false]);
    expect(results[0]?.errors[0]?.statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(results[1]?.errors[0]?.statusCode).toBe('MALFORMED_ID');
    expect(sf.admin.countRecords('Contact')).toBe(before);
  });
});

describe('authentication errors', () => {
  const tokenCall = (form: Record<string, string>) =>
    rawRequest(sf, 'POST', '/services/oauth2/token', { body: new URLSearchParams(form).toString() });
  const cc = () => sf.credentials['client-credentials'] as Record<string, string>;

  it('wrong client id / secret / password and unknown grant types', async () => {
    const badSecret = await tokenCall({
      grant_type: 'client_credentials',
      client_id: cc().clientId as string,
      client_secret: 'wrong',
    });
    expect(badSecret.status).toBe(400);
    expect(badSecret.json).toEqual({ error: 'invalid_client', error_description: 'invalid client credentials' });
    const badId = await tokenCall({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' });
    expect(badId.json).toMatchObject({ error: 'invalid_client_id' });
    const p = sf.credentials.password as Record<string, string>;
    const badPassword = await tokenCall({
      grant_type: 'password',
      client_id: p.clientId as string,
      client_secret: p.clientSecret as string,
      username: p.username as string,
      password: p.password as string,
    });
    expect(badPassword.json).toEqual({ error: 'invalid_grant', error_description: 'authentication failure' });
    expect((await tokenCall({ grant_type: 'authorization_code', code: 'x' })).json).toMatchObject({
      error: 'unsupported_grant_type',
    });
  });

  it('a JWT signed by another key, or for another audience, is refused', async () => {
    const j = sf.credentials.jwt as Record<string, string>;
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const sign = async (pem: string, audience: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(j.clientId as string)
        .setSubject(j.username as string)
        .setAudience(audience)
        .setExpirationTime('3m')
        .sign(await importPKCS8(pem, 'RS256'));
    const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    const forged = await tokenCall({ grant_type: grant, assertion: await sign(other.privateKey, sf.url) });
    expect(forged.status).toBe(400);
    expect(forged.json).toMatchObject({ error: 'invalid_grant' });
    const ownKey = readFileSync(j.privateKeyFile as string, 'utf8');
    expect(
      (await tokenCall({ grant_type: grant, assertion: await sign(ownKey, 'https://elsewhere.example') })).json,
    ).toMatchObject({ error: 'invalid_grant' });
    expect(
      (await tokenCall({ grant_type: grant, assertion: await sign(ownKey, 'https://login.salesforce.com') })).status,
    ).toBe(200);
  });

  it('invalid and expired tokens get 401 INVALID_SESSION_ID', async () => {
    const bogus = await rawRequest(sf, 'GET', `${V}/sobjects`, { token: '00Dfake!token' });
    expect(bogus.status).toBe(401);
    expect(bogus.json).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    expect((await rawRequest(sf, 'GET', `${V}/sobjects`)).status).toBe(401);
    const fresh = await clientToken(sf);
    expect((await rawRequest(sf, 'GET', `${V}/limits`, { token: fresh })).status).toBe(200);
    sf.admin.expireTokens();
    expect((await rawRequest(sf, 'GET', `${V}/limits`, { token: fresh })).status).toBe(401);
    token = await clientToken(sf);
  });

  it('a client that does not trust the sandbox CA fails TLS verification', async () => {
    await expect(rawRequest(sf, 'GET', '/services/data/', { ca: null })).rejects.toMatchObject({
      code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/),
    });
  });
});
