import type { LocalColumn, LocalSchema, SkippedField } from './schema-types.js';

/**
 * Drift = diff(stored schema, fresh mapping of the CRM's metadata). The plan lists every change; refusals (a change
 * that would lose data) make the whole plan inapplicable, so a refused run changes nothing.
 */

export type SchemaChange =
  | { kind: 'create-table' }
  | { kind: 'add-column'; column: LocalColumn }
  /** Storage widens (longer varchar, more digits, integer → bigint…): ALTER on PostgreSQL, registry only on SQLite. */
  | { kind: 'widen-column'; column: LocalColumn; from: LocalColumn }
  /** Same storage, other metadata (label, neutral type, nullability, enumeration, link, targets). */
  | { kind: 'update-column'; column: LocalColumn; from: LocalColumn }
  /** The CRM field is gone: the column and its data stay until `liaison schema drop-orphans`. */
  | { kind: 'orphan-column'; column: LocalColumn }
  | { kind: 'restore-column'; column: LocalColumn; from: LocalColumn }
  | { kind: 'refuse'; column: LocalColumn; from: LocalColumn; reason: string };

export interface SchemaPlan {
  /** The schema as it will be recorded once applied. */
  schema: LocalSchema;
  existing?: LocalSchema;
  changes: SchemaChange[];
  skipped: SkippedField[];
}

interface ParsedType {
  base: string;
  length?: number;
  precision?: number;
  scale?: number;
}

function parseSqlType(sqlType: string): ParsedType {
  const varchar = /^varchar\((\d+)\)$/.exec(sqlType);
  if (varchar) return { base: 'varchar', length: Number(varchar[1]) };
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(sqlType);
  if (numeric) return { base: 'numeric', precision: Number(numeric[1]), scale: Number(numeric[2]) };
  return { base: sqlType };
}

const INTEGER_DIGITS: Record<string, number> = { integer: 10, bigint: 19 };

/** 'same' storage, 'widen', or the reason the change is refused. */
export function compareStorage(from: LocalColumn, to: LocalColumn): 'same' | 'widen' | { refuse: string } {
  if (!!from.multiSelect !== !!to.multiSelect) {
    return {
      refuse: `${to.crmField} changed between multi-select and single-value (${from.crmType ?? from.type} → ${to.crmType ?? to.type}); its stored values have another form`,
    };
  }
  if (from.sqlType === to.sqlType) return 'same';
  const a = parseSqlType(from.sqlType);
  const b = parseSqlType(to.sqlType);
  const narrowing = (what: string) => ({
    refuse: `${to.crmField}: ${what} (${from.sqlType} → ${to.sqlType}) could lose stored values; widen it back in the CRM or create a new field`,
  });
  if (a.base === 'varchar' && b.base === 'varchar')
    return b.length! > a.length! ? 'widen' : narrowing('shorter length');
  if (a.base === 'varchar' && b.base === 'text') return 'widen';
  if (a.base === 'text' && b.base === 'varchar') return narrowing('a length limit on long text');
  if (a.base === 'numeric' && b.base === 'numeric') {
    if (a.precision === undefined || b.precision === undefined)
      return b.precision === undefined ? 'widen' : narrowing('a precision limit');
    const intA = a.precision - a.scale!;
    const intB = b.precision - b.scale!;
    return b.scale! >= a.scale! && intB >= intA ? 'widen' : narrowing('lower precision or scale');
  }
  const digits = INTEGER_DIGITS[a.base];
  if (digits !== undefined) {
    if (b.base === 'bigint') return 'widen';
    if (b.base === 'numeric')
      return b.precision === undefined || b.precision - b.scale! >= digits
        ? 'widen'
        : narrowing('fewer integer digits');
    if (b.base === 'double precision' && a.base === 'integer') return 'widen';
    if (b.base === 'integer') return narrowing('a smaller integer type');
  }
  if (a.base === 'date' && b.base === 'timestamp with time zone') return 'widen';
  return {
    refuse: `${to.crmField} changed type (${from.crmType ?? from.type} ${from.sqlType} → ${to.crmType ?? to.type} ${to.sqlType}), which Liaison cannot convert without losing data; map it to a new field in the CRM`,
  };
}

