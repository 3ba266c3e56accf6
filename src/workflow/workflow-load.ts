import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Cron } from 'croner';
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { LiaisonError, errorMessage } from '../core/errors.js';
import type { Store } from '../store/store-types.js';
import { checkColumns } from './workflow-check.js';
import {
  activitySchemas,
  activityTypes,
  allowedTransitions,
  inputArity,
  targetsOf,
  workflowHeader,
  type ActivityConfig,
  type ActivityType,
  type WorkflowDefinition,
} from './workflow-schema.js';

export type IssuePath = readonly (string | number)[];

/** One problem found in a workflow file, located by line (1-based). */
export interface ValidationIssue {
  severity: 'error' | 'warning';
  line: number;
  message: string;
}

export interface LoadedWorkflow {
  file: string;
  /** sha-256 of the file text: recorded with each run to tell when a resumed run's file changed. */
  hash: string;
  definition: WorkflowDefinition;
  warnings: ValidationIssue[];
}

/** Thrown when a workflow has errors; `issues` holds every one, the message the first (`file:line: …`). */
export class WorkflowInvalidError extends LiaisonError {
  readonly issues: ValidationIssue[];
  readonly file: string;
  constructor(file: string, issues: ValidationIssue[]) {
    const errors = issues.filter((issue) => issue.severity === 'error');
    const first = errors[0]!;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
    super('workflow_invalid', `${formatIssue(file, first)}${more}`, { details: { issues } });
    this.issues = issues;
    this.file = file;
  }
}

export function formatIssue(file: string, issue: ValidationIssue): string {
  return `${file}:${issue.line}: ${issue.severity === 'warning' ? 'warning: ' : ''}${issue.message}`;
}

/** Locates paths of the parsed document, for line-numbered messages. */
export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line of the value at `path`; with `key`, the line of the key itself. Falls back to the nearest parent. */
  line(path: IssuePath, key = false): number {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0] ?? 0;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === segment);
        if (!pair) break;
        const keyStart = (pair.key as Node | null)?.range?.[0];
        if (keyStart !== undefined) offset = keyStart;
        node = pair.value;
        if (!key || segment !== path[path.length - 1]) offset = (node as Node | null)?.range?.[0] ?? offset;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        offset = (node as Node | null)?.range?.[0] ?? offset;
      } else break;
    }
    return this.lines.linePos(offset).line;
  }
}

