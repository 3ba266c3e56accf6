import { describe, expect, it } from 'vitest';
import {
  buildBatch,
  entityIdFromHeader,
  parseBatchResponse,
  partError,
} from '../../src/crm/dynamics/dynamics-batch.js';
import {
  aadstsCode,
  httpFailure,
  networkFailure,
  parseODataError,
  tokenFailure,
} from '../../src/crm/dynamics/dynamics-errors.js';
import { fromDataverseRecord, toDataverseBody } from '../../src/crm/dynamics/dynamics-values.js';
import { contactMeta } from './dynamics-fixtures.js';

const field = (name: string) => contactMeta.fields.find((f) => f.name === name)!;

describe('metadata mapping', () => {
  it('maps the object and its Dataverse types to neutral types', () => {
    expect(contactMeta).toMatchObject({
      name: 'contact',
      label: 'Contact',
      labelPlural: 'Contacts',
      idField: 'contactid',
      nameField: 'fullname',
      modstampField: 'modifiedon',
      collectionName: 'contacts',
      custom: false,
    });
    const types = Object.fromEntries(contactMeta.fields.map((f) => [f.name, [f.type, f.crmType]]));
    expect(types).toMatchObject({
      contactid: ['id', 'Uniqueidentifier'],
      firstname: ['string', 'String'],
      emailaddress1: ['email', 'String'],
      telephone1: ['phone', 'String'],
      websiteurl: ['url', 'String'],
      description: ['text', 'Memo'],
      numberofchildren: ['integer', 'Integer'],
      versionnumber: ['bigint', 'BigInt'],
      creditlimit: ['decimal', 'Money'],
      lia_score: ['decimal', 'Decimal'],
      lia_ratio: ['double', 'Double'],
      donotemail: ['boolean', 'Boolean'],
      birthdate: ['date', 'DateTime'],
      modifiedon: ['datetime', 'DateTime'],
      preferredcontactmethodcode: ['picklist', 'Picklist'],
      lia_interests: ['multipicklist', 'MultiSelectPicklist'],
      statecode: ['picklist', 'State'],
      statuscode: ['picklist', 'Status'],
      parentcustomerid: ['reference', 'Customer'],
      ownerid: ['reference', 'Owner'],
      transactioncurrencyid: ['reference', 'Lookup'],
      owneridtype: ['unsupported', 'EntityName'],
    });
    expect(types.owneridname).toBeUndefined(); // a companion (AttributeOf) is not a column of its own
  });

  it('keeps lengths, precision, requiredness, targets, keys and the modstamp flag', () => {
    expect(field('firstname')).toMatchObject({ length: 50, nillable: true, createable: true, updateable: true });
    expect(field('lastname').nillable).toBe(false);
    expect(field('contactid')).toMatchObject({ nillable: false, updateable: false });
    expect(field('creditlimit')).toMatchObject({ scale: 2, precision: 17 });
    expect(field('lia_score')).toMatchObject({ scale: 4, precision: 10 });
    expect(field('parentcustomerid').referenceTo).toEqual(['account', 'contact']);
    expect(field('ownerid').referenceTo).toEqual(['systemuser', 'team']);
    expect(field('ownerid').relationshipName).toBeUndefined();
    expect(field('transactioncurrencyid').relationshipName).toBe('transactioncurrencyid');
    expect(field('lia_referrerid').relationshipName).toBe('lia_ReferrerId');
    expect(field('lia_customernumber')).toMatchObject({ externalId: true, unique: true });
    expect(field('modifiedon').isModstamp).toBe(true);
    expect(field('versionnumber')).toMatchObject({ createable: false, updateable: false });
  });

  it('maps option sets with string values, defaults, global names and status → state', () => {
    expect(field('preferredcontactmethodcode').picklist).toEqual({
      restricted: true,
      values: [
        { value: '1', label: 'Any', active: true, isDefault: true },
        { value: '2', label: 'Email', active: true, isDefault: false },
      ],
    });
    expect(field('lia_interests').picklist).toMatchObject({
      globalName: 'lia_interest',
      values: [
        { value: '100000000', label: 'Golf' },
        { value: '100000001', label: 'Wine' },
      ],
    });
    expect(field('statecode').picklist?.values.map((v) => v.value)).toEqual(['0', '1']);
    expect(field('statuscode').picklist).toMatchObject({
      controllerName: 'statecode',
      values: [
        { value: '1', validFor: ['0'] },
        { value: '2', validFor: ['1'] },
      ],
    });
  });
});

