import { PerformanceObserver, constants } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CollectionPacer, enableCollectionBetweenBatches } from './memory.js';

describe('collections between batches', () => {
  it('collects each time the pace is reached, and not before', () => {
    enableCollectionBetweenBatches();
    let runs = 0;
    const pacer = new CollectionPacer(1000, () => runs++);
    pacer.tick(999);
    expect(runs).toBe(0);
    pacer.tick(1);
    expect(runs).toBe(1);
    pacer.tick(500);
    expect(runs).toBe(1);
    pacer.tick(600);
    expect(runs).toBe(2);
  });

  it('asks V8 for a major (mark-compact) collection', async () => {
    enableCollectionBetweenBatches();
    let majors = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    });
    observer.observe({ entryTypes: ['gc'] });
    new CollectionPacer(1).tick(1);
    // Asked asynchronously: give V8 a moment to run it and the observer to hear of it.
    for (let waited = 0; majors === 0 && waited < 2000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    observer.disconnect();
    expect(majors).toBeGreaterThanOrEqual(1);
  });
});
