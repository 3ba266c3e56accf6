import type { Generated } from 'kysely';
import type { CrmKind } from '../crm/driver.js';
import type { FieldType } from '../crm/metadata.js';

/**
 * One column of a generated local table.
 *
 * @example { column: 'email', crmField: 'Email', type: 'email', sqlType: 'varchar(80)', length: 80, nullable: true }
 */
export interface LocalColumn {
  /** Column name in the local table (lower-case, a checked SQL identifier). */
  column: string;
  /** CRM field API name as the CRM spells it (`Email`, `emailaddress1`). */
  crmField: string;
  label?: string;
  /** The neutral field type (src/crm/metadata.ts). */
  type: FieldType;
  /** The CRM's own type name, for display (`currency`, `Customer`). */
  crmType?: string;
  /** Portable SQL type: varchar(n) | text | boolean | integer | bigint | numeric(p,s) | numeric | double precision | date | time | timestamp with time zone. */
  sqlType: string;
  length?: number;
  precision?: number;
  scale?: number;
  /** Whether the CRM field accepts empty values (the local column is always nullable: imports may be partial). */
  nullable: boolean;
  /** Name of the local enumeration holding this picklist's values. */
  enumeration?: string;
  /** For references whose target object also has a schema of the same account. */
  link?: { schema: string; table: string };
  /** For multi-target lookups (Dynamics customer/owner, Salesforce polymorphic): the column holding the target object name. */
  targetColumn?: string;
  /** Target objects of a reference. */
  referenceTo?: string[];
  /**
   * Multi-select picklists: the column holds a JSON array of values as text (`["Cycling","Hiking"]`), queryable in
   * SQLite with `exists (select 1 from json_each(col) where value = ?)` and in PostgreSQL with `col::jsonb ? $1`.
   */
  multiSelect?: boolean;
  /** The field no longer exists in the CRM; the column is kept with its data until `liaison schema drop-orphans`. */
  orphan?: boolean;
  /** For components of a compound field (Salesforce `MailingStreet` → `MailingAddress`). */
  compound?: string;
}

/**
 * A generated schema: the local table that mirrors one CRM object of one external account, as recorded in the
 * schema registry. The connector activity reads it to map CRM records to rows.
 *
 * @example { name: 'crm:sfdcContact', account: 'sf', crm: 'salesforce', crmObject: 'Contact', table: 'crm_sfdc_contact',
 *            idColumn: 'id', crmIdColumn: 'crm_id', cursorColumn: 'systemmodstamp', columns: [...] }
 */
export interface LocalSchema {
  name: string;
  account: string;
  crm: CrmKind;
  /** CRM object API name as the CRM spells it. */
  crmObject: string;
  /** The object's collection name when the CRM names it apart (Dataverse entity set `contacts`); absent before. */
  crmCollection?: string;
  table: string;
  /** Local primary key (auto-increment integer). */
  idColumn: string;
  /** Column holding the CRM record id (unique). */
  crmIdColumn: string;
  /** Column holding the CRM's last-modified stamp: the incremental cursor. */
  cursorColumn: string;
  /** Data columns (the local primary key is not listed; the CRM id column is, with the CRM id field). */
  columns: LocalColumn[];
  /** CRM fields that exist but could not be mapped, reported by name. */
  skipped: SkippedField[];
  /** The fields chosen with `--fields` (API names); absent when every readable field was chosen. */
  selectedFields?: string[];
  createdAt: string;
  updatedAt: string;
}

export interface SkippedField {
  field: string;
  crmType: string;
  reason: string;
}

/** Registry tables added by migration 002 (not part of LiaisonDatabase: used through `db.withTables`). */
export interface SchemaRegistryTable {
  name: string;
  account: string;
  crm: string;
  crm_object: string;
  table_name: string;
  definition_json: string;
  created_at: string;
  updated_at: string;
}

export interface EnumerationTable {
  name: string;
  /** 1 for enumerations of multi-select picklists. */
  multi: number;
  /** `text` (the value is the text, Salesforce) or `code` (an integer option code with a label, Dataverse). */
  value_type: string;
  /** Who created it: `account:Object.Field` or `local`. */
  source: string;
  /** Controlling field of a dependent picklist. */
  controller: string | null;
  created_at: string;
  updated_at: string;
}

export interface EnumerationValueTable {
  id: Generated<number>;
  enumeration: string;
  value: string;
  label: string;
  /** 0 when the CRM value is inactive. */
  enabled: number;
  /** `crm` (came from a CRM) or `local`. */
  source: string;
  /** JSON array of controlling values (dependent picklists), or null. */
  valid_for: string | null;
  position: number;
}

// A type alias (not an interface) so it satisfies Kysely's `withTables` constraint.
export type WizardTables = {
  liaison_schema: SchemaRegistryTable;
  liaison_enumeration: EnumerationTable;
  liaison_enumeration_value: EnumerationValueTable;
};
