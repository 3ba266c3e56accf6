export type EnumValueType = 'text' | 'code';

/** A value of a local enumeration. */
export interface EnumValue {
  value: string;
  label: string;
  /** False for values the CRM marks inactive (kept so stored rows still resolve). */
  enabled: boolean;
  /** Where the value came from: a CRM picklist or a local addition. */
  source: 'crm' | 'local';
  /** Dependent picklists: the controlling field's values this value is valid for. */
  validFor?: string[];
}

/**
 * A local enumeration: the values a picklist column may hold.
 *
 * @example { name: 'contact_leadsource', multi: false, source: 'sf:Contact.LeadSource', values: [{ value: 'Web', label: 'Web', enabled: true, source: 'crm' }] }
 */
export interface Enumeration {
  name: string;
  /** True for enumerations of multi-select picklists (a column holds several values). */
  multi: boolean;
  /** `text`: the value is the text itself (Salesforce); `code`: an integer option code with a label (Dataverse option sets). */
  valueType: EnumValueType;
  /** Who created it: `account:Object.Field`, or `local`. */
  source: string;
  /** Controlling field of a dependent picklist. */
  controller?: string;
  values: EnumValue[];
  createdAt: string;
  updatedAt: string;
}
