import { type ApiRequest, type ApiResponse, DataverseError, jsonResponse, odataError } from './dynamics-http.js';
import { evaluateFilter } from './dynamics-odata-eval.js';
import { ODataSyntaxError, parseFilter, splitTopLevel } from './dynamics-odata-parser.js';
import {
  attributeJson,
  BASE_ATTRIBUTE_PROPERTIES,
  entityJson,
  METADATA_TYPES,
  optionSetJson,
  label,
} from './dynamics-metadata-render.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import type { DynamicsStore } from './dynamics-store.js';

/**
 * Metadata routes: EntityDefinitions (list, by LogicalName or MetadataId), their Attributes (with type casts and
 * `$expand=OptionSet,GlobalOptionSet`), Keys, and GlobalOptionSetDefinitions. Metadata has no paging.
 */

interface MetaOptions {
  select?: string[];
  filter?: string;
  expand: Map<string, MetaOptions>;
}

function parseOptions(get: (name: string) => string | null): MetaOptions {
  const expand = new Map<string, MetaOptions>();
  for (const item of splitTopLevel(get('$expand') ?? '')) {
    const m = /^([A-Za-z]+)(?:\((.*)\))?$/.exec(item);
    if (!m?.[1]) throw odataError(`Syntax error in $expand: '${item}'.`);
    const nested = new Map<string, string>();
    for (const part of splitTopLevel(m[2] ?? '', ';')) {
      const eq = part.indexOf('=');
      if (eq > 0) nested.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    expand.set(
      m[1],
      parseOptions((n) => nested.get(n) ?? null),
    );
  }
  const select = get('$select');
  const filter = get('$filter');
  return { ...(select ? { select: splitTopLevel(select) } : {}), ...(filter ? { filter } : {}), expand };
}

function applyFilter(
  items: Array<Record<string, unknown>>,
  filter: string | undefined,
  typeName: string,
): Array<Record<string, unknown>> {
  if (!filter) return items;
  let node;
  try {
    node = parseFilter(filter);
  } catch (error) {
    if (error instanceof ODataSyntaxError) throw odataError(error.message);
    throw error;
  }
  return items.filter((item) => evaluateFilter(node, item, typeName));
}

function project(
  item: Record<string, unknown>,
  select: string[] | undefined,
  allowed: Set<string> | undefined,
  typeName: string,
  keep: string[],
): Record<string, unknown> {
  if (!select) return item;
  const out: Record<string, unknown> = {};
  if (item['@odata.type'] !== undefined) out['@odata.type'] = item['@odata.type'];
  for (const name of select) {
    // A property of the type that this row does not carry (e.g. Targets on a string column) is null, not an error.
    if (!(name in item) && !(allowed?.has(name) ?? false))
      throw odataError(`Could not find a property named '${name}' on type '${typeName}'.`);
    out[name] = item[name] ?? null;
  }
  for (const k of keep) if (k in item) out[k] = item[k];
  out.MetadataId = item.MetadataId;
  return out;
}

function findEntity(store: DynamicsStore, key: string): EntityDef {
  const byName = /^LogicalName='([^']*)'$/.exec(key);
  const entity = byName ? store.entity(byName[1]!) : store.schema.find((e) => e.metadataId === key.toLowerCase());
  if (!entity) {
    const shown = byName ? byName[1] : key;
    throw new DataverseError(404, '0x80040217', `Could not find entity with name ${shown}.`);
  }
  return entity;
}

function attributesOf(entity: EntityDef, opts: MetaOptions, cast: string | undefined): Array<Record<string, unknown>> {
  const expand = new Set(opts.expand.keys());
  let list = entity.attributes.map((a, i) => ({ def: a, json: attributeJson(entity, a, i + 1, expand) }));
  if (cast) list = list.filter((x) => METADATA_TYPES[x.def.type] === cast);
  const typeName = `Microsoft.Dynamics.CRM.${cast ?? 'AttributeMetadata'}`;
  const filtered = applyFilter(
    list.map((x) => x.json),
    opts.filter,
    typeName,
  );
  // Without a cast, $select only sees AttributeMetadata's own properties (Dataverse rejects MaxLength there).
  if (opts.select && !cast) {
    for (const name of opts.select)
      if (!BASE_ATTRIBUTE_PROPERTIES.has(name))
        throw odataError(`Could not find a property named '${name}' on type '${typeName}'.`);
  }
  const allowed = cast ? undefined : BASE_ATTRIBUTE_PROPERTIES;
  return filtered.map((json) => project(json, opts.select, allowed, typeName, [...expand]));
}

function entityWithExpand(entity: EntityDef, opts: MetaOptions): Record<string, unknown> {
  const json = project(entityJson(entity), opts.select, undefined, 'Microsoft.Dynamics.CRM.EntityMetadata', []);
  const attrs = opts.expand.get('Attributes');
  if (attrs) json.Attributes = attributesOf(entity, attrs, undefined);
  if (opts.expand.has('Keys')) json.Keys = keysOf(entity);
  return json;
}

function keysOf(entity: EntityDef): Array<Record<string, unknown>> {
  return entity.keys.map((k) => ({
    MetadataId: k.metadataId,
    LogicalName: k.logicalName,
    SchemaName: k.schemaName,
    EntityLogicalName: entity.logicalName,
    KeyAttributes: k.attributes,
    EntityKeyIndexStatus: 'Active',
    DisplayName: label(k.schemaName),
    IsManaged: false,
  }));
}

