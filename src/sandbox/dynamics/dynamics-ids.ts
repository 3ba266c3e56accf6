import { createHash, randomBytes } from 'node:crypto';

/** A GUID derived from a name, so metadata ids and seeded ids are stable across starts with the same seed. */
export function stableGuid(...parts: Array<string | number>): string {
  const hex = createHash('sha1').update(parts.join('|')).digest('hex');
  return formatGuid(hex);
}

export function randomGuid(): string {
  return formatGuid(randomBytes(16).toString('hex'));
}

function formatGuid(hex: string): string {
  // Version-4 shape (lowercase, no braces) as Dataverse prints GUIDs.
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Dataverse datetimes on the wire: whole seconds, `Z` (DynamicsWebApi's date reviver only matches this form). */
export function isoSeconds(date: Date): string {
  return date.toISOString().slice(0, 19) + 'Z';
}