describe('record values', () => {
  it('normalises a wire row', () => {
    const record = fromDataverseRecord(contactMeta, {
      '@odata.etag': 'W/"1234"',
      contactid: 'AAAAAAAA-0000-4000-8000-000000000001',
      lastname: "O'Hara",
      modifiedon: '2024-01-15T10:20:30Z',
      birthdate: '1990-05-06',
      lia_interests: '100000000, 100000001',
      preferredcontactmethodcode: 2,
      creditlimit: 1500.5,
      _parentcustomerid_value: 'bbbbbbbb-0000-4000-8000-000000000002',
      '_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'account',
      _transactioncurrencyid_value: 'cccccccc-0000-4000-8000-000000000003',
      '_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname': 'transactioncurrency',
      _ownerid_value: null,
      donotemail: false,
    });
    expect(record).toEqual({
      id: 'aaaaaaaa-0000-4000-8000-000000000001',
      values: {
        contactid: 'AAAAAAAA-0000-4000-8000-000000000001',
        lastname: "O'Hara",
        modifiedon: '2024-01-15T10:20:30.000Z',
        birthdate: '1990-05-06',
        lia_interests: ['100000000', '100000001'],
        preferredcontactmethodcode: '2',
        creditlimit: 1500.5,
        parentcustomerid: 'bbbbbbbb-0000-4000-8000-000000000002',
        'parentcustomerid@target': 'account',
        transactioncurrencyid: 'cccccccc-0000-4000-8000-000000000003',
        ownerid: null,
        'ownerid@target': null,
        donotemail: false,
      },
    });
    expect(fromDataverseRecord(contactMeta, { contactid: 'a', lia_interests: '' }).values.lia_interests).toEqual([]);
    expect(() => fromDataverseRecord(contactMeta, { lastname: 'x' })).toThrow(
      expect.objectContaining({ code: 'crm_error' }),
    );
  });

  it('builds write bodies: binds, multi-select, typed values', () => {
    const binds = {
      entitySet: (t: string) =>
        ({ account: 'accounts', contact: 'contacts', transactioncurrency: 'transactioncurrencies' })[t]!,
    };
    const body = toDataverseBody(
      contactMeta,
      {
        LastName: 'Obi',
        lia_interests: ['100000000', 100000001],
        preferredcontactmethodcode: '2',
        numberofchildren: '3',
        donotemail: 'true',
        modifiedon: '2024-01-15T10:20:30.123Z',
        birthdate: '1990-05-06T00:00:00Z',
        parentcustomerid: 'BBBBBBBB-0000-4000-8000-000000000002',
        'parentcustomerid@target': 'account',
        transactioncurrencyid: 'cccccccc-0000-4000-8000-000000000003',
        contactid: 'ignored-id',
      },
      binds,
    );
    expect(body).toEqual({
      lastname: 'Obi',
      lia_interests: '100000000,100000001',
      preferredcontactmethodcode: 2,
      numberofchildren: 3,
      donotemail: true,
      modifiedon: '2024-01-15T10:20:30Z',
      birthdate: '1990-05-06',
      'parentcustomerid_account@odata.bind': '/accounts(bbbbbbbb-0000-4000-8000-000000000002)',
      'transactioncurrencyid@odata.bind': '/transactioncurrencies(cccccccc-0000-4000-8000-000000000003)',
    });
    expect(toDataverseBody(contactMeta, { transactioncurrencyid: null }, binds)).toEqual({
      'transactioncurrencyid@odata.bind': null,
    });
    expect(toDataverseBody(contactMeta, { lia_referrerid: 'dddddddd-0000-4000-8000-000000000004' }, binds)).toEqual({
      'lia_ReferrerId@odata.bind': '/contacts(dddddddd-0000-4000-8000-000000000004)',
    });
    expect(() =>
      toDataverseBody(contactMeta, { parentcustomerid: 'bbbbbbbb-0000-4000-8000-000000000002' }, binds),
    ).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() =>
      toDataverseBody(contactMeta, { parentcustomerid: 'x', 'parentcustomerid@target': 'account' }, binds),
    ).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => toDataverseBody(contactMeta, { numberofchildren: 1.5 }, binds)).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
    expect(() => toDataverseBody(contactMeta, { nosuch: 1 }, binds)).toThrow(
      expect.objectContaining({ code: 'field_not_found' }),
    );
  });
});

