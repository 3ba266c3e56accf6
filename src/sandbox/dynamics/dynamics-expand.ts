import { odataError } from './dynamics-http.js';
import { splitTopLevel } from './dynamics-odata-parser.js';
import { type AnnotationFilter, projection, type Projection, renderRecord } from './dynamics-records.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import type { DynamicsStore, Row } from './dynamics-store.js';
import { isLookup } from './dynamics-values.js';

/**
 * `$expand` of single-valued navigation properties (lookups), e.g. `$expand=parentcustomerid_account($select=name)`
 * or `$expand=primarycontactid($select=fullname)`. Collection-valued navigation properties are not served.
 */
export interface ExpandSpec {
  nav: string;
  attribute: AttributeDef;
  target: EntityDef;
  projection: Projection;
  /** For the @odata.context: `nav(col1,col2)`. */
  contextPart: string;
}

function navigation(entity: EntityDef, nav: string): { attribute: AttributeDef; target: string } | undefined {
  for (const a of entity.attributes) {
    if (!isLookup(a)) continue;
    const targets = a.targets ?? [];
    if (targets.length > 1) {
      for (const t of targets) if (nav === `${a.logicalName}_${t}`) return { attribute: a, target: t };
    } else if (targets[0] && nav === a.schemaName) return { attribute: a, target: targets[0] };
  }
  return undefined;
}

export function parseExpand(
  store: DynamicsStore,
  entity: EntityDef,
  text: string | null,
  annotations: AnnotationFilter,
): ExpandSpec[] {
  if (text === null || text.trim() === '') return [];
  return splitTopLevel(text).map((item) => {
    const m = /^([A-Za-z_]\w*)(?:\((.*)\))?$/.exec(item.trim());
    if (!m?.[1]) throw odataError(`Syntax error in $expand at '${item}'.`);
    const found = navigation(entity, m[1]);
    const target = found ? store.entity(found.target) : undefined;
    if (!found || !target) {
      throw odataError(
        `Could not find a property named '${m[1]}' on type 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`,
      );
    }
    let select: string | null = null;
    for (const option of splitTopLevel(m[2] ?? '', ';')) {
      const eq = option.indexOf('=');
      const name = option.slice(0, eq).trim();
      if (name === '$select') select = option.slice(eq + 1).trim();
      else throw odataError(`The query option '${name}' is not supported inside $expand by the sandbox.`);
    }
    const p = projection(target, select, annotations);
    return { nav: m[1], attribute: found.attribute, target, projection: p, contextPart: `${m[1]}(${select ?? ''})` };
  });
}

/** Adds each expanded related record (or null) to a rendered record. */
export function applyExpand(store: DynamicsStore, specs: ExpandSpec[], row: Row, out: Record<string, unknown>): void {
  for (const spec of specs) {
    const id = row[spec.attribute.logicalName];
    const typeColumn = `${spec.attribute.logicalName}type`;
    const typeMatches = !(typeColumn in row) || row[typeColumn] === null || row[typeColumn] === spec.target.logicalName;
    const related = typeof id === 'string' && typeMatches ? store.getById(spec.target, id) : undefined;
    out[spec.nav] = related ? renderRecord(store, spec.projection, related) : null;
  }
}

/** Columns the parent query must read for the expansions (the lookup and, for polymorphic ones, its type). */
export function expandColumns(entity: EntityDef, specs: ExpandSpec[]): string[] {
  const names = new Set(entity.attributes.map((a) => a.logicalName));
  return specs.flatMap((s) => [
    s.attribute.logicalName,
    ...(names.has(`${s.attribute.logicalName}type`) ? [`${s.attribute.logicalName}type`] : []),
  ]);
}

/** The `@odata.context` select part with expansions: `contacts(fullname,parentcustomerid_account(name))`. */
export function contextWithExpand(p: Projection, specs: ExpandSpec[]): string {
  if (specs.length === 0) return p.contextSelect;
  const inner = /\((.*)\)$/.exec(p.contextSelect)?.[1];
  const parts = [...(inner ? [inner] : []), ...specs.map((s) => s.contextPart)];
  return `${p.entity.entitySetName}(${parts.join(',')})`;
}
