import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Full garbage collections between batches of a long sync. A sync's heap is almost all page-sized garbage
 * (response bodies as buffers and strings, parsed records) with ~20 MB live; V8 sizes its old generation from the
 * machine's memory and lets that garbage reach 150-250 MB before a major collection. A full collection every few
 * tens of thousands of records keeps the peak near what is live, for about one collection of a small live heap
 * each time (measured in bench/README.md). Off unless the host process turns it on: the CLI does; a program that
 * embeds Liaison decides for its own heap.
 */
let collect: ((options?: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => void) | undefined;

/** Lets `collectBetweenBatches` run full collections (exposes V8's gc to this module only). */
export function enableCollectionBetweenBatches(): void {
  if (collect) return;
  v8.setFlagsFromString('--expose-gc');
  collect = vm.runInNewContext('gc') as typeof collect;
}

/** Records processed since the last collection; one is run once `every` records went by. */
export class CollectionPacer {
  private since = 0;

  constructor(
    private readonly every = 25_000,
    // Asynchronous: V8 runs it as its own major collections run (concurrent marking), which blocks the importer for
    // less than a forced, atomic one (measured: about 15 ms against 25 ms each, at 100,000 records).
    private readonly run: () => void = () => collect?.({ type: 'major', execution: 'async' }),
  ) {}

  /** Counts `records` more and collects when due (a no-op unless enabled). */
  tick(records: number): void {
    if (!collect) return;
    this.since += records;
    if (this.since < this.every) return;
    this.since = 0;
    this.run();
  }
}
