import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import type { Store } from '../../src/store/store-types.js';
import type { ActivityRegistry } from '../../src/workflow/activity.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { parseWorkflow } from '../../src/workflow/workflow-load.js';
import {
  CRM_CASES,
  connectorFixture,
  type ConnectorFixture,
  type CrmCase,
  importContactsWorkflow,
} from '../support/crm-cases.js';
import { storeTargets } from '../support/store-targets.js';

/** The connector's writing half end to end on both CRMs and both stores, and the echo-free round trip. */
const CASES = CRM_CASES;

const exportWorkflow = (c: CrmCase, options: { mode?: string; extra?: string; mapping?: string } = {}) => `
name: export-${c.kind}
activities:
  - name: changed
    type: query
    table: recipient
    filter: "modified_locally_at is not null"
    transitions: { ok: export }
  - name: export
    type: crm-connector
    account: ${c.kind}
    object: "${c.schema}"
    operation: export
    mode: ${options.mode ?? 'insert-or-update'}
    idColumn: ${c.idColumn}
    mapping: { ${options.mapping ?? `${c.fields.last}: last_name, ${c.fields.first}: first_name, ${c.fields.email}: lower(email)`} }
${options.extra ?? ''}
    writeBack: { table: recipient, key: id, crmId: ${c.idColumn}, clear: modified_locally_at }
    transitions: { ok: done, rejects: rejected }
  - name: done
    type: end
  - name: rejected
    type: end
`;

const importWorkflow = (c: CrmCase) => importContactsWorkflow(c);

