import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { parseWorkflow, WorkflowInvalidError, type ValidationIssue } from '../../src/workflow/workflow-load.js';
import { workflowJsonSchema } from '../../src/workflow/workflow-schema.js';
import { sqliteTarget } from '../support/store-targets.js';
import { createContactTables } from './support/workflow-fixtures.js';

async function issues(store: Store | undefined, text: string): Promise<ValidationIssue[]> {
  try {
    await parseWorkflow(text, 'examples/x.yaml', store);
  } catch (error) {
    if (error instanceof WorkflowInvalidError) return error.issues.filter((i) => i.severity === 'error');
    throw error;
  }
  return [];
}

const VALID = `name: ok
schedule: "*/5 * * * *"
activities:
  - name: import
    type: query
    table: contact_import
    filter: "country = 'FR' and imported_at >= 2024-01-01"
    transitions:
      ok: dedupe
  - name: dedupe
    type: deduplication
    keys: [crm_id]
    transitions:
      ok: done
  - name: done
    type: end
`;

describe('workflow validation', () => {
  let store: Store;
  const target = sqliteTarget();
  beforeAll(async () => {
    store = await openStore(target.freshUrl());
    await createContactTables(store);
  });
  afterAll(() => store.close());

  it('accepts a valid workflow', async () => {
    const loaded = await parseWorkflow(VALID, 'examples/x.yaml', store);
    expect(loaded.definition.activities.map((a) => a.name)).toEqual(['import', 'dedupe', 'done']);
    expect(loaded.warnings).toEqual([]);
  });

  it('formats the first error as file:line: message, naming the unknown target', async () => {
    const text = VALID.replace('ok: dedupe', 'ok: dedup');
    await expect(parseWorkflow(text, 'examples/x.yaml', store)).rejects.toThrow(
      'examples/x.yaml:9: activity "import" transition "ok" targets unknown activity "dedup"',
    );
  });

  it.each<[string, string, number, RegExp]>([
    [
      'unknown activity type',
      VALID.replace('type: deduplication', 'type: dedupe'),
      11,
      /unknown activity type "dedupe"; use one of query,/,
    ],
    [
      'unknown setting',
      VALID.replace('keys: [crm_id]', 'keys: [crm_id]\n    keep_it: yes'),
      13,
      /activity "dedupe": unknown setting "keep_it"/,
    ],
    [
      'bad enum value',
      VALID.replace('keys: [crm_id]', 'keys: [crm_id]\n    keep: middle'),
      13,
      /activity "dedupe": setting "keep": /,
    ],
    [
      'bad cron',
      VALID.replace('*/5 * * * *', '61 * * * *'),
      2,
      /schedule "61 \* \* \* \*" is not a valid cron expression/,
    ],
    [
      'bad filter syntax',
      VALID.replace("country = 'FR'", "country = 'FR"),
      7,
      /activity "import": bad filter: filter column 11: unterminated string/,
    ],
    [
      'filter on a missing field',
      VALID.replace("country = 'FR'", "region = 'FR'"),
      7,
      /filter field "region" does not exist in table "contact_import"/,
    ],
    [
      'unknown field downstream',
      VALID.replace('keys: [crm_id]', 'keys: [crm_id, nickname]'),
      12,
      /activity "dedupe": unknown field "nickname" in the input working set/,
    ],
    [
      'missing source table',
      VALID.replace('table: contact_import', 'table: contacts'),
      6,
      /table "contacts" does not exist in the store/,
    ],
    ['missing input', VALID.replace('ok: done', 'duplicates: dedupe'), 14, /targets itself/],
    [
      'transition the type lacks',
      VALID.replace('ok: done', 'rejects: done'),
      14,
      /has no transition "rejects"; use ok, duplicates/,
    ],
    ['duplicate names', VALID.replace('name: done', 'name: dedupe'), 15, /activity name "dedupe" is used twice/],
    ['invalid YAML', VALID.replace('keys: [crm_id]', 'keys: [crm_id'), 13, /invalid YAML/],
  ])('%s', async (_what, text, line, message) => {
    const found = await issues(store, text);
    expect(found.length).toBeGreaterThan(0);
    expect(found).toContainEqual(expect.objectContaining({ line, message: expect.stringMatching(message) }));
  });

  it('reports an activity without input, and a query given one', async () => {
    const text = VALID.replace('      ok: dedupe\n', '      ok: done\n');
    expect(await issues(store, text)).toContainEqual({
      severity: 'error',
      line: 10,
      message: 'activity "dedupe" (deduplication) is missing its input: no transition targets it',
    });
    const intoQuery = VALID.replace('ok: done', 'ok: import');
    expect(await issues(store, intoQuery)).toContainEqual(
      expect.objectContaining({ line: 4, message: expect.stringMatching(/takes no input/) }),
    );
  });

  it('reports empty enrichment settings and update-data keys missing from the mapping', async () => {
    const text = `name: shapes
activities:
  - name: read
    type: query
    table: contact_import
    transitions: { ok: link }
  - name: link
    type: enrichment
    table: account
    on: {}
    fields: {}
    transitions: { ok: save }
  - name: save
    type: update-data
    table: account
    operation: insert-or-update
    keys: [crm_account_id]
    mapping: { name: first_name }
`;
    const found = await issues(store, text);
    expect(found).toEqual([
      expect.objectContaining({ line: 10, message: expect.stringMatching(/"on" needs at least one/) }),
      expect.objectContaining({ line: 11, message: expect.stringMatching(/"fields" needs at least one/) }),
      expect.objectContaining({
        line: 17,
        message: 'activity "save": key "crm_account_id" is not in "mapping"; map it from a working-set column',
      }),
    ]);
  });

  it('reports a cycle at the transition that closes it', async () => {
    const text = `name: loop
activities:
  - name: a
    type: query
    table: contact_import
    transitions: { ok: u }
  - name: u
    type: union
    transitions: { ok: d }
  - name: d
    type: deduplication
    keys: [crm_id]
    transitions: { ok: u }
`;
    const found = await issues(store, text);
    expect(found).toContainEqual(
      expect.objectContaining({ line: 13, message: 'activity "d" transition "ok" closes a cycle: u → d → u' }),
    );
  });

  it('checks filter syntax even without a store', async () => {
    const found = await issues(undefined, VALID.replace("country = 'FR'", 'country = = 1'));
    expect(found).toEqual([
      expect.objectContaining({ line: 7, message: expect.stringMatching(/bad filter: filter column 11/) }),
    ]);
  });

  it('validates the crm-connector shape, and its schema against the store', async () => {
    const connector = `name: sf
activities:
  - name: pull
    type: crm-connector
    account: salesforce
    object: sf_contact
    operation: import
    incremental: { field: SystemModstamp }
    fields:
      - { crm: Email, column: email, conversion: lower }
    filter: "Email like '%@example.com'"
    onError: suspend
    transitions: { ok: save, rejects: done }
  - name: save
    type: update-data
    table: recipient
    operation: insert-or-update
    keys: [salesforce_id]
    origin: crm
    transitions: { ok: done }
  - name: done
    type: union
`;
    // Without a store only the shape can be checked; with one, the schema must exist.
    expect(await issues(undefined, connector)).toEqual([]);
    expect(await issues(store, connector)).toEqual([
      expect.objectContaining({
        line: 6,
        message: expect.stringContaining('no schema named "sf_contact"; create it with: liaison wizard salesforce'),
      }),
    ]);
    const bad = connector
      .replace('operation: import', 'operation: upload')
      .replace('onError: suspend', 'onError: retry');
    const found = await issues(undefined, bad);
    expect(found.map((i) => i.line)).toEqual([7, 12]);
  });

  it('publishes a JSON schema that matches the committed schemas/workflow.schema.json', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../schemas/workflow.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    // After changing src/workflow/workflow-schema.ts, regenerate with:
    //   node --import tsx -e "import('./src/workflow/workflow-schema.ts').then((m) => m.writeWorkflowJsonSchema())"
    expect(committed, 'schemas/workflow.schema.json is stale: regenerate it (see the comment above)').toEqual(
      workflowJsonSchema(),
    );
  });
});
