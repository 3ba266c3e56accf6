import { odataError } from './dynamics-http.js';
import type { FilterNode } from './dynamics-odata-parser.js';

/**
 * Evaluates a `$filter` tree against rendered metadata objects (EntityDefinitions, Attributes). Metadata is small
 * and has no paging, so filtering in memory is exact and simple. Property paths such as `RequiredLevel/Value`
 * walk nested objects; enum literals (`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`) compare as strings.
 */
export function evaluateFilter(node: FilterNode, target: Record<string, unknown>, typeName: string): boolean {
  return Boolean(evaluate(node, target, typeName));
}

function resolve(path: string, target: Record<string, unknown>, typeName: string): unknown {
  let current: unknown = target;
  for (const part of path.split('/')) {
    if (typeof current !== 'object' || current === null || !(part in current)) {
      if (current === target) throw odataError(`Could not find a property named '${part}' on type '${typeName}'.`);
      return null;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string')
    return a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return a === b ? 0 : NaN;
}

function evaluate(node: FilterNode, target: Record<string, unknown>, typeName: string): unknown {
  switch (node.kind) {
    case 'and':
      return Boolean(evaluate(node.left, target, typeName)) && Boolean(evaluate(node.right, target, typeName));
    case 'or':
      return Boolean(evaluate(node.left, target, typeName)) || Boolean(evaluate(node.right, target, typeName));
    case 'not':
      return !evaluate(node.expr, target, typeName);
    case 'property':
      return resolve(node.path, target, typeName);
    case 'literal':
      return node.value;
    case 'list':
      return node.items.map((i) => evaluate(i, target, typeName));
    case 'compare': {
      const l = evaluate(node.left, target, typeName);
      const r = evaluate(node.right, target, typeName);
      if (l === null || r === null || l === undefined || r === undefined) {
        const bothNull = (l ?? null) === null && (r ?? null) === null;
        return node.op === 'eq' ? bothNull : node.op === 'ne' ? !bothNull : false;
      }
      const c = compare(l, r);
      switch (node.op) {
        case 'eq':
          return c === 0;
        case 'ne':
          return c !== 0;
        case 'gt':
          return c > 0;
        case 'ge':
          return c >= 0;
        case 'lt':
          return c < 0;
        case 'le':
          return c <= 0;
      }
      return false;
    }
    case 'call': {
      const [a, b] = node.args.map((arg) => evaluate(arg, target, typeName));
      if (typeof a !== 'string' || typeof b !== 'string') return false;
      const x = a.toLowerCase();
      const y = b.toLowerCase();
      if (node.name === 'contains') return x.includes(y);
      if (node.name === 'startswith') return x.startsWith(y);
      if (node.name === 'endswith') return x.endsWith(y);
      throw odataError(`An unknown function with name '${node.name}' was found.`);
    }
  }
}
