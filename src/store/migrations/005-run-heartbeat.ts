import type { Kysely, Migration } from 'kysely';

/**
 * `workflow_run.heartbeat_at`: a running run's process writes the time every few seconds, so a run left "running"
 * by a process that died (kill -9, a crash, a lost machine) can be told from one still at work.
 */
export function runHeartbeat(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('workflow_run').addColumn('heartbeat_at', 'varchar(40)').execute();
    },
  };
}
