/**
 * Salesforce ids: 3-character key prefix + 12 characters (15, case-sensitive), plus a 3-character checksum
 * suffix that encodes which of the 15 characters are upper case (18, case-insensitive safe).
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
/** The sandbox's pod marker, fixed so ids are reproducible from a seed. */
const POD = 'Lz';

export function idSuffix(id15: string): string {
  let out = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    out += SUFFIX[bits];
  }
  return out;
}

/** The 18-character id for the `n`th record (n ≥ 1) of an object with `keyPrefix`. */
export function makeId(keyPrefix: string, n: number): string {
  let body = '';
  let rest = n;
  for (let i = 0; i < 10; i++) {
    body = BASE62[rest % 62] + body;
    rest = Math.floor(rest / 62);
  }
  const id15 = keyPrefix + POD + body;
  return id15 + idSuffix(id15);
}

const ID_SHAPE = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

/** Normalises a 15- or 18-character id to 18 characters; undefined when the value is not an id at all. */
export function normaliseId(value: string): string | undefined {
  if (!ID_SHAPE.test(value)) return undefined;
  if (value.length === 15) return value + idSuffix(value);
  const expected = idSuffix(value.slice(0, 15));
  return expected === value.slice(15) ? value : undefined;
}
