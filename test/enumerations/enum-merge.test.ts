import { describe, expect, it } from 'vitest';
import type { PicklistValue } from '../../src/crm/metadata.js';
import { isNoop, mergeValues } from '../../src/enumerations/enum-merge.js';
import type { EnumValue } from '../../src/enumerations/enum-types.js';
import {
  fromCrmMultiSelect,
  fromStoredMultiSelect,
  toCrmMultiSelect,
  toStoredMultiSelect,
} from '../../src/enumerations/multi-select.js';

const crm = (value: string, label = value, active = true, validFor?: string[]): PicklistValue => ({
  value,
  label,
  active,
  isDefault: false,
  ...(validFor ? { validFor } : {}),
});
const local = (value: string, label = value, source: 'crm' | 'local' = 'crm'): EnumValue => ({
  value,
  label,
  enabled: true,
  source,
});

describe('enumeration merge and replace', () => {
  it('merge adds new CRM values, keeps local-only values in place and updates labels', () => {
    const result = mergeValues(
      [local('Web', 'Website'), local('Fair', 'Trade fair', 'local'), local('Phone')],
      [crm('Web', 'Web'), crm('Phone'), crm('Email')],
      'merge',
    );
    expect(result.values.map((v) => [v.value, v.label, v.source])).toEqual([
      ['Web', 'Web', 'crm'],
      ['Fair', 'Trade fair', 'local'],
      ['Phone', 'Phone', 'crm'],
      ['Email', 'Email', 'crm'],
    ]);
    expect(result).toMatchObject({ added: ['Email'], updated: ['Web'], removed: [], disabled: [] });
  });

  it('replace makes the enumeration exactly the CRM values, in CRM order', () => {
    const result = mergeValues(
      [local('Fair', 'Trade fair', 'local'), local('Web')],
      [crm('Email'), crm('Web')],
      'replace',
    );
    expect(result.values.map((v) => v.value)).toEqual(['Email', 'Web']);
    expect(result).toMatchObject({ added: ['Email'], updated: [], removed: ['Fair'] });
  });

  it('keeps inactive CRM values, disabled, and carries validFor of dependent picklists', () => {
    const result = mergeValues([local('Old')], [crm('Old', 'Old', false), crm('Form', 'Form', true, ['Web'])], 'merge');
    expect(result.values).toEqual([
      { value: 'Old', label: 'Old', enabled: false, source: 'crm' },
      { value: 'Form', label: 'Form', enabled: true, source: 'crm', validFor: ['Web'] },
    ]);
    expect(result.disabled).toEqual(['Old']);
    expect(result.updated).toEqual(['Old']);
  });

  it('is a no-op when nothing changed', () => {
    const values = [crm('A'), crm('B')];
    const first = mergeValues([], values, 'merge');
    expect(isNoop(mergeValues(first.values, values, 'merge'))).toBe(true);
    expect(isNoop(mergeValues(first.values, values, 'replace'))).toBe(true);
  });
});

describe('multi-select round trip', () => {
  it('string[] ⇄ stored JSON text ⇄ the CRM formats', () => {
    const values = ['Cycling', 'Hiking', 'Rock & "Roll"', 'Ünïcode, yes'];
    const stored = toStoredMultiSelect(values);
    expect(stored).toBe('["Cycling","Hiking","Rock & \\"Roll\\"","Ünïcode, yes"]');
    expect(fromStoredMultiSelect(stored)).toEqual(values);
    expect(toCrmMultiSelect('salesforce', values)).toBe('Cycling;Hiking;Rock & "Roll";Ünïcode, yes');
    expect(fromCrmMultiSelect('salesforce', toCrmMultiSelect('salesforce', values))).toEqual(values);
    expect(toCrmMultiSelect('dynamics', ['100000000', '100000002'])).toBe('100000000,100000002');
    expect(fromCrmMultiSelect('dynamics', '100000000,100000002')).toEqual(['100000000', '100000002']);
  });

  it('distinguishes no value from an empty selection and refuses separators inside values', () => {
    expect(toStoredMultiSelect(null)).toBeNull();
    expect(toStoredMultiSelect([])).toBe('[]');
    expect(fromStoredMultiSelect(null)).toEqual([]);
    expect(fromStoredMultiSelect(['a'])).toEqual(['a']);
    expect(fromCrmMultiSelect('salesforce', '')).toEqual([]);
    expect(toStoredMultiSelect(['A', 'A', 'B'])).toBe('["A","B"]');
    expect(() => toCrmMultiSelect('salesforce', ['a;b'])).toThrow(/contains ";"/);
    expect(() => fromStoredMultiSelect('not json')).toThrow(/not JSON/);
    expect(() => fromStoredMultiSelect('{"a":1}')).toThrow(/not a JSON array/);
  });
});
