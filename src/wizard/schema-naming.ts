import { LiaisonError } from '../core/errors.js';
import type { CrmKind } from '../crm/driver.js';

/**
 * Names of generated schemas, tables, columns and enumerations. Every name that reaches SQL passes
 * `assertIdentifier`, so DDL built from CRM metadata (which an org admin controls) cannot inject anything.
 */

/** Short CRM prefix used in schema and table names. */
export const CRM_PREFIX: Record<CrmKind, string> = { salesforce: 'sfdc', dynamics: 'dyn' };

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_IDENTIFIER = 63; // PostgreSQL truncates longer names silently; refuse rather than collide.

export function isSafeIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

export function assertIdentifier(name: string, what: string): string {
  if (!isSafeIdentifier(name)) {
    throw new LiaisonError(
      'invalid_input',
      `${what} "${name}" is not a safe SQL identifier (lower-case letters, digits and _, at most 63, not starting with a digit)`,
    );
  }
  return name;
}

/** Lower-case, non-alphanumerics to `_`; a leading digit gets a `f_` prefix. */
export function toIdentifierPart(text: string): string {
  let out = text.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (out === '' || /^[0-9]/.test(out)) out = `f_${out}`;
  return out;
}

/** `account` qualifier used when several accounts of the same CRM kind exist. */
export interface SchemaNames {
  schema: string;
  table: string;
}

/**
 * `crm:sfdcContact` / `crm_sfdc_contact`; with a qualifier (a second account of the same kind) `crm:sfdc_eu_Contact` /
 * `crm_sfdc_eu_contact`. The object keeps its API spelling in the schema name, first letter upper-cased.
 */
export function schemaNames(kind: CrmKind, crmObject: string, account?: string): SchemaNames {
  const prefix = CRM_PREFIX[kind];
  const objectPart = crmObject.charAt(0).toUpperCase() + crmObject.slice(1);
  const qualifier = account ? `_${toIdentifierPart(account)}_` : '';
  const table = `crm_${prefix}${account ? `_${toIdentifierPart(account)}` : ''}_${toIdentifierPart(crmObject)}`;
  if (table.length > MAX_IDENTIFIER) {
    throw new LiaisonError(
      'invalid_input',
      `the table name for ${crmObject} would be longer than ${MAX_IDENTIFIER} characters (${table}); use a shorter account name`,
    );
  }
  return { schema: `crm:${prefix}${qualifier}${objectPart}`, table: assertIdentifier(table, 'table name') };
}

/** Default name of the local enumeration for a picklist: `contact_leadsource`. */
export function defaultEnumerationName(crmObject: string, field: string): string {
  return `${toIdentifierPart(crmObject)}_${toIdentifierPart(field)}`;
}

/** Allocates unique, safe column names for one table (reserved names get a numeric suffix). */
export class ColumnNamer {
  private readonly used = new Set<string>();

  constructor(reserved: string[] = []) {
    for (const name of reserved) this.used.add(name);
  }

  take(base: string): string {
    let name = toIdentifierPart(base).slice(0, MAX_IDENTIFIER);
    for (let i = 2; this.used.has(name); i++) {
      const suffix = `_${i}`;
      name = toIdentifierPart(base).slice(0, MAX_IDENTIFIER - suffix.length) + suffix;
    }
    this.used.add(name);
    return assertIdentifier(name, 'column name');
  }

  reserve(name: string): void {
    this.used.add(name);
  }
}
