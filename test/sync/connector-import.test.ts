import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import type { Store } from '../../src/store/store-types.js';
import type { ActivityRegistry } from '../../src/workflow/activity.js';
import { runWorkflow, type RunEvent } from '../../src/workflow/workflow-engine.js';
import { parseWorkflow } from '../../src/workflow/workflow-load.js';
import {
  CRM_CASES,
  connectorFixture,
  importContactsWorkflow,
  type ConnectorFixture,
  type CrmCase,
} from '../support/crm-cases.js';
import { storeTargets } from '../support/store-targets.js';

/**
 * The connector's reading half end to end: the real drivers against the HTTPS sandboxes, the wizard's schema, the
 * workflow engine and the recipient table, on every store.
 */
const CASES = CRM_CASES;

const importWorkflow = importContactsWorkflow;

function deletedWorkflow(c: CrmCase, since: string): string {
  return `
name: deleted-${c.kind}
activities:
  - name: deleted
    type: crm-connector
    account: ${c.kind}
    object: "${c.schema}"
    operation: import-deleted
    since: "${since}"
    transitions: { ok: remove }
  - name: remove
    type: update-data
    table: recipient
    operation: delete
    keys: [${c.idColumn}]
    origin: crm
    mapping: { ${c.idColumn}: crm_id }
    transitions: { ok: done }
  - name: done
    type: end
`;
}

