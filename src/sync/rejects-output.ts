import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { ActivityContext } from '../workflow/activity.js';
import type { WorkingSet, WorkingSetWriter } from '../workflow/working-set.js';

/**
 * The "rejects" output of a connector activity: records the CRM (or a conversion) refused, with the error code and
 * message, as a working set — created only when the workflow routes the transition somewhere or a rejection file is
 * asked for — and optionally appended to a CSV file. A reject is a value, never an exception: it does not stop the
 * batch it came from.
 */
export class RejectsOutput {
  count = 0;
  private writer?: Promise<WorkingSetWriter>;
  private fileStarted = false;

  constructor(
    private readonly ctx: ActivityContext,
    private readonly file: string | undefined,
    private readonly keyColumns: string[],
  ) {}

  async add(keys: Record<string, unknown>, code: string, message: string): Promise<void> {
    this.count += 1;
    const row = {
      ...Object.fromEntries(this.keyColumns.map((k) => [k, keys[k] ?? null])),
      error_code: code,
      error_message: message,
    };
    if (this.ctx.transitions.includes('rejects')) {
      this.writer ??= this.ctx.createOutput('rejects', [
        ...this.keyColumns.map((name) => ({ name, kind: 'text' as const })),
        { name: 'error_code', kind: 'text' as const },
        { name: 'error_message', kind: 'text' as const },
      ]);
      await (await this.writer).write([row]);
    }
    if (this.file) {
      const header = [...this.keyColumns, 'error_code', 'error_message'];
      if (!this.fileStarted) {
        mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
        writeFileSync(this.file, stringify([header]));
        this.fileStarted = true;
      }
      appendFileSync(this.file, stringify([header.map((h) => (row as Record<string, unknown>)[h] ?? '')]));
    }
  }

  /** The rejects working set, when one was created. */
  async finish(): Promise<{ rejects?: WorkingSet }> {
    if (!this.writer) return {};
    return { rejects: await (await this.writer).finish() };
  }
}
