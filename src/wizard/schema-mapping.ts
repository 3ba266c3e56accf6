import { LiaisonError } from '../core/errors.js';
import type { FieldMetadata, ObjectMetadata } from '../crm/metadata.js';
import { ColumnNamer } from './schema-naming.js';
import type { LocalColumn, LocalSchema, SkippedField } from './schema-types.js';

/**
 * CRM field metadata → local columns. Pure: the same metadata always gives the same columns, which is what makes
 * drift a plain diff between the stored schema and a fresh mapping.
 */

export const ID_COLUMN = 'id';
export const CRM_ID_COLUMN = 'crm_id';
// PostgreSQL's varchar limit; longer declared lengths become text.
const MAX_VARCHAR = 10_485_760;
const MAX_NUMERIC_PRECISION = 1000;

export interface ColumnType {
  sqlType: string;
  length?: number;
  precision?: number;
  scale?: number;
}

/** The portable SQL type of a field, or undefined when Liaison has no faithful mapping. */
export function sqlTypeFor(field: FieldMetadata): ColumnType | undefined {
  const varchar = (fallback?: number): ColumnType => {
    const length = field.length && field.length > 0 ? field.length : fallback;
    if (length === undefined) return { sqlType: 'text' };
    return length <= MAX_VARCHAR ? { sqlType: `varchar(${length})`, length } : { sqlType: 'text', length };
  };
  const numeric = (): ColumnType | undefined => {
    const { precision, scale } = field;
    if (precision === undefined || precision <= 0 || precision > MAX_NUMERIC_PRECISION) return undefined;
    const s = scale !== undefined && scale >= 0 && scale <= precision ? scale : 0;
    return { sqlType: `numeric(${precision},${s})`, precision, scale: s };
  };
  switch (field.type) {
    case 'id':
    case 'reference':
      return varchar(255);
    case 'string':
    case 'email':
    case 'phone':
    case 'url':
    case 'picklist':
      return varchar(255);
    case 'text':
      return field.length ? { sqlType: 'text', length: field.length } : { sqlType: 'text' };
    case 'multipicklist':
      return { sqlType: 'text' };
    case 'boolean':
      return { sqlType: 'boolean' };
    case 'integer': {
      const p = field.precision;
      if (p === undefined || p <= 9) return { sqlType: 'integer', ...(p ? { precision: p } : {}) };
      if (p <= 18) return { sqlType: 'bigint', precision: p };
      return { sqlType: `numeric(${p},0)`, precision: p, scale: 0 };
    }
    case 'bigint':
      return { sqlType: 'bigint' };
    case 'decimal':
      return numeric() ?? { sqlType: 'numeric' };
    case 'double':
      // A double with declared digits (Salesforce number(10,0)) is an exact number in the CRM's UI: keep it exact.
      return numeric() ?? { sqlType: 'double precision' };
    case 'date':
      return { sqlType: 'date' };
    case 'datetime':
      return { sqlType: 'timestamp with time zone' };
    case 'time':
      return { sqlType: 'time' };
    default:
      return undefined;
  }
}

export interface MapOptions {
  /** Narrow to these field API names (matched case-insensitively); the id and modstamp fields are always kept. */
  fields?: string[];
  /** Lower-cased CRM object name → the local schema of the same account that mirrors it. */
  links?: Map<string, { schema: string; table: string }>;
  /** Enumeration name for a picklist field. */
  enumerationFor(field: FieldMetadata): string;
  /** The schema stored by a previous run: its column names are reused so columns never get renamed. */
  existing?: LocalSchema;
}

export interface MappedColumns {
  crmIdColumn: string;
  cursorColumn: string;
  columns: LocalColumn[];
  skipped: SkippedField[];
}

function isMultiTarget(field: FieldMetadata): boolean {
  return (field.referenceTo?.length ?? 0) > 1 || field.crmType === 'Customer' || field.crmType === 'Owner';
}

