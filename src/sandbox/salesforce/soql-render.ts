import { q } from './record-store.js';
import type { SfField, SfObject } from './schema-types.js';

/**
 * Record rendering inside SQLite: a selected field tree becomes one json_object expression per row (parents
 * nested, child subqueries in place), so pages are built by SQLite's C code rather than per-record JavaScript.
 */
export const lit = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export interface Node {
  object: SfObject;
  alias: string;
  entries: (
    | { kind: 'field'; field: SfField }
    | { kind: 'rel'; name: string; node: Node }
    | { kind: 'child'; name: string; sql: string }
  )[];
}

export function nodeExpr(node: Node, apiVersion: string, root: boolean): string {
  const parts = [
    `'attributes', json_object('type', ${lit(node.object.name)}, 'url', ${lit(`/services/data/v${apiVersion}/sobjects/${node.object.name}/`)} || ${node.alias}."Id")`,
  ];
  for (const entry of node.entries) {
    if (entry.kind === 'field')
      parts.push(`${lit(entry.field.name)}, ${valueExpr(node.object, node.alias, entry.field)}`);
    else if (entry.kind === 'child') parts.push(`${lit(entry.name)}, ${entry.sql}`);
    else parts.push(`${lit(entry.name)}, ${nodeExpr(entry.node, apiVersion, false)}`);
  }
  const json = `json_object(${parts.join(', ')})`;
  return root ? json : `CASE WHEN ${node.alias}."_rid" IS NULL THEN NULL ELSE ${json} END`;
}

export function valueExpr(object: SfObject, alias: string, field: SfField): string {
  const col = (f: string) => `${alias}.${q(f)}`;
  if (field.type === 'boolean') return `json(CASE WHEN ${col(field.name)} THEN 'true' ELSE 'false' END)`;
  if (field.stored) return col(field.name);
  const parts = object.fields.filter((f) => f.compoundFieldName === field.name);
  const part = (suffix: string) => {
    const p = parts.find((f) => f.name.endsWith(suffix));
    return p ? col(p.name) : 'NULL';
  };
  const keys: [string, string][] =
    field.type === 'location'
      ? [
          ['latitude', part('Latitude__s')],
          ['longitude', part('Longitude__s')],
        ]
      : [
          ['city', part('City')],
          ['country', part('Country')],
          ['geocodeAccuracy', 'NULL'],
          ['latitude', part('Latitude')],
          ['longitude', part('Longitude')],
          ['postalCode', part('PostalCode')],
          ['state', part('State')],
          ['street', part('Street')],
        ];
  const cols = keys.map(([, e]) => e).filter((e) => e !== 'NULL');
  return `CASE WHEN coalesce(${cols.join(', ')}, NULL) IS NULL THEN NULL ELSE json_object(${keys.map(([k, e]) => `'${k}', ${e}`).join(', ')}) END`;
}
