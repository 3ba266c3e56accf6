import { PerformanceObserver, constants } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CollectionPacer, enableCollectionBetweenBatches } from './memory.js';

/** Major (mark-compact) collections seen while `work` runs. */
async function majorCollections(work: () => void): Promise<number> {
  let seen = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) seen++;
  });
  observer.observe({ entryTypes: ['gc'] });
  work();
  await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries are delivered asynchronously
  observer.disconnect();
  return seen;
}

describe('collections between batches', () => {
  it('runs a full collection each time the pace is reached, and none before', async () => {
    enableCollectionBetweenBatches();
    const pacer = new CollectionPacer(1000);
    expect(await majorCollections(() => pacer.tick(999))).toBe(0);
    expect(await majorCollections(() => pacer.tick(1))).toBe(1);
    expect(await majorCollections(() => [1, 2, 3].forEach(() => pacer.tick(1000)))).toBe(3);
  });
});
