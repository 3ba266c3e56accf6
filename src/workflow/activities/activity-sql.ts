import { sql, type RawBuilder } from 'kysely';
import { LiaisonError } from '../../core/errors.js';
import { assertIdentifier } from '../../store/filter-sql.js';
import type { ActivityContext } from '../activity.js';
import type { WorkingSet } from '../working-set.js';
import type { ColumnInfo } from '../workflow-tables.js';

/** `alias.column` as a quoted reference, both parts checked identifiers. */
export function col(alias: string, name: string): RawBuilder<unknown> {
  return sql.ref(`${assertIdentifier(alias, 'alias')}.${assertIdentifier(name, 'column')}`);
}

export function columnList(names: readonly string[]): RawBuilder<unknown> {
  return sql.join(names.map((name) => sql.ref(assertIdentifier(name, 'column'))));
}

/** The single input of a one-input activity (the engine guarantees there is one; this keeps the types honest). */
export function singleInput(ctx: ActivityContext): WorkingSet {
  const input = ctx.inputs[0];
  if (!input || ctx.inputs.length !== 1)
    throw new LiaisonError('internal', `activity "${ctx.activity}" expects exactly one input working set`);
  return input;
}

export function requireColumn(columns: readonly ColumnInfo[], name: string, where: string): ColumnInfo {
  const found = columns.find((c) => c.name === name);
  if (!found)
    throw new LiaisonError(
      'field_not_found',
      `field "${name}" is not in ${where}; it has ${columns.map((c) => c.name).join(', ')}`,
    );
  return found;
}

/** Runs `fill(table)` (an INSERT … SELECT) into a new output when the workflow declares `transition`. */
export async function fillOutput(
  ctx: ActivityContext,
  transition: string,
  columns: readonly ColumnInfo[],
  fill: (table: string) => Promise<unknown>,
): Promise<Record<string, WorkingSet>> {
  if (!ctx.transitions.includes(transition)) return {};
  const table = await ctx.createOutputTable(transition, columns);
  await fill(table);
  return { [transition]: await ctx.finishOutput(transition) };
}

/** Rows affected by a raw statement, as a number (drivers report a bigint). */
export function affected(result: { numAffectedRows?: bigint }): number {
  return Number(result.numAffectedRows ?? 0n);
}