export function mapObjectColumns(meta: ObjectMetadata, options: MapOptions): MappedColumns {
  const byLower = new Map(meta.fields.map((f) => [f.name.toLowerCase(), f]));
  let wanted: Set<string> | undefined;
  if (options.fields && options.fields.length > 0) {
    const unknown = options.fields.filter((name) => !byLower.has(name.toLowerCase()));
    if (unknown.length > 0) {
      throw new LiaisonError(
        'field_not_found',
        `${meta.name} has no field ${unknown.map((n) => `"${n}"`).join(', ')}; see the fields with: liaison wizard ACCOUNT --objects ${meta.name} --dry-run`,
      );
    }
    wanted = new Set(options.fields.map((n) => n.toLowerCase()));
    wanted.add(meta.idField.toLowerCase());
    wanted.add(meta.modstampField.toLowerCase());
  }
  if (!byLower.has(meta.idField.toLowerCase()) || !byLower.has(meta.modstampField.toLowerCase())) {
    throw new LiaisonError(
      'crm_error',
      `${meta.name} does not describe its id field ${meta.idField} or last-modified field ${meta.modstampField}; it cannot be mirrored`,
    );
  }

  const previous = new Map<string, LocalColumn>();
  for (const column of options.existing?.columns ?? []) previous.set(column.crmField.toLowerCase(), column);
  const namer = new ColumnNamer([ID_COLUMN, CRM_ID_COLUMN]);
  for (const column of options.existing?.columns ?? []) {
    namer.reserve(column.column);
    if (column.targetColumn) namer.reserve(column.targetColumn);
  }
  const columnFor = (field: FieldMetadata) => previous.get(field.name.toLowerCase())?.column ?? namer.take(field.name);

  const columns: LocalColumn[] = [];
  const skipped: SkippedField[] = [];
  let cursorColumn = '';
  const compoundParents = new Set(meta.fields.map((f) => f.compoundFieldName).filter((n): n is string => !!n));
  for (const field of meta.fields) {
    const isId = field.name === meta.idField;
    if (wanted && !wanted.has(field.name.toLowerCase())) continue;
    if (field.type === 'address' || field.type === 'location') {
      // Compound fields are read-only views over their components, which carry the data.
      if (!compoundParents.has(field.name))
        skipped.push({ field: field.name, crmType: field.crmType, reason: 'compound field without component fields' });
      continue;
    }
    const type = sqlTypeFor(field);
    if (!type) {
      skipped.push({
        field: field.name,
        crmType: field.crmType,
        reason: `Liaison cannot map the CRM type "${field.crmType}"`,
      });
      continue;
    }
    const column: LocalColumn = {
      column: isId ? CRM_ID_COLUMN : columnFor(field),
      crmField: field.name,
      label: field.label,
      type: field.type,
      crmType: field.crmType,
      ...type,
      nullable: isId ? false : field.nillable,
    };
    if (field.type === 'picklist' || field.type === 'multipicklist')
      column.enumeration = previous.get(field.name.toLowerCase())?.enumeration ?? options.enumerationFor(field);
    if (field.type === 'multipicklist') column.multiSelect = true;
    if (field.compoundFieldName) column.compound = field.compoundFieldName;
    if (field.type === 'reference' && !isId) {
      column.referenceTo = field.referenceTo ?? [];
      if (isMultiTarget(field)) {
        column.targetColumn =
          previous.get(field.name.toLowerCase())?.targetColumn ?? namer.take(`${column.column}_target`);
      } else {
        const link = options.links?.get((field.referenceTo?.[0] ?? '').toLowerCase());
        if (link) column.link = link;
      }
    }
    if (field.name.toLowerCase() === meta.modstampField.toLowerCase()) cursorColumn = column.column;
    columns.push(column);
  }
  return { crmIdColumn: CRM_ID_COLUMN, cursorColumn, columns, skipped };
}
