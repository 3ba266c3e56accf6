import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingRefs } from './salesforce-bulk-pending.js';

describe('PendingRefs', () => {
  // A temp dir of this file's own, so other tests' scratch files do not show in the counts.
  const saved = process.env.TMPDIR;
  let own = '';
  beforeAll(() => {
    own = mkdtempSync(join(tmpdir(), 'pending-refs-test-'));
    process.env.TMPDIR = own;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(own, { recursive: true, force: true });
  });
  const scratchDirs = () => readdirSync(own);

  for (const [mode, spillAt] of [
    ['in memory', 1_000],
    ['spilled to disk', 2],
  ] as const) {
    it(`takes refs by key, first in first out, and drains the rest in order (${mode})`, () => {
      expect(tmpdir()).toBe(own);
      const before = scratchDirs();
      const pending = new PendingRefs(spillAt);
      pending.add('k1', 'a');
      pending.add('k2', 'b');
      pending.add('k1', 'c');
      pending.add('k3', 'd');
      pending.add('k1', 'e');
      expect(pending.size).toBe(5);
      expect(scratchDirs().length - before.length).toBe(spillAt === 2 ? 1 : 0);
      expect(pending.take('k1')).toBe('a');
      expect(pending.take('k1')).toBe('c');
      expect(pending.take('nope')).toBeUndefined();
      expect(pending.take('k2')).toBe('b');
      expect(pending.take('k2')).toBeUndefined();
      expect(pending.size).toBe(2);
      expect([...pending.drain()].sort()).toEqual(['d', 'e']);
      expect(pending.size).toBe(0);
      expect(pending.take('k1')).toBeUndefined();
      pending.close();
      expect(scratchDirs()).toEqual(before);
    });
  }

  it('keeps the order of refs that share a key across the move to disk', () => {
    const pending = new PendingRefs(3);
    for (const ref of ['r1', 'r2', 'r3']) pending.add('same', ref);
    pending.add('other', 'o1'); // the fourth row moves everything to disk
    pending.add('same', 'r4');
    expect(['r1', 'r2', 'r3', 'r4'].map(() => pending.take('same'))).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect([...pending.drain()]).toEqual(['o1']);
    pending.close();
  });
});