function castName(segment: string | undefined): string | undefined {
  if (!segment) return undefined;
  const m = /^Microsoft\.Dynamics\.CRM\.(\w+AttributeMetadata)$/.exec(segment);
  if (!m) return undefined;
  if (!Object.values(METADATA_TYPES).includes(m[1]!))
    throw odataError(`The type 'Microsoft.Dynamics.CRM.${m[1]}' cannot be used as a cast here.`);
  return m[1];
}

function findAttribute(entity: EntityDef, key: string): AttributeDef {
  const byName = /^LogicalName='([^']*)'$/.exec(key);
  const a = byName
    ? entity.attributes.find((x) => x.logicalName === byName[1])
    : entity.attributes.find((x) => x.metadataId === key.toLowerCase());
  if (!a)
    throw new DataverseError(
      404,
      '0x80040217',
      `Could not find attribute ${byName?.[1] ?? key} for entity ${entity.logicalName}.`,
    );
  return a;
}

/** Handles `EntityDefinitions...` paths; `segments` are the decoded path segments after the API base. */
export function handleEntityDefinitions(
  store: DynamicsStore,
  apiBase: string,
  segments: string[],
  request: ApiRequest,
): ApiResponse {
  if (request.method !== 'GET')
    throw new DataverseError(
      405,
      '0x80060888',
      'The sandbox serves metadata read-only; change it through the admin API.',
    );
  const q = request.url.searchParams;
  const opts = parseOptions((n) => q.get(n));
  const first = segments[0]!;
  const keyMatch = /^EntityDefinitions\((.*)\)$/.exec(first);
  const context = `${apiBase}$metadata#`;
  if (!keyMatch) {
    const all = store.schema.map((e) => entityJson(e));
    const matching = new Set(
      applyFilter(all, opts.filter, 'Microsoft.Dynamics.CRM.EntityMetadata').map((j) => j.MetadataId),
    );
    const value = store.schema
      .filter((e) => matching.has(e.metadataId))
      .map((e) => entityWithExpand(e, { ...opts, filter: undefined } as MetaOptions));
    return jsonResponse(200, { '@odata.context': `${context}EntityDefinitions`, value });
  }
  const entity = findEntity(store, keyMatch[1]!);
  const entityContext = `${context}EntityDefinitions('${entity.logicalName}')`;
  if (segments.length === 1)
    return jsonResponse(200, {
      '@odata.context': `${context}EntityDefinitions/$entity`,
      ...entityWithExpand(entity, opts),
    });
  const second = segments[1]!;
  if (second === 'Keys') return jsonResponse(200, { '@odata.context': `${entityContext}/Keys`, value: keysOf(entity) });
  if (second === 'Attributes' || second.startsWith('Attributes(')) {
    const attrKey = /^Attributes\((.*)\)$/.exec(second)?.[1];
    const cast = castName(segments[2]);
    if (segments[2] && !cast) throw odataError(`Resource not found for the segment '${segments[2]}'.`, 404);
    if (attrKey === undefined) {
      const value = attributesOf(entity, opts, cast);
      return jsonResponse(200, {
        '@odata.context': `${entityContext}/Attributes${cast ? `/Microsoft.Dynamics.CRM.${cast}` : ''}`,
        value,
      });
    }
    const a = findAttribute(entity, attrKey);
    if (cast && METADATA_TYPES[a.type] !== cast)
      throw odataError(`The attribute ${a.logicalName} is not of type ${cast}.`);
    const expand = new Set(opts.expand.keys());
    if (segments[3] === 'OptionSet' || segments[3] === 'GlobalOptionSet') {
      if (!a.optionSet) throw odataError(`The attribute ${a.logicalName} has no option set.`, 404);
      return jsonResponse(200, {
        '@odata.context': `${context}EntityDefinitions('${entity.logicalName}')/Attributes(${a.metadataId})/${segments[3]}/$entity`,
        ...optionSetJson(a.optionSet, a.type),
      });
    }
    const json = project(
      attributeJson(entity, a, entity.attributes.indexOf(a) + 1, expand),
      opts.select,
      cast ? undefined : BASE_ATTRIBUTE_PROPERTIES,
      'Microsoft.Dynamics.CRM.AttributeMetadata',
      [...expand],
    );
    return jsonResponse(200, { '@odata.context': `${entityContext}/Attributes/$entity`, ...json });
  }
  throw odataError(`Resource not found for the segment '${second}'.`, 404);
}

/** GET GlobalOptionSetDefinitions(Name='x') — the global choices the schema uses. */
export function handleGlobalOptionSets(store: DynamicsStore, apiBase: string, segment: string): ApiResponse {
  const m = /^GlobalOptionSetDefinitions\(Name='([^']*)'\)$/.exec(segment);
  const sets = new Map<string, AttributeDef>();
  for (const e of store.schema) for (const a of e.attributes) if (a.optionSet?.isGlobal) sets.set(a.optionSet.name, a);
  if (!m) {
    const value = [...sets.values()].map((a) => optionSetJson(a.optionSet!, a.type));
    return jsonResponse(200, { '@odata.context': `${apiBase}$metadata#GlobalOptionSetDefinitions`, value });
  }
  const a = sets.get(m[1]!);
  if (!a?.optionSet) throw new DataverseError(404, '0x80040217', `Could not find optionset with name ${m[1]}.`);
  return jsonResponse(200, {
    '@odata.context': `${apiBase}$metadata#GlobalOptionSetDefinitions/$entity`,
    '@odata.type': '#Microsoft.Dynamics.CRM.OptionSetMetadata',
    ...optionSetJson(a.optionSet, a.type),
  });
}