for (const c of CASES) {
  for (const target of storeTargets()) {
    describe(`CRM connector import from ${c.kind} into ${target.name}`, () => {
      const RECORDS = 1200;
      let sandbox: SandboxHandle;
      let store: Store;
      let registry: ActivityRegistry;

      let fixture: ConnectorFixture;
      beforeAll(async () => {
        fixture = await connectorFixture(c, target.freshUrl(), RECORDS);
        ({ sandbox, store, registry } = fixture);
      });
      afterAll(async () => {
        await fixture?.close();
        await target.cleanup();
      });

      const run = async (text: string, options: { resume?: number; onEvent?: (e: RunEvent) => void } = {}) =>
        runWorkflow(store, await parseWorkflow(text, `${c.kind}.yaml`, store), { registry, ...options });
      const recipients = async () =>
        (
          await sql<{
            id: string;
            email: string | null;
            first_name: string | null;
            n: number;
          }>`select ${sql.ref(c.idColumn)} as id, email, first_name from recipient where ${sql.ref(c.idColumn)} is not null order by 1`.execute(
            store.db,
          )
        ).rows;

      it('imports every contact, then only the changes, including records sharing the watermark timestamp', async () => {
        const first = await run(importWorkflow(c));
        expect(first.status).toBe('succeeded');
        const total = sandbox.admin.countRecords(c.object);
        const rows = await recipients();
        expect(rows).toHaveLength(total);
        expect(new Set(rows.map((r) => r.id)).size).toBe(total);
        // lower conversion applied
        expect(rows.every((r) => r.email === null || r.email === r.email.toLowerCase())).toBe(true);
        const importStep = first.activities.find((a) => a.activity === 'import')!;
        expect(importStep.recordsOut).toBe(total);
        expect(importStep.apiCalls).toBeGreaterThan(0);

        // Three changes stamped one second in the future, all sharing one timestamp.
        const at = new Date(Date.now() + 1000);
        const ids = sandbox.admin.listIds(c.object, 3);
        for (const [i, id] of ids.entries())
          sandbox.admin.updateRecord(c.object, id, { [c.fields.first]: `Changed${i}` }, { at });
        const second = await run(importWorkflow(c));
        expect(second.status).toBe('succeeded');
        const step = second.activities.find((a) => a.activity === 'import')!;
        expect(step.recordsOut).toBeGreaterThanOrEqual(3);
        expect(step.recordsOut).toBeLessThan(total / 10);
        const after = await recipients();
        expect(after).toHaveLength(total);
        expect(
          after
            .filter((r) => r.first_name?.startsWith('Changed'))
            .map((r) => r.id)
            .sort(),
        ).toEqual([...ids].sort());

        // A fourth change with the very same timestamp as the watermark is not lost.
        const [late] = sandbox.admin.listIds(c.object, 10).slice(5, 6);
        sandbox.admin.updateRecord(c.object, late!, { [c.fields.first]: 'SameStamp' }, { at });
        const third = await run(importWorkflow(c));
        expect(third.status).toBe('succeeded');
        expect((await recipients()).find((r) => r.id === late)?.first_name).toBe('SameStamp');
        expect(await recipients()).toHaveLength(total);
      });

      it('checks a workflow against the schema before anything runs, naming file and line', async () => {
        const bad = importWorkflow(c)
          .replace(`{ crm: ${c.fields.first} }`, '{ crm: NoSuchField }')
          .replace(`first_name: ${c.fields.first.toLowerCase()}`, 'first_name: not_imported');
        const error = await parseWorkflow(bad, 'bad.yaml', store).then(
          () => undefined,
          (caught: unknown) => caught as Error,
        );
        expect(error?.message).toMatch(/bad\.yaml:\d+: /);
        const text = JSON.stringify((error as unknown as { issues: unknown[] }).issues);
        expect(text).toContain('field \\"NoSuchField\\" is not in schema');
        expect(text).toContain('not_imported');
        const lines = bad.split('\n');
        const issues = (error as unknown as { issues: { line: number; message: string }[] }).issues;
        expect(lines[issues.find((i) => i.message.includes('NoSuchField'))!.line - 1]).toContain('NoSuchField');
        const unknownSchema = await parseWorkflow(
          importWorkflow(c).replace(c.schema, 'crm:nothing'),
          'x.yaml',
          store,
        ).catch((e: Error) => e);
        expect((unknownSchema as Error).message).toMatch(
          /no schema named "crm:nothing"; create it with: liaison wizard/,
        );
      });

      it('imports an upstream population, in order, with each conversion, and all records including deleted ones', async () => {
        // The population: CRM ids in a local table, computed upstream.
        const ids = sandbox.admin.listIds(c.object, 40).slice(10, 25);
        await sql`create table wanted (crm_ref varchar(40))`.execute(store.db);
        for (const id of [...ids, ids[0]!]) await sql`insert into wanted (crm_ref) values (${id})`.execute(store.db);
        const wf = `
name: population-${c.kind}
activities:
  - { name: pick, type: query, table: wanted, transitions: { ok: fetch } }
  - name: fetch
    type: crm-connector
    account: ${c.kind}
    object: "${c.schema}"
    operation: import
    population: crm_ref
    orderBy: ["${c.fields.last} desc"]
    fields:
      - { crm: ${c.fields.email}, conversion: upper }
      - { crm: ${c.fields.last}, conversion: raw }
      - { crm: ${c.fields.first}, conversion: trim }
      - { crm: ${c.fields.modstamp}, column: stamp_date, conversion: date-only }
      - { crm: ${c.fields.modstamp}, column: stamp_wall, conversion: no-time-offset }
    transitions: { ok: done }
  - { name: done, type: end }
`;
        const result = await runWorkflow(store, await parseWorkflow(wf, 'p.yaml', store), {
          registry,
          keepWorkingSets: true,
        });
        expect(result.status).toBe('succeeded');
        const fetch = result.activities.find((a) => a.activity === 'fetch')!;
        expect(fetch.recordsOut).toBe(ids.length);
        const rows = (
          await sql<Record<string, string>>`select * from ${sql.table(fetch.outputs.ok!.table)} order by _row`.execute(
            store.db,
          )
        ).rows;
        expect(rows.map((r) => r.crm_id).sort()).toEqual([...ids].sort());
        const email = c.fields.email.toLowerCase();
        const last = c.fields.last.toLowerCase();
        for (const row of rows) {
          if (row[email]) expect(row[email]).toBe(row[email]!.toUpperCase());
          expect(row.stamp_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          expect(row.stamp_wall).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/);
          expect(row.stamp_wall!.slice(0, 10)).toBe(row.stamp_date);
        }
        const lastNames = rows.map((r) => r[last]!);
        expect(lastNames).toEqual([...lastNames].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
        await sql`drop table wanted`.execute(store.db);

        if (c.kind === 'salesforce') {
          // allRecords: queryAll returns records in the recycle bin too.
          // Backdated out of the window the deletion test below reads, so that test counts only its own deletions.
          sandbox.admin.deleteRecord(c.object, sandbox.admin.listIds(c.object, 1)[0]!, {
            at: new Date(Date.now() - 30 * 60_000),
          });
          const live = sandbox.admin.countRecords(c.object);
          const withDeleted = sandbox.admin.countRecords(c.object, { includeDeleted: true });
          expect(withDeleted).toBeGreaterThan(live);
          const all = await runWorkflow(
            store,
            await parseWorkflow(
              importWorkflow(c, '    allRecords: true')
                .replace(`name: import-${c.kind}`, 'name: all-records')
                .replace('incremental: true', 'incremental: false'),
              'a.yaml',
              store,
            ),
            {
              registry,
              keepWorkingSets: true,
            },
          );
          expect(all.activities.find((a) => a.activity === 'import')!.recordsOut).toBe(withDeleted);
        }
      });

      it('keeps filter values as data: an injection attempt matches nothing and breaks nothing', async () => {
        const text = importWorkflow(c, `    filter: "${c.fields.last} = 'x'' or ${c.fields.last} != '''"`)
          .replace(`name: import-${c.kind}`, `name: inject-${c.kind}`)
          .replace('incremental: true', 'incremental: false');
        const result = await run(text);
        expect(result.status).toBe('succeeded');
        expect(result.activities.find((a) => a.activity === 'import')!.recordsOut).toBe(0);
      });

      it('imports deleted records and removes them locally', async () => {
        const since = new Date(Date.now() - 10 * 60_000).toISOString();
        // The first run sets the baseline (Dataverse change tracking knows deletions only from its first read on).
        expect((await run(deletedWorkflow(c, since))).status).toBe('succeeded');
        const before = (await recipients()).length;
        const doomed = sandbox.admin.listIds(c.object, 2);
        // Backdated by two minutes: Salesforce's replication window ends at the last whole minute.
        for (const id of doomed) sandbox.admin.deleteRecord(c.object, id, { at: new Date(Date.now() - 120_000) });
        const result = await run(deletedWorkflow(c, since));
        expect(result.status).toBe('succeeded');
        const ids = (await recipients()).map((r) => r.id);
        expect(ids).toHaveLength(before - 2);
        for (const id of doomed) expect(ids).not.toContain(id);
      });

      it('fails cleanly when the CRM goes away mid-import, and a resume completes it with no loss and no duplicate', async () => {
        await sql`delete from recipient`.execute(store.db);
        const text = importWorkflow(c)
          .replace(`name: import-${c.kind}`, `name: cut-${c.kind}`)
          .replace('incremental: true', 'incremental: true\n    pageSize: 50');
        // The CRM goes away half-way through the data requests a whole import makes (counted on a run of its own:
        // the reader runs a few pages ahead of the writes, so a cut timed on progress could come after the end).
        sandbox.admin.resetRequestCount();
        expect((await run(text.replace(`name: cut-${c.kind}`, `name: count-${c.kind}`))).status).toBe('succeeded');
        const { token: _token = 0, ...dataRequests } = sandbox.admin.requestCounts();
        const whole = Object.values(dataRequests).reduce((sum, n) => sum + n, 0);
        await sql`delete from recipient`.execute(store.db);
        sandbox.admin.setFaults({ downAfterRequests: Math.floor(whole / 2) });
        const failed = await run(text);
        sandbox.admin.setFaults({});
        expect(failed.status).toBe('failed');
        expect(failed.error).toMatch(/import/);
        // The pages read before the cut went straight into recipient (each with the import's progress, in one
        // transaction); the rest did not, and the save step is still to run.
        const partial = await recipients();
        expect(partial.length).toBeLessThan(sandbox.admin.countRecords(c.object));
        expect(new Set(partial.map((r) => r.id)).size).toBe(partial.length);
        expect(failed.activities.find((a) => a.activity === 'save')?.status).toBe('pending');
        const resumed = await run(text, { resume: failed.id });
        expect(resumed.status).toBe('succeeded');
        const rows = await recipients();
        const total = sandbox.admin.countRecords(c.object);
        expect(rows).toHaveLength(total);
        expect(new Set(rows.map((r) => r.id)).size).toBe(total);
      });
    });
  }
}
