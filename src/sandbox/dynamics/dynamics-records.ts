import { odataError } from './dynamics-http.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import { type DynamicsStore, quoteIdent, type Row, type SqlValue, tableName } from './dynamics-store.js';
import { formattedValue, isLookup, toWire, wireAttributes, wireName } from './dynamics-values.js';
import { unknownProperty } from './dynamics-odata-sql.js';
import { splitTopLevel } from './dynamics-odata-parser.js';

/** Renders stored rows as Web API record JSON: etag, selected columns, lookups as `_x_value`, annotations. */

const FORMATTED = 'OData.Community.Display.V1.FormattedValue';
const LOOKUP_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';
const NAV_PROP = 'Microsoft.Dynamics.CRM.associatednavigationproperty';

/** Which annotations `Prefer: odata.include-annotations="..."` asked for. */
export class AnnotationFilter {
  private readonly patterns: string[];
  constructor(value: string | undefined) {
    this.patterns = (value ?? '')
      .split(/[,\s]+/)
      .map((p) => p.trim())
      .filter(Boolean);
  }

  get any(): boolean {
    return this.patterns.length > 0;
  }

  includes(name: string): boolean {
    if (
      this.patterns.some(
        (p) => p.startsWith('-') && (p.slice(1) === name || (p.endsWith('*') && name.startsWith(p.slice(1, -1)))),
      )
    )
      return false;
    return this.patterns.some((p) => p === '*' || p === name || (p.endsWith('*') && name.startsWith(p.slice(0, -1))));
  }
}

export interface Projection {
  entity: EntityDef;
  /** Columns to render, in output order (the primary key is appended when absent). */
  attributes: AttributeDef[];
  annotations: AnnotationFilter;
  /** The `$select` part of `@odata.context` (e.g. `contacts(fullname,emailaddress1)`). */
  contextSelect: string;
}

/** Resolves `$select` against the table's wire properties (400 on an unknown one). */
export function projection(entity: EntityDef, select: string | null, annotations: AnnotationFilter): Projection {
  const wire = wireAttributes(entity);
  if (select === null || select.trim() === '') {
    return { entity, attributes: [...wire.values()], annotations, contextSelect: entity.entitySetName };
  }
  const names = splitTopLevel(select);
  const attributes = names.map((name) => {
    const a = wire.get(name);
    if (!a) throw unknownProperty(name, entity);
    return a;
  });
  return { entity, attributes, annotations, contextSelect: `${entity.entitySetName}(${names.join(',')})` };
}

/** The columns a projection needs from SQLite: rendered columns, pk, version, lookup target types. */
export function sqlColumnNames(p: Projection): string[] {
  const names = new Set<string>(['_rid', p.entity.primaryIdAttribute, 'versionnumber']);
  for (const a of p.attributes) {
    names.add(a.logicalName);
    if (
      isLookup(a) &&
      (a.targets?.length ?? 0) > 1 &&
      p.entity.attributes.some((x) => x.logicalName === `${a.logicalName}type`)
    ) {
      names.add(`${a.logicalName}type`);
    }
  }
  return [...names];
}

export function sqlColumns(p: Projection): string {
  return sqlColumnNames(p).map(quoteIdent).join(', ');
}

export function rowFromRaw(columns: string[], raw: SqlValue[]): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = raw[i] ?? null;
  return row;
}

/**
 * A renderer for raw rows (arrays in `columns` order). Pages of 5000 rows are the hot path of a million-row
 * export, so the per-column decisions are made once per page, not once per value; annotated requests take the
 * general path.
 */
export function compileRenderer(
  store: DynamicsStore,
  p: Projection,
  columns: string[],
): (raw: SqlValue[]) => Record<string, unknown> {
  if (p.annotations.any) return (raw) => renderRecord(store, p, rowFromRaw(columns, raw));
  const index = (name: string) => columns.indexOf(name);
  const fields = p.attributes.map((a) => ({ name: wireName(a), at: index(a.logicalName), bool: a.type === 'Boolean' }));
  const pk = p.entity.primaryIdAttribute;
  const pkAt = index(pk);
  const versionAt = index('versionnumber');
  const addPk = !fields.some((f) => f.name === pk);
  return (raw) => {
    const out: Record<string, unknown> = { '@odata.etag': `W/"${String(raw[versionAt])}"` };
    for (const f of fields) {
      const v = raw[f.at] ?? null;
      out[f.name] = f.bool && v !== null ? v === 1 : typeof v === 'bigint' ? Number(v) : v;
    }
    if (addPk) out[pk] = raw[pkAt];
    return out;
  };
}

function lookupTarget(a: AttributeDef, row: Row): string | undefined {
  if ((a.targets?.length ?? 0) <= 1) return a.targets?.[0];
  const t = row[`${a.logicalName}type`];
  return typeof t === 'string' ? t : a.targets?.[0];
}

function primaryName(store: DynamicsStore, target: string, id: string): string | undefined {
  const e = store.entity(target);
  if (!e) return undefined;
  const r = store
    .prepare(
      `SELECT ${quoteIdent(e.primaryNameAttribute)} AS n FROM ${tableName(e)} WHERE ${quoteIdent(e.primaryIdAttribute)} = ?`,
    )
    .get(id) as { n: string | null } | undefined;
  return r?.n ?? undefined;
}

/** One record's JSON. */
export function renderRecord(store: DynamicsStore, p: Projection, row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = { '@odata.etag': `W/"${String(row.versionnumber)}"` };
  const ann = p.annotations;
  for (const a of p.attributes) {
    const value = row[a.logicalName] ?? null;
    const name = wireName(a);
    if (ann.any && value !== null) {
      if (isLookup(a)) {
        const target = lookupTarget(a, row);
        if (ann.includes(FORMATTED) && target) {
          const n = primaryName(store, target, String(value));
          if (n !== undefined) out[`${name}@${FORMATTED}`] = n;
        }
        if (ann.includes(NAV_PROP) && target)
          out[`${name}@${NAV_PROP}`] = (a.targets?.length ?? 0) > 1 ? `${a.logicalName}_${target}` : a.schemaName;
        if (ann.includes(LOOKUP_NAME) && target) out[`${name}@${LOOKUP_NAME}`] = target;
      } else if (ann.includes(FORMATTED)) {
        const f = formattedValue(a, value);
        if (f !== undefined) out[`${name}@${FORMATTED}`] = f;
      }
    }
    out[name] = toWire(a, value);
  }
  const pk = p.entity.primaryIdAttribute;
  if (!(pk in out)) out[pk] = row[pk];
  return out;
}

/** The error for a query option the sandbox (like Dataverse) refuses. */
export function unsupportedOption(name: string): Error {
  return odataError(`The query parameter ${name} is not supported`);
}
