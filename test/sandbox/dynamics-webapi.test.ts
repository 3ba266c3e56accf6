import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKeyInput,
  verify,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import { DynamicsWebApi } from 'dynamics-web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../src/sandbox/common/sandbox-tls.js';
import { type DynamicsSandbox, startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { msalNetworkClient, rawClient, trustCaForNewHttpsAgents } from './dynamics-client-helpers.js';

/**
 * Conformance: the sandbox driven by @azure/msal-node and dynamics-web-api exactly as their users drive Dataverse,
 * with no Liaison driver code in between.
 */

let sandbox: DynamicsSandbox;
let api: DynamicsWebApi;
let token: string;

function authority(sb: DynamicsSandbox): { authority: string; knownAuthorities: string[] } {
  const creds = sb.credentials['client-secret']!;
  return { authority: `${creds.authorityUrl}/${creds.tenant}`, knownAuthorities: [new URL(sb.url).host] };
}

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ records: 1200, seed: 11 });
  trustCaForNewHttpsAgents(sandbox.caFile);
  const creds = sandbox.credentials['client-secret']!;
  const cca = new ConfidentialClientApplication({
    auth: { clientId: creds.clientId!, clientSecret: creds.clientSecret!, ...authority(sandbox) },
    system: { networkClient: msalNetworkClient(sandbox.caFile) },
  });
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
  token = result!.accessToken;
  api = new DynamicsWebApi({ serverUrl: sandbox.url, dataApi: { version: '9.2' }, onTokenRefresh: async () => token });
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('authentication with msal-node', () => {
  it('issues a JWT access token for the org by client secret', () => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims.aud).toBe(sandbox.url);
    expect(claims.tid).toBe(sandbox.tenantId);
    expect(typeof claims.exp).toBe('number');
  });

  it('publishes the token signing key at the jwks_uri of its OpenID configuration', async () => {
    const call = rawClient(sandbox.url, sandbox.caFile, () => undefined);
    const config = (await call('GET', `/${sandbox.tenantId}/v2.0/.well-known/openid-configuration`)).json();
    const jwks = (await call('GET', new URL(config.jwks_uri as string).pathname)).json() as {
      keys: JsonWebKeyInput['key'][];
    };
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const key = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' });
    expect(verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))).toBe(
      true,
    );
  });

  it('issues a token by certificate (SHA-256 thumbprint, PS256) and by SHA-1 thumbprint (RS256)', async () => {
    const creds = sandbox.credentials.certificate!;
    const cert = readFileSync(creds.certificateFile!, 'utf8');
    const privateKey = readFileSync(creds.privateKeyFile!, 'utf8');
    const sha256 = new ConfidentialClientApplication({
      auth: {
        clientId: creds.clientId!,
        clientCertificate: { thumbprintSha256: certificateThumbprint256(cert), privateKey },
        ...authority(sandbox),
      },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const a = await sha256.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
    expect(a?.accessToken).toMatch(/^ey/);
    const sha1 = new ConfidentialClientApplication({
      auth: {
        clientId: creds.clientId!,
        clientCertificate: { thumbprint: certificateThumbprint(cert, 'hex'), privateKey },
        ...authority(sandbox),
      },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const b = await sha1.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
    expect(b?.accessToken).toMatch(/^ey/);
  });

  it('surfaces Entra errors through msal: wrong secret, certificate signed by another key', async () => {
    const creds = sandbox.credentials['client-secret']!;
    const wrongSecret = new ConfidentialClientApplication({
      auth: { clientId: creds.clientId!, clientSecret: 'wrong', ...authority(sandbox) },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    await expect(
      wrongSecret.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client', errorMessage: expect.stringContaining('AADSTS7000215') });
    const cert = readFileSync(sandbox.credentials.certificate!.certificateFile!, 'utf8');
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const wrongKey = new ConfidentialClientApplication({
      auth: {
        clientId: creds.clientId!,
        clientCertificate: { thumbprintSha256: certificateThumbprint256(cert), privateKey: otherKey },
        ...authority(sandbox),
      },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    await expect(
      wrongKey.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client', errorMessage: expect.stringContaining('AADSTS700027') });
  });

  it('issues a token by username and password to the public client', async () => {
    const creds = sandbox.credentials.password!;
    const pca = new PublicClientApplication({
      auth: { clientId: creds.clientId!, ...authority(sandbox) },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const result = await pca.acquireTokenByUsernamePassword({
      scopes: [`${sandbox.url}/.default`],
      username: creds.username!,
      password: creds.password!,
    });
    expect(result?.account?.username).toBe(creds.username);
    const who = await new DynamicsWebApi({
      serverUrl: sandbox.url,
      dataApi: { version: '9.2' },
      onTokenRefresh: async () => result!.accessToken,
    }).callFunction('WhoAmI');
    const appWho = await api.callFunction('WhoAmI');
    expect(who.UserId).not.toBe(appWho.UserId);
  });
});

function certificateThumbprint256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

describe('queries', () => {
  it('answers WhoAmI', async () => {
    const who = await api.callFunction('WhoAmI');
    expect(who.UserId).toMatch(/^[0-9a-f-]{36}$/);
    expect(who.BusinessUnitId).toMatch(/^[0-9a-f-]{36}$/);
    expect(who.OrganizationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('pages with maxPageSize and nextLink, and retrieveAll reads every contact once', async () => {
    const first = await api.retrieveMultiple({
      collection: 'contacts',
      select: ['fullname', 'emailaddress1'],
      maxPageSize: 500,
    });
    expect(first.value).toHaveLength(500);
    expect(first.oDataNextLink).toContain('$skiptoken=');
    const all = await api.retrieveAll({ collection: 'contacts', select: ['fullname'], maxPageSize: 500 });
    expect(all.value).toHaveLength(1200);
    expect(new Set(all.value.map((c: { contactid: string }) => c.contactid)).size).toBe(1200);
    expect(all.value[0]['@odata.etag']).toMatch(/^W\/"\d+"$/);
  });
});

describe('metadata', () => {
  it('retrieves an entity definition and lists change-tracked entities', async () => {
    const contact = await api.retrieveEntity({
      key: "LogicalName='contact'",
      select: [
        'LogicalName',
        'EntitySetName',
        'PrimaryIdAttribute',
        'PrimaryNameAttribute',
        'DisplayName',
        'ChangeTrackingEnabled',
      ],
    });
    expect(contact).toMatchObject({
      LogicalName: 'contact',
      EntitySetName: 'contacts',
      PrimaryIdAttribute: 'contactid',
      PrimaryNameAttribute: 'fullname',
      ChangeTrackingEnabled: true,
    });
    expect(contact.DisplayName.UserLocalizedLabel).toMatchObject({ Label: 'Contact', LanguageCode: 1033 });
    const tracked = await api.retrieveEntities({ select: ['LogicalName'], filter: 'ChangeTrackingEnabled eq true' });
    const names = tracked.value.map((e: { LogicalName: string }) => e.LogicalName);
    expect(names).toContain('lia_loyaltycard');
    expect(names).not.toContain('salesorderdetail');
  });

  it('lists attributes with types, lengths, requirement levels and lookup targets', async () => {
    const attrs = await api.retrieveAttributes({ entityKey: "LogicalName='contact'" });
    const byName = new Map(attrs.value.map((a: { LogicalName: string }) => [a.LogicalName, a] as const));
    expect(byName.get('lastname')).toMatchObject({
      AttributeType: 'String',
      MaxLength: 50,
      RequiredLevel: { Value: 'ApplicationRequired' },
      '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
    });
    expect(byName.get('parentcustomerid')).toMatchObject({
      AttributeType: 'Customer',
      Targets: ['account', 'contact'],
    });
    expect(byName.get('lia_interests')).toMatchObject({
      AttributeType: 'Virtual',
      AttributeTypeName: { Value: 'MultiSelectPicklistType' },
    });
    expect(byName.get('birthdate')).toMatchObject({ DateTimeBehavior: { Value: 'DateOnly' } });
    expect(byName.get('lia_score')).toMatchObject({ AttributeType: 'Decimal', Precision: 2 });
    const types = new Set(attrs.value.map((a: { AttributeTypeName: { Value: string } }) => a.AttributeTypeName.Value));
    for (const t of [
      'UniqueidentifierType',
      'StringType',
      'MemoType',
      'IntegerType',
      'BigIntType',
      'DecimalType',
      'DoubleType',
      'MoneyType',
      'BooleanType',
      'DateTimeType',
      'PicklistType',
      'MultiSelectPicklistType',
      'StateType',
      'StatusType',
      'LookupType',
      'CustomerType',
      'OwnerType',
      'EntityNameType',
    ]) {
      expect(types).toContain(t);
    }
  });

  it('expands option sets on picklist, multi-select, state and status casts', async () => {
    const picklists = await api.retrieveAttributes({
      entityKey: "LogicalName='contact'",
      castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      select: ['LogicalName'],
      expand: [{ property: 'OptionSet' }, { property: 'GlobalOptionSet' }],
    });
    const tier = picklists.value.find((a: { LogicalName: string }) => a.LogicalName === 'lia_loyaltytier');
    expect(tier.GlobalOptionSet.Name).toBe('lia_loyaltytier');
    expect(tier.OptionSet.Options.map((o: { Value: number }) => o.Value)).toEqual([
      100000000, 100000001, 100000002, 100000003,
    ]);
    expect(tier.OptionSet.Options[0].Label.UserLocalizedLabel.Label).toBe('Bronze');
    const status = await api.retrieveAttributes({
      entityKey: "LogicalName='opportunity'",
      castType: 'Microsoft.Dynamics.CRM.StatusAttributeMetadata',
      expand: [{ property: 'OptionSet' }],
    });
    const won = status.value[0].OptionSet.Options.find((o: { Value: number }) => o.Value === 3);
    expect(won.State).toBe(1);
    const state = await api.retrieveAttribute({
      entityKey: "LogicalName='opportunity'",
      attributeKey: "LogicalName='statecode'",
      castType: 'Microsoft.Dynamics.CRM.StateAttributeMetadata',
      expand: [{ property: 'OptionSet' }],
    });
    expect(state.OptionSet.Options.find((o: { Value: number }) => o.Value === 1)).toMatchObject({
      DefaultStatus: 3,
      InvariantName: 'Won',
    });
    const multi = await api.retrieveAttributes({
      entityKey: "LogicalName='contact'",
      castType: 'Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata',
      expand: [{ property: 'OptionSet' }],
    });
    expect(multi.value.map((a: { LogicalName: string }) => a.LogicalName)).toEqual(['lia_interests']);
  });
});

describe('filters, ordering and annotations', () => {
  it('filters with functions, escapes quotes and counts', async () => {
    const obrien = await api.retrieveMultiple({
      collection: 'contacts',
      select: ['lastname'],
      filter: "lastname eq 'O''Brien'",
      count: true,
    });
    expect(obrien.value.length).toBeGreaterThan(0);
    expect(obrien.value.every((c: { lastname: string }) => c.lastname === "O'Brien")).toBe(true);
    expect(obrien.oDataCount).toBe(obrien.value.length);
    const mixed = await api.retrieveMultiple({
      collection: 'contacts',
      select: ['emailaddress1', 'numberofchildren'],
      filter:
        "(startswith(emailaddress1,'contact1') or contains(emailaddress1,'99@')) and not (numberofchildren ge 2) and lia_loyaltytier ne null",
    });
    expect(mixed.value.length).toBeGreaterThan(0);
    for (const c of mixed.value) {
      expect(c.emailaddress1.startsWith('contact1') || c.emailaddress1.includes('99@')).toBe(true);
      expect(c.numberofchildren).toBeLessThan(2);
    }
    const total = await api.count({ collection: 'contacts' });
    expect(total).toBe(1200);
  });

  it('orders and pages across ties with the keyset skiptoken', async () => {
    const all = await api.retrieveAll({
      collection: 'contacts',
      select: ['modifiedon'],
      orderBy: ['modifiedon desc'],
      maxPageSize: 97,
    });
    expect(all.value).toHaveLength(1200);
    expect(new Set(all.value.map((c: { contactid: string }) => c.contactid)).size).toBe(1200);
    const stamps = all.value.map((c: { modifiedon: Date }) => new Date(c.modifiedon).getTime());
    expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
  });

  it('adds formatted values and lookup annotations when asked', async () => {
    const page = await api.retrieveMultiple({
      collection: 'contacts',
      select: ['gendercode', '_parentcustomerid_value', 'creditlimit'],
      filter: '_parentcustomerid_value ne null',
      top: 3,
      includeAnnotations: '*',
    });
    const c = page.value[0];
    expect(['Male', 'Female']).toContain(c.gendercode_Formatted);
    expect(c._parentcustomerid_value_LogicalName).toBe('account');
    expect(typeof c._parentcustomerid_value_Formatted).toBe('string');
    expect(c.creditlimit_Formatted).toMatch(/^\$/);
  });

  it('expands single-valued navigation properties on queries and retrieves', async () => {
    const page = await api.retrieveMultiple({
      collection: 'contacts',
      select: ['fullname', '_parentcustomerid_value'],
      expand: [{ property: 'parentcustomerid_account', select: ['name', 'accountnumber'] }],
      filter: '_parentcustomerid_value ne null',
      top: 3,
    });
    expect(page.value).toHaveLength(3);
    for (const c of page.value) {
      expect(c.parentcustomerid_account.accountid).toBe(c._parentcustomerid_value);
      expect(c.parentcustomerid_account.accountnumber).toMatch(/^A\d{7}$/);
    }
    const [account] = sandbox.admin.listIds('account', 1);
    const contactId = sandbox.admin.createRecord('contact', { lastname: 'Primary' });
    sandbox.admin.updateRecord('account', account!, { 'primarycontactid@odata.bind': `/contacts(${contactId})` });
    const one = await api.retrieve({
      collection: 'accounts',
      key: account!,
      select: ['name'],
      expand: [{ property: 'primarycontactid', select: ['fullname'] }],
    });
    expect(one.primarycontactid).toMatchObject({ contactid: contactId, fullname: 'Primary' });
  });

  it('retrieves by id and by alternate key', async () => {
    const [first] = (await api.retrieveMultiple({ collection: 'contacts', select: ['lia_customernumber'], top: 1 }))
      .value;
    const byId = await api.retrieve({ collection: 'contacts', key: first.contactid, select: ['lia_customernumber'] });
    expect(byId.lia_customernumber).toBe(first.lia_customernumber);
    const byKey = await api.retrieve({
      collection: 'contacts',
      key: `lia_customernumber='${first.lia_customernumber}'`,
    });
    expect(byKey.contactid).toBe(first.contactid);
  });
});

describe('writes', () => {
  it('creates, updates with an etag, upserts by alternate key and deletes', async () => {
    const [account] = sandbox.admin.listIds('account', 1);
    const id = await api.create<Record<string, unknown>, string>({
      collection: 'contacts',
      data: {
        firstname: 'Zoë',
        lastname: "D'Angelo",
        lia_interests: '100000001,100000004',
        'parentcustomerid_account@odata.bind': `/accounts(${account})`,
      },
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const created = await api.retrieve({
      collection: 'contacts',
      key: id,
      select: ['fullname', 'lia_interests', '_parentcustomerid_value', 'versionnumber'],
    });
    expect(created).toMatchObject({
      fullname: "Zoë D'Angelo",
      lia_interests: '100000001,100000004',
      _parentcustomerid_value: account,
    });
    const etag = created['@odata.etag'] as string;
    expect(await api.update({ collection: 'contacts', key: id, data: { jobtitle: 'Buyer' }, ifmatch: etag })).toBe(
      true,
    );
    // The etag moved on: a second update with the old one is refused with 412, which the client reports as false.
    expect(await api.update({ collection: 'contacts', key: id, data: { jobtitle: 'Owner' }, ifmatch: etag })).toBe(
      false,
    );
    const rep = await api.update({
      collection: 'contacts',
      key: id,
      data: { jobtitle: 'CTO' },
      returnRepresentation: true,
      select: ['jobtitle', 'modifiedon'],
    });
    expect(rep.jobtitle).toBe('CTO');

    const upserted = await api.upsert<Record<string, unknown>, string>({
      collection: 'contacts',
      key: "lia_customernumber='NEW-0001'",
      data: { lastname: 'Upsert' },
    });
    expect(upserted).toMatch(/^[0-9a-f-]{36}$/);
    const again = await api.retrieve({
      collection: 'contacts',
      key: "lia_customernumber='NEW-0001'",
      select: ['lastname'],
    });
    expect(again.contactid).toBe(upserted);
    await api.upsert({ collection: 'contacts', key: "lia_customernumber='NEW-0001'", data: { lastname: 'Upsert 2' } });
    expect(sandbox.admin.getRecord('contact', upserted)?.lastname).toBe('Upsert 2');

    expect(await api.deleteRecord({ collection: 'contacts', key: id })).toBe(true);
    await expect(api.retrieve({ collection: 'contacts', key: id })).rejects.toMatchObject({ status: 404 });
  });

  it('runs a batch with a change set and Content-ID references', async () => {
    api.startBatch();
    api.create({ collection: 'accounts', data: { name: 'Batch Co' }, contentId: '1' });
    api.create({ collection: 'contacts', data: { lastname: 'Ng', 'parentcustomerid_account@odata.bind': '$1' } });
    api.retrieveMultiple({ collection: 'accounts', select: ['name'], filter: "name eq 'Batch Co'" });
    const results = await api.executeBatch();
    expect(results).toHaveLength(3);
    const [accountId, contactId, query] = results as [string, string, { value: Array<{ accountid: string }> }];
    expect(sandbox.admin.getRecord('contact', contactId)?._parentcustomerid_value).toBe(accountId);
    expect(query.value.map((a) => a.accountid)).toContain(accountId);
  });

  it('rolls back a failed change set as a whole', async () => {
    const before = sandbox.admin.countRecords('account');
    api.startBatch();
    api.create({ collection: 'accounts', data: { name: 'Will roll back' } });
    api.create({ collection: 'accounts', data: { name: 'x'.repeat(200) } });
    await expect(api.executeBatch()).rejects.toBeTruthy();
    expect(sandbox.admin.countRecords('account')).toBe(before);
  });

  it('creates many with CreateMultiple', async () => {
    const targets = Array.from({ length: 5 }, (_, i) => ({
      '@odata.type': 'Microsoft.Dynamics.CRM.contact',
      lastname: `Bulk ${i}`,
    }));
    const result = await api.callAction({
      actionName: 'Microsoft.Dynamics.CRM.CreateMultiple',
      collection: 'contacts',
      action: { Targets: targets },
    });
    expect(result.Ids).toHaveLength(5);
    expect(sandbox.admin.getRecord('contact', result.Ids[4])?.lastname).toBe('Bulk 4');
  });
});

describe('change tracking', () => {
  it('returns a delta link, then changes and deletions since', async () => {
    const initial = await api.retrieveAll({
      collection: 'accounts',
      select: ['name'],
      trackChanges: true,
      maxPageSize: 50,
    });
    expect(initial.value.length).toBe(sandbox.admin.countRecords('account'));
    expect(initial.oDataDeltaLink).toContain('$deltatoken=');
    const [victim, changed] = sandbox.admin.listIds('account', 2);
    sandbox.admin.deleteRecord('account', victim!);
    sandbox.admin.updateRecord('account', changed!, { name: 'Renamed' });
    const created = sandbox.admin.createRecord('account', { name: 'Fresh' });
    const delta = await api.retrieveMultiple({ collection: 'accounts' }, initial.oDataDeltaLink);
    const rows = delta.value as Array<Record<string, unknown>>;
    expect(
      rows
        .filter((r) => r.reason === undefined)
        .map((r) => r.accountid)
        .sort(),
    ).toEqual([changed, created].sort());
    expect(rows.find((r) => r.reason === 'deleted')).toMatchObject({ id: victim });
    expect(rows[rows.length - 1]!.reason).toBe('deleted');
    const token = new URL(delta.oDataDeltaLink!).searchParams.get('$deltatoken')!;
    sandbox.admin.createRecord('account', { name: 'Counted change' });
    expect(await api.count({ collection: 'accounts', queryParams: [`$deltatoken=${encodeURIComponent(token)}`] })).toBe(
      1,
    );
    const counted = await api.retrieveMultiple({ collection: 'accounts' }, delta.oDataDeltaLink);
    expect(counted.value).toHaveLength(1);
    const empty = await api.retrieveMultiple({ collection: 'accounts' }, counted.oDataDeltaLink);
    expect(empty.value).toHaveLength(0);
  });
});
