import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { rawClient, type RawCallOptions, type RawReply, secretToken } from './dynamics-client-helpers.js';

/** Wire-level protocol details clients rely on: Prefer handling, paging rules, preconditions, batch modes, bulk messages. */

let sandbox: DynamicsSandbox;
let token: string;
let call: (method: string, path: string, options?: RawCallOptions) => Promise<RawReply>;
const API = '/api/data/v9.2';
const JSON_HEADERS = { 'Content-Type': 'application/json' };

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ records: 120, seed: 21 });
  token = await secretToken(sandbox);
  call = rawClient(sandbox.url, sandbox.caFile, () => token);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('queries', () => {
  it('applies maxpagesize (capped at 5000), echoes Preference-Applied and ignores $top when a page size is set', async () => {
    const paged = await call('GET', `${API}/contacts?$select=lastname&$top=3`, {
      headers: { Prefer: 'odata.maxpagesize=50' },
    });
    expect(paged.headers['preference-applied']).toBe('odata.maxpagesize=50');
    const body = paged.json();
    expect((body.value as unknown[]).length).toBe(50);
    expect(body['@odata.context']).toBe(`${sandbox.url}${API}/$metadata#contacts(lastname)`);
    expect(String(body['@odata.nextLink'])).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\/contacts\?\$select=lastname&\$top=3&\$skiptoken=/,
    );
    const capped = await call('GET', `${API}/contacts?$select=lastname`, {
      headers: { Prefer: 'odata.maxpagesize=9000' },
    });
    expect(capped.headers['preference-applied']).toBe('odata.maxpagesize=5000');
    const top = await call('GET', `${API}/contacts?$select=lastname&$top=3`);
    expect((top.json().value as unknown[]).length).toBe(3);
    expect(top.json()['@odata.nextLink']).toBeUndefined();
  });

  it('pages correctly over a nullable column with mixed sort directions', async () => {
    const order = '$orderby=jobtitle asc,lastname desc';
    const seen: Array<{ contactid: string; jobtitle: string | null; lastname: string }> = [];
    let next: string | undefined = `${API}/contacts?$select=jobtitle,lastname&${order}`;
    while (next) {
      const page = (await call('GET', next, { headers: { Prefer: 'odata.maxpagesize=7' } })).json();
      seen.push(...(page.value as typeof seen));
      next = page['@odata.nextLink'] as string | undefined;
    }
    expect(seen).toHaveLength(sandbox.admin.countRecords('contact'));
    expect(new Set(seen.map((r) => r.contactid)).size).toBe(seen.length);
    const nulls = seen.findIndex((r) => r.jobtitle !== null);
    expect(nulls).toBeGreaterThan(0);
    expect(seen.slice(nulls).every((r) => r.jobtitle !== null)).toBe(true);
    for (let i = nulls + 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      const cmp = a.jobtitle!.toLowerCase().localeCompare(b.jobtitle!.toLowerCase());
      expect(cmp <= 0).toBe(true);
    }
  });

  it('always returns the primary key and lookups as _x_value, and counts as plain text', async () => {
    const row = (
      (await call('GET', `${API}/accounts?$select=name,_primarycontactid_value&$top=1`)).json().value as Array<
        Record<string, unknown>
      >
    )[0]!;
    expect(Object.keys(row)).toEqual(['@odata.etag', 'name', '_primarycontactid_value', 'accountid']);
    const count = await call('GET', `${API}/contacts/$count`);
    expect(count.headers['content-type']).toMatch(/^text\/plain/);
    expect(Number(count.text)).toBe(sandbox.admin.countRecords('contact'));
  });

  it('writes datetimes as whole seconds with Z and date-only values as dates', async () => {
    const row = (
      (await call('GET', `${API}/contacts?$select=modifiedon,birthdate&$filter=birthdate ne null&$top=1`)).json()
        .value as Array<Record<string, string>>
    )[0]!;
    expect(row.modifiedon).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(row.birthdate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('keeps a tracked initial sync tracked on its next links and ends it with a delta link', async () => {
    const first = (
      await call('GET', `${API}/accounts?$select=name`, {
        headers: { Prefer: 'odata.track-changes,odata.maxpagesize=5' },
      })
    ).json();
    let next = first['@odata.nextLink'] as string | undefined;
    let rows = (first.value as unknown[]).length;
    let delta: unknown;
    while (next) {
      // No Prefer header on purpose: the skiptoken carries the tracking state.
      const page = (await call('GET', next)).json();
      rows += (page.value as unknown[]).length;
      next = page['@odata.nextLink'] as string | undefined;
      delta = page['@odata.deltaLink'];
    }
    expect(rows).toBe(sandbox.admin.countRecords('account'));
    expect(String(delta)).toMatch(/\$deltatoken=\d+%21/);
  });

  it('serves a service document and a CSDL $metadata with lookup navigation properties', async () => {
    const service = (await call('GET', `${API}/`)).json();
    expect(service.value).toContainEqual({ name: 'contacts', kind: 'EntitySet', url: 'contacts' });
    const csdl = await call('GET', `${API}/$metadata?annotations=true`);
    expect(csdl.headers['content-type']).toMatch(/^application\/xml/);
    expect(csdl.text).toContain(
      '<EntitySet Name="lia_loyaltycards" EntityType="Microsoft.Dynamics.CRM.lia_loyaltycard"/>',
    );
    expect(csdl.text).toContain('<NavigationProperty Name="parentcustomerid_account" Type="mscrm.account"/>');
    expect(csdl.text).toContain('<NavigationProperty Name="lia_ContactId" Type="mscrm.contact"/>');
    expect(csdl.text).toContain('<Property Name="_parentcustomerid_value" Type="Edm.Guid"/>');
    expect(csdl.text).toContain('Org.OData.Capabilities.V1.ChangeTracking');
  });

  it('needs a type cast to select derived metadata properties, and filters attributes by enum values', async () => {
    const base = `${API}/EntityDefinitions(LogicalName='contact')/Attributes`;
    const uncast = await call('GET', `${base}?$select=LogicalName,MaxLength`);
    expect(uncast.status).toBe(400);
    expect((uncast.json().error as { message: string }).message).toBe(
      "Could not find a property named 'MaxLength' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'.",
    );
    const cast = (
      await call(
        'GET',
        `${base}/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength&$filter=LogicalName eq 'emailaddress1'`,
      )
    ).json();
    expect(cast.value).toEqual([
      {
        '@odata.type': '#Microsoft.Dynamics.CRM.StringAttributeMetadata',
        LogicalName: 'emailaddress1',
        MaxLength: 100,
        MetadataId: expect.any(String),
      },
    ]);
    const filter = encodeURIComponent(
      "AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist' and IsCustomAttribute eq true",
    );
    const picklists = (await call('GET', `${base}?$select=LogicalName&$filter=${filter}`)).json().value as Array<{
      LogicalName: string;
    }>;
    expect(picklists.map((a) => a.LogicalName)).toEqual(['lia_loyaltytier']);
    const required = encodeURIComponent(
      "RequiredLevel/Value eq Microsoft.Dynamics.CRM.AttributeRequiredLevel'ApplicationRequired'",
    );
    expect(
      (
        (await call('GET', `${base}?$select=LogicalName&$filter=${required}`)).json().value as Array<{
          LogicalName: string;
        }>
      ).map((a) => a.LogicalName),
    ).toEqual(['lastname']);
  });

  it('names expansions in @odata.context and refuses unknown or collection navigation properties', async () => {
    const reply = (
      await call('GET', `${API}/contacts?$select=fullname&$expand=parentcustomerid_account($select=name)&$top=1`)
    ).json();
    expect(reply['@odata.context']).toBe(
      `${sandbox.url}${API}/$metadata#contacts(fullname,parentcustomerid_account(name))`,
    );
    expect((await call('GET', `${API}/accounts?$expand=contact_customer_accounts`)).status).toBe(400);
    expect((await call('GET', `${API}/contacts?$expand=parentcustomerid_account($filter=name eq 'x')`)).status).toBe(
      400,
    );
    expect(
      (
        await call('GET', `${API}/contacts?$expand=parentcustomerid_account`, {
          headers: { Prefer: 'odata.track-changes' },
        })
      ).status,
    ).toBe(400);
  });

  it('answers 304 to If-None-Match with the current etag', async () => {
    const [id] = sandbox.admin.listIds('contact', 1);
    const first = await call('GET', `${API}/contacts(${id})?$select=lastname`);
    const etag = first.json()['@odata.etag'] as string;
    expect(
      (await call('GET', `${API}/contacts(${id})?$select=lastname`, { headers: { 'If-None-Match': etag } })).status,
    ).toBe(304);
  });
});

describe('writes', () => {
  it('returns 201 with the row for return=representation, and sets or clears one property', async () => {
    const created = await call('POST', `${API}/contacts?$select=lastname,fullname`, {
      body: JSON.stringify({ firstname: 'Ana', lastname: 'Lima' }),
      headers: { ...JSON_HEADERS, Prefer: 'return=representation' },
    });
    expect(created.status).toBe(201);
    expect(created.headers['preference-applied']).toBe('return=representation');
    const row = created.json();
    expect(row).toMatchObject({ lastname: 'Lima', fullname: 'Ana Lima' });
    const id = row.contactid as string;
    expect(
      (await call('PUT', `${API}/contacts(${id})/jobtitle`, { body: '{"value":"Chef"}', headers: JSON_HEADERS }))
        .status,
    ).toBe(204);
    expect(sandbox.admin.getRecord('contact', id)?.jobtitle).toBe('Chef');
    expect((await call('DELETE', `${API}/contacts(${id})/jobtitle`)).status).toBe(204);
    expect(sandbox.admin.getRecord('contact', id)?.jobtitle).toBeNull();
    const [account] = sandbox.admin.listIds('account', 1);
    await call('PATCH', `${API}/contacts(${id})`, {
      body: JSON.stringify({ 'parentcustomerid_account@odata.bind': `/accounts(${account})` }),
      headers: JSON_HEADERS,
    });
    expect(sandbox.admin.getRecord('contact', id)?._parentcustomerid_value).toBe(account);
    expect((await call('DELETE', `${API}/contacts(${id})/parentcustomerid_account/$ref`)).status).toBe(204);
    expect(sandbox.admin.getRecord('contact', id)?._parentcustomerid_value).toBeNull();
  });

  it('acts as the user named by MSCRMCallerID or CallerObjectId', async () => {
    const who = (await call('GET', `${API}/WhoAmI`)).json();
    const users = (await call('GET', `${API}/systemusers?$select=fullname,azureactivedirectoryobjectid`)).json()
      .value as Array<Record<string, string>>;
    const other = users.find((u) => u.systemuserid !== who.UserId)!;
    const asOther = (await call('GET', `${API}/WhoAmI`, { headers: { MSCRMCallerID: other.systemuserid! } })).json();
    expect(asOther.UserId).toBe(other.systemuserid);
    const created = await call('POST', `${API}/contacts`, {
      body: '{"lastname":"Impersonated"}',
      headers: { ...JSON_HEADERS, CallerObjectId: other.azureactivedirectoryobjectid! },
    });
    const id = /\(([^)]+)\)$/.exec(String(created.headers['odata-entityid']))![1]!;
    expect(sandbox.admin.getRecord('contact', id)).toMatchObject({
      _createdby_value: other.systemuserid,
      _ownerid_value: other.systemuserid,
    });
    expect(
      (await call('GET', `${API}/WhoAmI`, { headers: { MSCRMCallerID: '00000000-0000-4000-8000-000000000000' } }))
        .status,
    ).toBe(404);
  });

  it('keeps statecode and statuscode consistent', async () => {
    const id = sandbox.admin.createRecord('opportunity', { name: 'Deal' });
    await call('PATCH', `${API}/opportunities(${id})`, { body: '{"statecode":1}', headers: JSON_HEADERS });
    expect(sandbox.admin.getRecord('opportunity', id)).toMatchObject({ statecode: 1, statuscode: 3 });
    const bad = await call('PATCH', `${API}/opportunities(${id})`, {
      body: '{"statecode":0,"statuscode":5}',
      headers: JSON_HEADERS,
    });
    expect(bad.status).toBe(400);
  });

  it('updates and upserts many with UpdateMultiple and UpsertMultiple', async () => {
    const ids = sandbox.admin.listIds('contact', 2);
    const update = await call('POST', `${API}/contacts/Microsoft.Dynamics.CRM.UpdateMultiple`, {
      body: JSON.stringify({
        Targets: ids.map((id) => ({
          '@odata.type': 'Microsoft.Dynamics.CRM.contact',
          contactid: id,
          jobtitle: 'Bulk',
        })),
      }),
      headers: JSON_HEADERS,
    });
    expect(update.status).toBe(204);
    for (const id of ids) expect(sandbox.admin.getRecord('contact', id)?.jobtitle).toBe('Bulk');
    const upsert = await call('POST', `${API}/contacts/Microsoft.Dynamics.CRM.UpsertMultiple`, {
      body: JSON.stringify({
        Targets: [
          {
            '@odata.type': 'Microsoft.Dynamics.CRM.contact',
            '@odata.id': "contacts(lia_customernumber='UPM-1')",
            lastname: 'One',
          },
        ],
      }),
      headers: JSON_HEADERS,
    });
    expect(upsert.status).toBe(204);
    const found = (await call('GET', `${API}/contacts(lia_customernumber='UPM-1')?$select=lastname`)).json();
    expect(found.lastname).toBe('One');
    const untyped = await call('POST', `${API}/contacts/Microsoft.Dynamics.CRM.CreateMultiple`, {
      body: JSON.stringify({ Targets: [{ lastname: 'No type' }] }),
      headers: JSON_HEADERS,
    });
    expect(untyped.status).toBe(400);
  });
});

describe('$batch', () => {
  const part = (method: string, url: string, body?: string, contentId?: string) =>
    [
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      ...(contentId ? [`Content-ID: ${contentId}`] : []),
      '',
      `${method} ${url} HTTP/1.1`,
      'Content-Type: application/json',
      '',
      body ?? '',
    ].join('\r\n');

  it('stops at the first failure without continue-on-error and goes on with it', async () => {
    const body = [
      '--b1',
      part('POST', `${API}/accounts`, '{"name":"B1"}'),
      '--b1',
      part('POST', `${API}/accounts`, '{"nope":1}'),
      '--b1',
      part('POST', `${API}/accounts`, '{"name":"B3"}'),
      '--b1--',
      '',
    ].join('\r\n');
    const stop = await call('POST', `${API}/$batch`, {
      body,
      headers: { 'Content-Type': 'multipart/mixed; boundary=b1' },
    });
    expect(stop.status).toBe(400);
    expect(stop.text.match(/HTTP\/1\.1 /g)).toHaveLength(2);
    expect(stop.headers['content-type']).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
    const go = await call('POST', `${API}/$batch`, {
      body,
      headers: { 'Content-Type': 'multipart/mixed; boundary=b1', Prefer: 'odata.continue-on-error' },
    });
    expect(go.status).toBe(200);
    expect(go.text.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 204', 'HTTP/1.1 400', 'HTTP/1.1 204']);
  });

  it('refuses an undefined Content-ID reference and GET inside a change set', async () => {
    const cs = [
      '--cs',
      part('POST', `${API}/contacts`, '{"lastname":"X","parentcustomerid_account@odata.bind":"$9"}', '1'),
      '--cs--',
    ].join('\r\n');
    const body = ['--b2', 'Content-Type: multipart/mixed; boundary=cs', '', cs, '--b2--', ''].join('\r\n');
    const reply = await call('POST', `${API}/$batch`, {
      body,
      headers: { 'Content-Type': 'multipart/mixed; boundary=b2' },
    });
    expect(reply.text).toContain("Content-ID Reference: '$9' does not exist in the batch context.");
    const withGet = [
      '--b3',
      'Content-Type: multipart/mixed; boundary=cs',
      '',
      ['--cs', part('GET', `${API}/contacts`), '--cs--'].join('\r\n'),
      '--b3--',
      '',
    ].join('\r\n');
    expect(
      (
        await call('POST', `${API}/$batch`, {
          body: withGet,
          headers: { 'Content-Type': 'multipart/mixed; boundary=b3' },
        })
      ).status,
    ).toBe(400);
  });
});