describe('$batch', () => {
  it('builds one top-level part per operation', () => {
    const { contentType, body } = buildBatch([
      { method: 'POST', url: 'https://org/api/data/v9.2/contacts', body: { lastname: 'A' } },
      { method: 'DELETE', url: 'https://org/api/data/v9.2/contacts(00000000-0000-4000-8000-000000000001)' },
    ]);
    const boundary = /boundary=(\S+)/.exec(contentType)![1]!;
    expect(body.split(`--${boundary}\r\n`)).toHaveLength(3);
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
    expect(body).toContain('POST https://org/api/data/v9.2/contacts HTTP/1.1\r\n');
    expect(body).toContain('Content-Type: application/json; charset=utf-8\r\n\r\n{"lastname":"A"}\r\n');
    expect(body).not.toContain('changeset');
    expect(() => buildBatch(Array.from({ length: 1001 }, () => ({ method: 'DELETE' as const, url: 'x' })))).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
  });

  it('parses responses in order, including change sets and errors', () => {
    const body = [
      '--batchresponse_1',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      'HTTP/1.1 204 No Content',
      'OData-Version: 4.0',
      'OData-EntityId: https://org/api/data/v9.2/contacts(AAAAAAAA-0000-4000-8000-000000000001)',
      '',
      '',
      '--batchresponse_1',
      'Content-Type: multipart/mixed; boundary=changesetresponse_2',
      '',
      '--changesetresponse_2',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      'Content-ID: 1',
      '',
      'HTTP/1.1 201 Created',
      'Content-Type: application/json; odata.metadata=minimal',
      '',
      '{"contactid":"bbbbbbbb-0000-4000-8000-000000000002"}',
      '--changesetresponse_2--',
      '--batchresponse_1',
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      'HTTP/1.1 400 Bad Request',
      'Content-Type: application/json; odata.metadata=minimal',
      '',
      '{"error":{"code":"0x80040203","message":"lastname: Required field missing"}}',
      '--batchresponse_1--',
      '',
    ].join('\r\n');
    const parts = parseBatchResponse(body, 'multipart/mixed; boundary=batchresponse_1');
    expect(parts.map((p) => p.status)).toEqual([204, 201, 400]);
    expect(entityIdFromHeader(parts[0]!.headers['odata-entityid'])).toBe('aaaaaaaa-0000-4000-8000-000000000001');
    expect(JSON.parse(parts[1]!.body)).toEqual({ contactid: 'bbbbbbbb-0000-4000-8000-000000000002' });
    expect(partError(parts[2]!)).toEqual({ code: '0x80040203', message: 'lastname: Required field missing' });
    expect(partError({ status: 500, headers: {}, body: '' })).toEqual({ code: 'HTTP_500', message: 'HTTP 500' });
    expect(() => parseBatchResponse(body, 'application/json')).toThrow(expect.objectContaining({ code: 'crm_error' }));
  });
});

describe('error mapping', () => {
  it('maps OData errors and statuses', () => {
    expect(parseODataError('{"error":{"code":"0x80040217","message":"Does Not Exist"}}')).toEqual({
      code: '0x80040217',
      message: 'Does Not Exist',
    });
    expect(parseODataError('<html>')).toBeUndefined();
    expect(httpFailure(400, '{"error":{"code":"0x1","message":"bad"}}', 'x')).toMatchObject({
      code: 'crm_error',
      details: { status: 400, crmCode: '0x1' },
    });
    expect(httpFailure(400, '{"error":{"code":"0x1","message":"bad"}}', 'x').message).toContain('0x1: bad');
    expect(httpFailure(401, '', 'x').code).toBe('auth_failed');
    expect(httpFailure(429, '', 'x').code).toBe('rate_limited');
    expect(httpFailure(502, '<html/>', 'x')).toMatchObject({ code: 'http_error', details: { status: 502 } });
  });

  it('maps socket failures', () => {
    const err = (code: string, message = code) => Object.assign(new Error(message), { code });
    expect(networkFailure(err('ENOTFOUND'), 'https://nohost.example').code).toBe('dns_error');
    expect(
      networkFailure(err('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), 'https://h')
        .code,
    ).toBe('tls_error');
    expect(networkFailure(err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'https://h').code).toBe('tls_error');
    expect(networkFailure(err('ETIMEDOUT'), 'https://h').code).toBe('timeout');
    expect(networkFailure(err('ECONNRESET'), 'https://h').code).toBe('network_error');
  });

  it('keeps the AADSTS code of token errors', () => {
    const description =
      'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1';
    const mapped = tokenFailure({ errorCode: 'invalid_client', errorMessage: description });
    expect(mapped).toMatchObject({
      code: 'auth_failed',
      details: { oauthCode: 'invalid_client', aadsts: 'AADSTS7000215' },
    });
    expect(mapped.message).toContain('AADSTS7000215: Invalid client secret provided');
    expect(mapped.message).not.toContain('Trace ID');
    const inline = tokenFailure({
      errorCode: 'invalid_client',
      errorMessage: 'AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2',
    });
    expect(inline.message).toContain('AADSTS7000215: Invalid client secret provided.');
    expect(inline.message).not.toContain('Trace ID');
    expect(aadstsCode('no code')).toBeUndefined();
  });
});