/** Reads, parses and validates a workflow file; throws `WorkflowInvalidError` listing every problem. */
export async function loadWorkflowFile(file: string, store?: Store): Promise<LoadedWorkflow> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new LiaisonError('invalid_input', `cannot read workflow file ${file}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return parseWorkflow(text, file, store);
}

/** Validates workflow text: YAML, the schema, the graph (targets, inputs, cycles), cron, filters, and columns. */
export async function parseWorkflow(text: string, file: string, store?: Store): Promise<LoadedWorkflow> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues: ValidationIssue[] = [];
  const error = (line: number, message: string) => issues.push({ severity: 'error', line, message });
  if (doc.errors.length > 0) {
    for (const yamlError of doc.errors)
      error(lines.linePos(yamlError.pos[0]).line, `invalid YAML: ${yamlError.message.split('\n')[0]}`);
    throw new WorkflowInvalidError(file, issues);
  }
  const map = new SourceMap(doc, lines);
  const raw: unknown = doc.toJS();
  const header = workflowHeader.safeParse(raw);
  if (!header.success) {
    reportZod(header.error, [], map, error);
    throw new WorkflowInvalidError(file, issues);
  }
  const activities: ActivityConfig[] = [];
  header.data.activities.forEach((item, index) => {
    const path = ['activities', index];
    const type = (item as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !(activityTypes as string[]).includes(type)) {
      error(
        map.line([...path, 'type']),
        `activity ${index + 1} has ${type === undefined ? 'no type' : `unknown activity type "${String(type)}"`}; use one of ${activityTypes.join(', ')}`,
      );
      return;
    }
    const parsed = activitySchemas[type as ActivityType].safeParse(item);
    if (!parsed.success) reportZod(parsed.error, path, map, error, (item as { name?: unknown }).name);
    else activities.push(parsed.data);
  });
  const definition = { ...header.data, activities } as WorkflowDefinition;
  if (header.data.schedule !== undefined) checkCron(header.data.schedule, map, error);
  const positions = new Map<string, number>();
  header.data.activities.forEach((item, index) => {
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (positions.has(name))
      error(map.line(['activities', index, 'name']), `activity name "${name}" is used twice; names must be unique`);
    else positions.set(name, index);
  });
  const pathOf = (activity: ActivityConfig): IssuePath => ['activities', positions.get(activity.name) ?? 0];
  if (issues.length === 0) checkGraph(definition, pathOf, map, error);
  if (issues.length === 0) await checkColumns(definition, store, pathOf, map, issues);
  if (issues.some((issue) => issue.severity === 'error'))
    throw new WorkflowInvalidError(
      file,
      issues.sort((a, b) => a.line - b.line),
    );
  return { file, hash: createHash('sha256').update(text).digest('hex'), definition, warnings: issues };
}

function reportZod(
  error: z.ZodError,
  prefix: IssuePath,
  map: SourceMap,
  report: (line: number, message: string) => void,
  name?: unknown,
): void {
  const where = typeof name === 'string' ? `activity "${name}": ` : '';
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) report(map.line([...path, key], true), `${where}unknown setting "${key}"`);
      continue;
    }
    const field = issue.path.length > 0 ? `setting "${issue.path.join('.')}": ` : '';
    report(map.line(path), `${where}${field}${issue.message}`);
  }
}

function checkCron(expression: string, map: SourceMap, report: (line: number, message: string) => void): void {
  try {
    new Cron(expression, { paused: true }).stop();
  } catch (error) {
    report(map.line(['schedule']), `schedule "${expression}" is not a valid cron expression: ${errorMessage(error)}`);
  }
}

/** Transitions name allowed outputs and existing targets; inputs match each type; no cycles. */
function checkGraph(
  definition: WorkflowDefinition,
  pathOf: (activity: ActivityConfig) => IssuePath,
  map: SourceMap,
  report: (line: number, message: string) => void,
): void {
  const byName = new Map(definition.activities.map((a) => [a.name, a]));
  const incoming = new Map<string, string[]>(definition.activities.map((a) => [a.name, []]));
  for (const activity of definition.activities) {
    for (const [transition, value] of Object.entries(activity.transitions ?? {})) {
      const line = map.line([...pathOf(activity), 'transitions', transition], true);
      if (!allowedTransitions[activity.type].includes(transition)) {
        const allowed = allowedTransitions[activity.type];
        report(
          line,
          `activity "${activity.name}" (${activity.type}) has no transition "${transition}"; ${allowed.length ? `use ${allowed.join(', ')}` : 'it ends the flow'}`,
        );
      }
      for (const target of targetsOf(value)) {
        if (!byName.has(target))
          report(line, `activity "${activity.name}" transition "${transition}" targets unknown activity "${target}"`);
        else if (target === activity.name)
          report(line, `activity "${activity.name}" transition "${transition}" targets itself (cycle)`);
        else incoming.get(target)!.push(activity.name);
      }
    }
  }
  for (const activity of definition.activities) {
    const count = incoming.get(activity.name)!.length;
    const arity = inputArity(activity);
    const line = map.line([...pathOf(activity), 'name']);
    if (arity === 'none' && count > 0)
      report(
        line,
        `activity "${activity.name}" (${activity.type}) reads its own source and takes no input, but ${incoming.get(activity.name)!.join(', ')} send it one`,
      );
    if (arity !== 'none' && count === 0)
      report(line, `activity "${activity.name}" (${activity.type}) is missing its input: no transition targets it`);
    if (arity === 'one' && count > 1)
      report(
        line,
        `activity "${activity.name}" takes one input but ${count} transitions target it; put a union before it`,
      );
  }
  // Depth-first search for a back edge; report it at the transition that closes the cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): boolean => {
    state.set(name, 'visiting');
    const activity = byName.get(name)!;
    for (const [transition, value] of Object.entries(activity.transitions ?? {})) {
      for (const target of targetsOf(value)) {
        if (!byName.has(target) || target === name) continue;
        if (state.get(target) === 'visiting') {
          const cycle = [...trail.slice(trail.indexOf(target)), name, target].join(' → ');
          report(
            map.line([...pathOf(activity), 'transitions', transition], true),
            `activity "${name}" transition "${transition}" closes a cycle: ${cycle}`,
          );
          return true;
        }
        if (!state.has(target) && visit(target, [...trail, name])) return true;
      }
    }
    state.set(name, 'done');
    return false;
  };
  for (const activity of definition.activities) if (!state.has(activity.name) && visit(activity.name, [])) break;
}

/** Activities in an order where every activity comes after those feeding it, otherwise in file order. */
export function executionOrder(definition: WorkflowDefinition): ActivityConfig[] {
  const indegree = new Map(definition.activities.map((a) => [a.name, 0]));
  for (const activity of definition.activities)
    for (const value of Object.values(activity.transitions ?? {}))
      for (const t of targetsOf(value)) indegree.set(t, (indegree.get(t) ?? 0) + 1);
  const order: ActivityConfig[] = [];
  const ready = definition.activities.filter((a) => indegree.get(a.name) === 0);
  const byName = new Map(definition.activities.map((a) => [a.name, a]));
  const position = new Map(definition.activities.map((a, i) => [a.name, i]));
  while (ready.length > 0) {
    // The earliest ready activity in file order: run variables flow to activities written after their publisher.
    ready.sort((a, b) => position.get(a.name)! - position.get(b.name)!);
    const next = ready.shift()!;
    order.push(next);
    for (const value of Object.values(next.transitions ?? {})) {
      for (const target of targetsOf(value)) {
        const left = indegree.get(target)! - 1;
        indegree.set(target, left);
        if (left === 0) ready.push(byName.get(target)!);
      }
    }
  }
  return order;
}