function sameMetadata(a: LocalColumn, b: LocalColumn): boolean {
  const strip = ({ orphan: _o, ...rest }: LocalColumn) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/** Plans the move from `existing` (undefined on a first run) to `fresh`, the schema mapped from today's metadata. */
export function planSchema(existing: LocalSchema | undefined, fresh: LocalSchema): SchemaPlan {
  if (!existing) return { schema: fresh, changes: [{ kind: 'create-table' }], skipped: fresh.skipped };
  const changes: SchemaChange[] = [];
  const freshByField = new Map(fresh.columns.map((c) => [c.crmField.toLowerCase(), c]));
  const columns: LocalColumn[] = [];
  for (const old of existing.columns) {
    const next = freshByField.get(old.crmField.toLowerCase());
    freshByField.delete(old.crmField.toLowerCase());
    if (!next) {
      if (!old.orphan) changes.push({ kind: 'orphan-column', column: { ...old, orphan: true } });
      columns.push({ ...old, orphan: true });
      continue;
    }
    const merged: LocalColumn = { ...next, column: old.column };
    // A reference that became multi-target gains a target column; one that stopped keeps it (data is never dropped).
    if (old.targetColumn && !merged.targetColumn) merged.targetColumn = old.targetColumn;
    const storage = compareStorage(old, merged);
    if (typeof storage === 'object') {
      changes.push({ kind: 'refuse', column: merged, from: old, reason: storage.refuse });
      columns.push(old);
      continue;
    }
    if (old.orphan) changes.push({ kind: 'restore-column', column: merged, from: old });
    else if (storage === 'widen') changes.push({ kind: 'widen-column', column: merged, from: old });
    else if (!sameMetadata(old, merged)) changes.push({ kind: 'update-column', column: merged, from: old });
    columns.push(merged);
  }
  for (const added of freshByField.values()) {
    changes.push({ kind: 'add-column', column: added });
    columns.push(added);
  }
  const schema: LocalSchema = {
    ...fresh,
    name: existing.name,
    table: existing.table,
    createdAt: existing.createdAt,
    columns,
  };
  if (existing.selectedFields && !fresh.selectedFields) schema.selectedFields = existing.selectedFields;
  return { schema, existing, changes, skipped: fresh.skipped };
}

/** True when the plan changes nothing in the store. */
export function isEmptyPlan(plan: SchemaPlan): boolean {
  return plan.changes.length === 0;
}

export function refusals(plan: SchemaPlan): Extract<SchemaChange, { kind: 'refuse' }>[] {
  return plan.changes.filter((c): c is Extract<SchemaChange, { kind: 'refuse' }> => c.kind === 'refuse');
}

/** One line per change, for people. */
export function describeChange(change: SchemaChange): string {
  switch (change.kind) {
    case 'create-table':
      return 'create the table';
    case 'add-column':
      return `add column ${change.column.column} (${change.column.crmField}, ${change.column.sqlType})`;
    case 'widen-column':
      return `widen column ${change.column.column}: ${change.from.sqlType} → ${change.column.sqlType}`;
    case 'update-column':
      return `update column ${change.column.column} (${change.column.crmField}): metadata only`;
    case 'orphan-column':
      return `keep column ${change.column.column} as an orphan: ${change.column.crmField} is gone from the CRM (drop it with: liaison schema drop-orphans)`;
    case 'restore-column':
      return `restore column ${change.column.column}: ${change.column.crmField} is back in the CRM`;
    case 'refuse':
      return `REFUSED column ${change.column.column}: ${change.reason}`;
  }
}
