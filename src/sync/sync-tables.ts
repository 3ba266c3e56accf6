import type { Kysely } from 'kysely';
import type { LiaisonDatabase } from '../store/store-types.js';

/** Tables of migration 004 (used through `db.withTables`, so store-types.ts stays the foundation's). */
export interface WatermarkPendingTable {
  workflow: string;
  activity: string;
  run_id: number;
  field: string;
  value: string | null;
  window_start: string | null;
  window_end: string | null;
  updated_at: string;
}

export type ExportState = 'in_flight' | 'ok' | 'rejected' | 'uncertain';

export interface ExportJournalTable {
  workflow: string;
  activity: string;
  run_id: number;
  ref: string;
  state: ExportState;
  crm_id: string | null;
  created: number | null;
  code: string | null;
  message: string | null;
  batch: number;
  updated_at: string;
}

export type SyncTables = {
  sync_watermark_pending: WatermarkPendingTable;
  sync_export_journal: ExportJournalTable;
};

export function syncDb(db: Kysely<LiaisonDatabase>): Kysely<LiaisonDatabase & SyncTables> {
  return db.withTables<SyncTables>();
}