for (const c of CASES) {
  for (const target of storeTargets()) {
    describe(`CRM connector export to ${c.kind} from ${target.name}`, () => {
      let sandbox: SandboxHandle;
      let store: Store;
      let registry: ActivityRegistry;
      let fixture: ConnectorFixture;
      beforeAll(async () => {
        fixture = await connectorFixture(c, target.freshUrl(), 30, 5);
        ({ sandbox, store, registry } = fixture);
      });
      afterAll(async () => {
        await fixture?.close();
        await target.cleanup();
      });

      const run = async (text: string, keepWorkingSets = false) =>
        runWorkflow(store, await parseWorkflow(text, `${c.kind}.yaml`, store), { registry, keepWorkingSets });
      const now = () => new Date().toISOString();
      const addRecipient = async (values: { email: string; first_name: string; last_name: string }) =>
        sql`insert into recipient (email, first_name, last_name, created_at, modified_at, modified_locally_at) values (${values.email}, ${values.first_name}, ${values.last_name}, ${now()}, ${now()}, ${now()})`.execute(
          store.db,
        );
      const recipient = async (email: string) =>
        (
          await sql<{
            id: number;
            crm: string | null;
            modified_locally_at: string | null;
            first_name: string;
          }>`select id, ${sql.ref(c.idColumn)} as crm, modified_locally_at, first_name from recipient where email = ${email}`.execute(
            store.db,
          )
        ).rows[0];

      it('inserts new records, writes created ids back, and sends a refused record to rejects with the CRM code', async () => {
        const before = sandbox.admin.countRecords(c.object);
        await addRecipient({ email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' });
        await addRecipient({ email: 'grace@example.com', first_name: 'Grace', last_name: 'Hopper' });
        // Longer than the CRM's FirstName / firstname column: refused by the CRM, not by Liaison.
        await addRecipient({ email: 'nameless@example.com', first_name: 'N'.repeat(150), last_name: 'Toolong' });
        const result = await run(exportWorkflow(c), true);
        expect(result.status).toBe('succeeded');
        const step = result.activities.find((a) => a.activity === 'export')!;
        expect(step.recordsOut).toBe(2);
        expect(step.rejects).toBe(1);
        expect(sandbox.admin.countRecords(c.object)).toBe(before + 2);
        const ada = await recipient('ada@example.com');
        expect(ada?.crm).toBeTruthy();
        expect(ada?.modified_locally_at).toBeNull();
        expect(sandbox.admin.getRecord(c.object, ada!.crm!)?.[c.fields.last]).toBe('Lovelace');
        const nameless = await recipient('nameless@example.com');
        expect(nameless?.crm).toBeNull();
        expect(nameless?.modified_locally_at).not.toBeNull();
        // The rejects working set (kept for inspection here) holds the CRM's own code and message.
        const rejects = await sql<{ error_code: string; error_message: string }>`select error_code, error_message
          from ${sql.table(step.outputs.rejects!.table)}`.execute(store.db);
        expect(rejects.rows).toHaveLength(1);
        expect(rejects.rows[0]!.error_code).toMatch(c.kind === 'salesforce' ? /^STRING_TOO_LONG$/ : /^0x[0-9a-f]+$/i);
        expect(rejects.rows[0]!.error_message.length).toBeGreaterThan(0);
        await sql`delete from recipient where email = 'nameless@example.com'`.execute(store.db);
      });

      it('updates by CRM id what changed locally, and nothing when nothing changed', async () => {
        await sql`update recipient set first_name = 'Augusta', modified_locally_at = ${now()} where email = 'ada@example.com'`.execute(
          store.db,
        );
        const requestsBefore = sandbox.admin.requestCount();
        const result = await run(exportWorkflow(c));
        expect(result.status).toBe('succeeded');
        expect(result.activities.find((a) => a.activity === 'export')!.recordsOut).toBe(1);
        const ada = await recipient('ada@example.com');
        expect(sandbox.admin.getRecord(c.object, ada!.crm!)?.[c.fields.first]).toBe('Augusta');
        // One write call plus the session's token and metadata look-ups: a handful, not one per record.
        expect(sandbox.admin.requestCount() - requestsBefore).toBeLessThanOrEqual(10);
        const idle = await run(exportWorkflow(c));
        expect(idle.activities.find((a) => a.activity === 'export')!.recordsIn).toBe(0);
      });

      it('upserts by an external id without creating duplicates', async () => {
        await addRecipient({ email: 'katherine@example.com', first_name: 'Katherine', last_name: 'Johnson' });
        const before = sandbox.admin.countRecords(c.object);
        const upsert = exportWorkflow(c, {
          mode: 'upsert',
          extra: `    externalIdField: ${c.fields.externalId}`,
          mapping: `${c.fields.externalId}: last_name, ${c.fields.last}: last_name, ${c.fields.first}: first_name`,
        });
        expect((await run(upsert)).status).toBe('succeeded');
        await sql`update recipient set first_name = 'Kate', modified_locally_at = ${now()} where email = 'katherine@example.com'`.execute(
          store.db,
        );
        expect((await run(upsert)).status).toBe('succeeded');
        expect(sandbox.admin.countRecords(c.object)).toBe(before + 1);
        const kate = await recipient('katherine@example.com');
        expect(sandbox.admin.getRecord(c.object, kate!.crm!)?.[c.fields.first]).toBe('Kate');
      });

      // Bulk API 2.0 is Salesforce's; the Dataverse driver has no bulk path (its batches are $batch requests).
      if (c.kind === 'salesforce')
        it('goes through the bulk API when told: a job for the updates, one for the inserts, ids written back, a refused record in rejects', async () => {
          await sql`update recipient set first_name = 'Countess', modified_locally_at = ${now()} where email = 'ada@example.com'`.execute(
            store.db,
          );
          await addRecipient({ email: 'dorothy@example.com', first_name: 'Dorothy', last_name: 'Vaughan' });
          await addRecipient({ email: 'toolong@example.com', first_name: 'T'.repeat(150), last_name: 'Toolong' });
          const before = sandbox.admin.countRecords(c.object);
          sandbox.admin.resetRequestCount();
          const result = await run(exportWorkflow(c, { extra: '    bulk: always' }), true);
          expect(result.error ?? result.status).toBe('succeeded');
          const step = result.activities.find((a) => a.activity === 'export')!;
          expect(step.recordsOut).toBe(2);
          expect(step.rejects).toBe(1);
          // Two jobs (update, insert): each created, uploaded, closed, polled and read back; no record-level calls.
          const counts = sandbox.admin.requestCounts();
          expect(counts.bulk).toBeGreaterThanOrEqual(2 * 4);
          expect(counts.collections ?? 0).toBe(0);
          expect(sandbox.admin.countRecords(c.object)).toBe(before + 1);
          const ada = await recipient('ada@example.com');
          expect(sandbox.admin.getRecord(c.object, ada!.crm!)?.[c.fields.first]).toBe('Countess');
          expect(ada?.modified_locally_at).toBeNull();
          const dorothy = await recipient('dorothy@example.com');
          expect(sandbox.admin.getRecord(c.object, dorothy!.crm!)?.[c.fields.last]).toBe('Vaughan');
          const rejects = await sql<{
            error_code: string;
          }>`select error_code from ${sql.table(step.outputs.rejects!.table)}`.execute(store.db);
          expect(rejects.rows.map((r) => r.error_code)).toEqual(['STRING_TOO_LONG']);
          await sql`delete from recipient where email = 'toolong@example.com'`.execute(store.db);
          const idle = await run(exportWorkflow(c, { extra: '    bulk: always' }));
          expect(idle.activities.find((a) => a.activity === 'export')!.recordsIn).toBe(0);
        });

      it('rejects every record mapped to a field the CRM does not have, with its code, and clamps an oversized batch with a warning', async () => {
        await addRecipient({ email: 'mary@example.com', first_name: 'Mary', last_name: 'Jackson' });
        const writes: string[] = [];
        const original = process.stderr.write.bind(process.stderr);
        process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
          writes.push(String(chunk));
          return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
        }) as typeof process.stderr.write;
        let result;
        try {
          result = await run(
            exportWorkflow(c, {
              mapping: `${c.fields.last}: last_name, No_Such_Field__x: email`,
              extra: '    batchSize: 100000',
            }),
          );
        } finally {
          process.stderr.write = original;
        }
        expect(result.error ?? result.status).toBe('succeeded');
        const step = result.activities.find((a) => a.activity === 'export')!;
        expect(step.rejects).toBe(1);
        expect(step.recordsOut).toBe(0);
        expect(writes.join('')).toMatch(/batchSize 100000 is over the CRM's limit; using \d+/);
        expect((await recipient('mary@example.com'))?.crm).toBeNull();
        await sql`delete from recipient where email = 'mary@example.com'`.execute(store.db);
      });

      it('deletes CRM records named by a column, with a reject for an id the CRM does not know', async () => {
        const victims = sandbox.admin.listIds(c.object, 2);
        const before = sandbox.admin.countRecords(c.object);
        await sql`create table doomed (id integer primary key, crm_id varchar(40))`.execute(store.db);
        const unknown = c.kind === 'salesforce' ? '003000000000000AAA' : '00000000-0000-0000-0000-000000000001';
        for (const [i, id] of [...victims, unknown].entries())
          await sql`insert into doomed (id, crm_id) values (${i + 1}, ${id})`.execute(store.db);
        const result = await run(`
name: delete-${c.kind}
activities:
  - { name: pick, type: query, table: doomed, transitions: { ok: remove } }
  - name: remove
    type: crm-connector
    account: ${c.kind}
    object: "${c.schema}"
    operation: delete
    idColumn: crm_id
    transitions: { ok: done, rejects: rejected }
  - { name: done, type: end }
  - { name: rejected, type: end }
`);
        expect(result.status).toBe('succeeded');
        const step = result.activities.find((a) => a.activity === 'remove')!;
        expect(step.recordsOut).toBe(2);
        expect(step.rejects).toBe(1);
        expect(sandbox.admin.countRecords(c.object)).toBe(before - 2);
      });

      it('round-trips without echoes: an import does not make records go back, a local change goes back once', async () => {
        expect((await run(importWorkflow(c))).status).toBe('succeeded');
        const quiet = await run(exportWorkflow(c));
        expect(quiet.activities.find((a) => a.activity === 'export')!.recordsIn).toBe(0);
        await sql`update recipient set first_name = 'Opted', modified_locally_at = ${now()} where email = 'grace@example.com'`.execute(
          store.db,
        );
        const out = await run(exportWorkflow(c));
        expect(out.activities.find((a) => a.activity === 'export')!.recordsOut).toBe(1);
        // The CRM's echo of that change comes back through the incremental import …
        const echo = await run(importWorkflow(c));
        expect(echo.status).toBe('succeeded');
        expect((await recipient('grace@example.com'))?.first_name).toBe('Opted');
        // … and does not go out again.
        const after = await run(exportWorkflow(c));
        expect(after.activities.find((a) => a.activity === 'export')!.recordsIn).toBe(0);
      });
    });
  }
}
