import { describe, expect, it } from 'vitest';
import { convertValue } from './conversions.js';

describe('import conversions', () => {
  it('default: datetimes from either CRM become UTC ISO strings; numbers and booleans are typed', () => {
    expect(convertValue('2024-01-15T10:20:30.000+0200', 'default', { fieldType: 'datetime' })).toBe(
      '2024-01-15T08:20:30.000Z',
    );
    expect(convertValue('2024-01-15T10:20:30Z', 'default', { fieldType: 'datetime' })).toBe('2024-01-15T10:20:30.000Z');
    expect(convertValue('2024-01-15', 'default', { fieldType: 'date' })).toBe('2024-01-15');
    expect(convertValue('12.50', 'default', { fieldType: 'decimal' })).toBe(12.5);
    expect(convertValue('true', 'default', { fieldType: 'boolean' })).toBe(true);
    expect(convertValue(null, 'default', { fieldType: 'string' })).toBeNull();
    expect(() => convertValue('soon', 'default', { fieldType: 'datetime' })).toThrow(/not a date-time/);
  });

  it('date-only drops the time (UTC date), no-time-offset keeps the wall clock as written', () => {
    expect(convertValue('2024-01-15T23:30:00.000-0200', 'date-only', { fieldType: 'datetime' })).toBe('2024-01-16');
    expect(convertValue('2024-01-15T23:30:00.000-0200', 'no-time-offset', { fieldType: 'datetime' })).toBe(
      '2024-01-15T23:30:00.000',
    );
  });

  it('raw keeps the CRM value as a string; trim/lower/upper clean strings', () => {
    expect(convertValue(['A', 'B'], 'raw', { fieldType: 'multipicklist' })).toBe('A;B');
    expect(convertValue(42, 'raw', { fieldType: 'integer' })).toBe('42');
    expect(convertValue('  Ada@Example.COM ', 'trim', { fieldType: 'email' })).toBe('Ada@Example.COM');
    expect(convertValue('Ada@Example.COM', 'lower', { fieldType: 'email' })).toBe('ada@example.com');
    expect(convertValue('fr', 'upper', { fieldType: 'string' })).toBe('FR');
  });

  it('enum maps CRM values to local ones, and set gives distinct sorted values', () => {
    const enumMap = new Map([
      ['Web', 'web'],
      ['100000000', 'gold'],
    ]);
    expect(convertValue('Web', 'enum', { fieldType: 'picklist', enumMap })).toBe('web');
    expect(convertValue('Phone', 'enum', { fieldType: 'picklist', enumMap })).toBe('Phone');
    expect(() => convertValue('Phone', 'enum', { fieldType: 'picklist', enumMap, strictEnum: true })).toThrow(
      /enums sync/,
    );
    expect(convertValue(['b', 'a', 'b'], 'set', { fieldType: 'multipicklist' })).toEqual(['a', 'b']);
    expect(convertValue('x;y', 'set', { fieldType: 'multipicklist' })).toEqual(['x', 'y']);
    expect(convertValue(null, 'set', { fieldType: 'multipicklist' })).toEqual([]);
  });
});
