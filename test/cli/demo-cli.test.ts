import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('liaison demo (CLI)', () => {
  it('runs the whole story on the embedded defaults and prints the summary', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'liaison-demo-'));
    const result = await runCli(['--json', 'demo', '--records', '2000', '--dir', path.join(dir, 'demo')], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { steps } = JSON.parse(result.stdout) as {
      steps: { step: string; records?: number; rejects?: number; apiCalls: number }[];
    };
    const step = (name: string) => {
      const found = steps.find((s) => s.step === name);
      expect(found, name).toBeDefined();
      return found!;
    };
    for (const crm of ['salesforce', 'dynamics']) {
      expect(step(`${crm} full import: import`).records).toBe(2000);
      // 100 changed in the CRM; records sharing the watermark's timestamp may be read again.
      expect(step(`${crm} incremental import: import`).records).toBeGreaterThanOrEqual(100);
      expect(step(`${crm} incremental import: import`).records).toBeLessThan(200);
      expect(step(`${crm} deletions: deleted`).records).toBe(5);
      expect(step(`${crm} two-way sync: export`)).toMatchObject({ records: 20, rejects: 1 });
      // The echo: the CRM's copy of those 20 changes comes back, and nothing goes out again but the refused record.
      expect(step(`${crm} sync again (echo check): export`)).toMatchObject({ records: 0, rejects: 1 });
      expect(step(`${crm} delete a selection: delete`).records).toBe(3);
    }
  });
});
