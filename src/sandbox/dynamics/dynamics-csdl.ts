import type { ApiResponse } from './dynamics-http.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import { isLookup, wireName } from './dynamics-values.js';

/**
 * `GET /$metadata`: a CSDL (XML) document for the served tables — entity types with their properties, keys and
 * lookup navigation properties, and the entity sets — so clients that read navigation property names or types
 * from CSDL (rather than from EntityDefinitions) work. `?annotations=true` adds the change-tracking annotation.
 */

const EDM: Partial<Record<AttributeDef['type'], string>> = {
  Uniqueidentifier: 'Edm.Guid',
  Integer: 'Edm.Int32',
  BigInt: 'Edm.Int64',
  Decimal: 'Edm.Decimal',
  Money: 'Edm.Decimal',
  Double: 'Edm.Double',
  Boolean: 'Edm.Boolean',
  Picklist: 'Edm.Int32',
  State: 'Edm.Int32',
  Status: 'Edm.Int32',
  Lookup: 'Edm.Guid',
  Customer: 'Edm.Guid',
  Owner: 'Edm.Guid',
};

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function edmType(a: AttributeDef): string {
  if (a.type === 'DateTime') return a.dateBehavior === 'DateOnly' ? 'Edm.Date' : 'Edm.DateTimeOffset';
  return EDM[a.type] ?? 'Edm.String';
}

function entityType(e: EntityDef, annotations: boolean): string {
  const lines = [
    `<EntityType Name="${xml(e.logicalName)}" BaseType="mscrm.crmbaseentity">`,
    `<Key><PropertyRef Name="${xml(e.primaryIdAttribute)}"/></Key>`,
  ];
  for (const a of e.attributes) {
    if (a.notOnWire) continue;
    lines.push(`<Property Name="${xml(wireName(a))}" Type="${edmType(a)}"/>`);
  }
  for (const a of e.attributes.filter(isLookup)) {
    const targets = a.targets ?? [];
    for (const t of targets) {
      const name = targets.length > 1 ? `${a.logicalName}_${t}` : a.schemaName;
      lines.push(`<NavigationProperty Name="${xml(name)}" Type="mscrm.${xml(t)}"/>`);
    }
  }
  if (annotations && e.changeTrackingEnabled) {
    lines.push(
      '<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record><PropertyValue Property="Supported" Bool="true"/></Record></Annotation>',
    );
  }
  lines.push('</EntityType>');
  return lines.join('');
}

export function csdlDocument(schema: EntityDef[], annotations: boolean): ApiResponse {
  const body = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>',
    '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    '<EntityType Name="crmbaseentity" Abstract="true"/>',
    ...schema.map((e) => entityType(e, annotations)),
    '<EntityContainer Name="System">',
    ...schema.map(
      (e) => `<EntitySet Name="${xml(e.entitySetName)}" EntityType="Microsoft.Dynamics.CRM.${xml(e.logicalName)}"/>`,
    ),
    '<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI"/>',
    '</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>',
  ].join('\n');
  return { status: 200, headers: { 'Content-Type': 'application/xml', 'OData-Version': '4.0' }, body };
}
