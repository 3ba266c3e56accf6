import type { CrmDriver, CrmRecord, QueryRequest } from '../crm/driver.js';
import { convertValue, type Conversion, type ConversionContext, type ImportValue } from './conversions.js';

/** One imported field: where it comes from in the CRM, where it goes locally, and how it is converted. */
export interface ImportField {
  crmField: string;
  column: string;
  /** Neutral type of the CRM field (from the object's metadata). */
  fieldType: string;
  conversion: Conversion;
  enumMap?: ReadonlyMap<string, string>;
}

export type ImportRow = Record<string, ImportValue>;

export interface ImportProgress {
  records: number;
  total?: number;
  pages: number;
}

export interface ImportStreamResult {
  records: number;
  pages: number;
  /** Highest cursor value seen (ISO UTC), the next incremental read starts there (inclusive). */
  maxCursor?: string;
}

/**
 * The data path of an import, kept short: driver pages → conversions → `sink` (one call per page, which the caller
 * makes transactional). Nothing is accumulated, so memory stays flat whatever the number of records.
 */
export async function streamImport(options: {
  driver: CrmDriver;
  request: QueryRequest;
  fields: ImportField[];
  /** Column receiving the CRM id, and the cursor field + column (modstamp). */
  idColumn: string;
  cursor?: { crmField: string; column: string };
  sink: (rows: ImportRow[], progress: ImportProgress) => Promise<void>;
}): Promise<ImportStreamResult> {
  const { driver, request, fields, idColumn, cursor, sink } = options;
  const contexts = new Map<string, ConversionContext>(
    fields.map((field) => [field.column, { fieldType: field.fieldType, ...(field.enumMap ? { enumMap: field.enumMap } : {}) }]),
  );
  let records = 0;
  let pages = 0;
  let total: number | undefined;
  let maxCursor: string | undefined;
  for await (const page of driver.query(request)) {
    if (page.totalSize !== undefined && total === undefined) total = page.totalSize;
    const rows = page.records.map((record) => toRow(record, fields, contexts, idColumn, cursor));
    if (cursor) {
      for (const row of rows) {
        const value = row[cursor.column];
        if (typeof value === 'string' && (maxCursor === undefined || value > maxCursor)) maxCursor = value;
      }
    }
    records += rows.length;
    pages += 1;
    await sink(rows, { records, pages, ...(total !== undefined ? { total } : {}) });
  }
  return { records, pages, ...(maxCursor !== undefined ? { maxCursor } : {}) };
}

function toRow(
  record: CrmRecord,
  fields: ImportField[],
  contexts: Map<string, ConversionContext>,
  idColumn: string,
  cursor: { crmField: string; column: string } | undefined,
): ImportRow {
  const row: ImportRow = { [idColumn]: record.id };
  for (const field of fields) {
    row[field.column] = convertValue(record.values[field.crmField], field.conversion, contexts.get(field.column)!);
  }
  if (cursor && row[cursor.column] === undefined) {
    row[cursor.column] = convertValue(record.values[cursor.crmField], 'default', { fieldType: 'datetime' });
  }
  return row;
}
