import { describe, expect, it } from 'vitest';
import { canPartition } from '../../src/crm/dynamics/dynamics-partition.js';
import { mergeStreams } from '../../src/crm/page-streams.js';
import { contactMeta } from './dynamics-fixtures.js';

async function* source(
  name: string,
  pages: number,
  delayMs: number,
  failAt?: number,
  closed?: string[],
): AsyncGenerator<string> {
  try {
    for (let i = 0; i < pages; i++) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (i === failAt) throw new Error(`${name} failed`);
      yield `${name}${i}`;
    }
  } finally {
    closed?.push(name);
  }
}

describe('parallel windows', () => {
  it('merges every page of every source, as they arrive', async () => {
    const out: string[] = [];
    for await (const page of mergeStreams([source('a', 3, 5), source('b', 2, 1), source('c', 0, 1)])) out.push(page);
    expect(out.sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1']);
  });

  it('closes the other sources when the consumer stops or one source fails', async () => {
    const closed: string[] = [];
    for await (const page of mergeStreams([
      source('a', 5, 2, undefined, closed),
      source('b', 5, 2, undefined, closed),
    ])) {
      if (page) break;
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(closed.sort()).toEqual(['a', 'b']);
    const failing = mergeStreams([source('a', 5, 1, 2), source('b', 50, 5)]);
    await expect(
      (async () => {
        for await (const page of failing) void page;
      })(),
    ).rejects.toThrow('a failed');
  });

  it('splits only unordered, unlimited full reads', () => {
    const base = { object: 'contact', fields: [] };
    expect(canPartition(contactMeta, base, 4)).toBe(true);
    expect(canPartition(contactMeta, { ...base, modifiedSince: { to: '2024-01-01T00:00:00Z' } }, 4)).toBe(true);
    expect(canPartition(contactMeta, base, 1)).toBe(false);
    expect(canPartition(contactMeta, { ...base, limit: 10 }, 4)).toBe(false);
    expect(canPartition(contactMeta, { ...base, orderBy: [{ field: 'lastname', direction: 'asc' }] }, 4)).toBe(false);
    expect(canPartition(contactMeta, { ...base, ids: [] }, 4)).toBe(false);
    expect(canPartition(contactMeta, { ...base, modifiedSince: { from: '2024-01-01T00:00:00Z' } }, 4)).toBe(false);
  });
});
