import { stableGuid } from './dynamics-ids.js';
import type {
  AttributeDef,
  AttributeType,
  EntityDef,
  OptionDef,
  OptionSetDef,
  RequiredLevel,
} from './dynamics-schema-types.js';

/** Compact builders so the table definitions read like a data dictionary rather than JSON. */
type Extra = Partial<Omit<AttributeDef, 'logicalName' | 'type'>>;

function titleCase(name: string): string {
  return name
    .replace(/^lia_/, '')
    .replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => ' ' + c.toUpperCase())
    .trim();
}

export function attr(entity: string, logicalName: string, type: AttributeType, extra: Extra = {}): AttributeDef {
  const isCustom = logicalName.startsWith('lia_');
  const readOnly = extra.computed === true;
  return {
    logicalName,
    schemaName: extra.schemaName ?? logicalName,
    type,
    displayName: extra.displayName ?? titleCase(logicalName),
    required: extra.required ?? 'None',
    validForCreate: extra.validForCreate ?? !readOnly,
    validForUpdate: extra.validForUpdate ?? !readOnly,
    validForRead: extra.validForRead ?? true,
    isCustom,
    metadataId: stableGuid('attribute', entity, logicalName),
    ...extra,
  };
}

export const required = (level: RequiredLevel = 'ApplicationRequired'): Extra => ({ required: level });

export function options(name: string, isGlobal: boolean, values: Array<[number, string] | OptionDef>): OptionSetDef {
  return {
    name,
    isGlobal,
    metadataId: stableGuid('optionset', name),
    options: values.map((v) => (Array.isArray(v) ? { value: v[0], label: v[1] } : v)),
  };
}

/** statecode/statuscode pair; `states` are [value, label, defaultStatus], `statuses` [value, label, state]. */
export function stateStatus(
  entity: string,
  states: Array<[number, string, number]>,
  statuses: Array<[number, string, number]>,
): AttributeDef[] {
  return [
    attr(entity, 'statecode', 'State', {
      displayName: 'Status',
      required: 'SystemRequired',
      validForCreate: false,
      optionSet: options(
        `${entity}_statecode`,
        false,
        states.map(([value, label, defaultStatus]) => ({ value, label, defaultStatus, invariantName: label })),
      ),
    }),
    attr(entity, 'statuscode', 'Status', {
      displayName: 'Status Reason',
      optionSet: options(
        `${entity}_statuscode`,
        false,
        statuses.map(([value, label, state]) => ({ value, label, state })),
      ),
    }),
  ];
}

export const ACTIVE_INACTIVE: [Array<[number, string, number]>, Array<[number, string, number]>] = [
  [
    [0, 'Active', 1],
    [1, 'Inactive', 2],
  ],
  [
    [1, 'Active', 0],
    [2, 'Inactive', 1],
  ],
];

/** Columns every table has: its key, audit stamps and row version. */
export function systemColumns(
  entity: string,
  primaryId: string,
  ownership: EntityDef['ownershipType'],
  hasMoney: boolean,
): AttributeDef[] {
  const ro = { validForCreate: false, validForUpdate: false };
  const cols: AttributeDef[] = [
    attr(entity, primaryId, 'Uniqueidentifier', {
      isPrimaryId: true,
      required: 'SystemRequired',
      validForUpdate: false,
      displayName: titleCase(entity),
    }),
    attr(entity, 'createdon', 'DateTime', {
      ...ro,
      dateBehavior: 'UserLocal',
      format: 'DateAndTime',
      displayName: 'Created On',
    }),
    attr(entity, 'modifiedon', 'DateTime', {
      ...ro,
      dateBehavior: 'UserLocal',
      format: 'DateAndTime',
      displayName: 'Modified On',
    }),
    attr(entity, 'overriddencreatedon', 'DateTime', {
      validForUpdate: false,
      dateBehavior: 'DateOnly',
      format: 'DateOnly',
      displayName: 'Record Created On',
    }),
    attr(entity, 'versionnumber', 'BigInt', { ...ro, displayName: 'Version Number' }),
    attr(entity, 'createdby', 'Lookup', { ...ro, targets: ['systemuser'], displayName: 'Created By' }),
    attr(entity, 'modifiedby', 'Lookup', { ...ro, targets: ['systemuser'], displayName: 'Modified By' }),
  ];
  if (ownership === 'UserOwned') {
    cols.push(
      attr(entity, 'ownerid', 'Owner', {
        required: 'SystemRequired',
        targets: ['systemuser', 'team'],
        displayName: 'Owner',
      }),
    );
    cols.push(
      attr(entity, 'owneridtype', 'EntityName', {
        required: 'SystemRequired',
        validForCreate: false,
        validForUpdate: false,
        notOnWire: true,
      }),
    );
  }
  if (hasMoney) {
    cols.push(
      attr(entity, 'transactioncurrencyid', 'Lookup', { targets: ['transactioncurrency'], displayName: 'Currency' }),
    );
    cols.push(
      attr(entity, 'exchangerate', 'Decimal', {
        precision: 10,
        minValue: 0.0000000001,
        maxValue: 100000000000,
        validForCreate: false,
        validForUpdate: false,
      }),
    );
  }
  return cols;
}

export function entity(
  def: Omit<EntityDef, 'metadataId' | 'schemaName' | 'keys'> & { keys?: Array<[string, string[]]> },
): EntityDef {
  return {
    ...def,
    schemaName: def.isCustomEntity
      ? def.logicalName
      : def.logicalName.charAt(0).toUpperCase() + def.logicalName.slice(1),
    metadataId: stableGuid('entity', def.logicalName),
    keys: (def.keys ?? []).map(([name, attributes]) => ({
      logicalName: name,
      schemaName: name,
      attributes,
      metadataId: stableGuid('key', def.logicalName, name),
    })),
  };
}
